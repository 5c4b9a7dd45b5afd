// Package emulator is runq, a tiny job-running platform made up for the Rust
// example plugin: an in-memory REST API the plugin's tests (and
// `wharf plugin test`) run against.
//
//	go run ./plugins/examples/rust/emulator/cmd -addr 127.0.0.1:8089
//
// The API, every request with "Authorization: Bearer <token>":
//
//	GET    /v1/jobs?name=…&page_size=N&page_token=T  → {"jobs": [job…], "next_page_token": "…"}
//	POST   /v1/jobs                                   → 201 job (409 when the name is taken)
//	GET    /v1/jobs/{id}                              → job
//	PATCH  /v1/jobs/{id}   If-Match: <revision>       → job; top-level members replaced, null removes one (409 for a taken name)
//	DELETE /v1/jobs/{id}                              → 204
//	POST   /v1/jobs/{id}/stop, /v1/jobs/{id}/start    → job
//	GET    /v1/jobs/{id}/logs?after=S&tail=N&limit=N  → {"lines": [{"seq", "time", "text"}…], "more": bool}
//
// A job is the body it was created with (members runq does not know are
// kept as they are) plus id, state ("running" or "stopped"), revision
// (bumped by every change) and created_at/updated_at. Errors are
// {"message": "…", "field": "/replicas"}; a stale If-Match is 412.
//
// A job logs one line every LogEvery from its creation, numbered from 1
// (seq). Logs answer the lines after seq S (at most limit, 100 by default,
// 1,000 at most; more says there are others), or without after the last
// tail lines.
package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the API token the emulator accepts.
const Token = "runq-test-token"

// maxPageSize bounds one page of GET /v1/jobs.
const maxPageSize = 500

// LogEvery is how often a job logs a line.
const LogEvery = 100 * time.Millisecond

// maxLogLines bounds one answer of GET /v1/jobs/{id}/logs.
const maxLogLines = 1000

// readOnly are the members runq sets itself; a client may not.
var readOnly = []string{"id", "state", "revision", "created_at", "updated_at"}

// Server is the emulated platform, an http.Handler.
type Server struct {
	mu      sync.Mutex
	jobs    map[string]map[string]any
	ids     []string             // creation order, the order of listings
	created map[string]time.Time // when each job was created, to the nanosecond
	next    int
}

// New returns an empty platform.
func New() *Server {
	return &Server{jobs: map[string]map[string]any{}, created: map[string]time.Time{}}
}

// DemoConfig is a connection config for the plugin against baseURL.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	return map[string]any{"endpoint": baseURL, "token": Token}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		fail(w, http.StatusUnauthorized, "", "bad token")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rest, isJob := strings.CutPrefix(r.URL.Path, "/v1/jobs/")
	id, verb, _ := strings.Cut(rest, "/")
	switch {
	case r.URL.Path == "/v1/jobs" && r.Method == http.MethodGet:
		s.list(w, r)
	case r.URL.Path == "/v1/jobs" && r.Method == http.MethodPost:
		s.create(w, r)
	case isJob && s.jobs[id] == nil:
		fail(w, http.StatusNotFound, "", "no job "+id)
	case isJob && verb == "" && r.Method == http.MethodGet:
		answer(w, http.StatusOK, s.jobs[id])
	case isJob && verb == "" && r.Method == http.MethodPatch:
		s.patch(w, r, s.jobs[id])
	case isJob && verb == "" && r.Method == http.MethodDelete:
		delete(s.jobs, id)
		delete(s.created, id)
		s.ids = slices.DeleteFunc(s.ids, func(x string) bool { return x == id })
		w.WriteHeader(http.StatusNoContent)
	case isJob && verb == "logs" && r.Method == http.MethodGet:
		s.logs(w, r, id)
	case isJob && (verb == "stop" || verb == "start") && r.Method == http.MethodPost:
		j := s.jobs[id]
		j["state"] = map[string]string{"stop": "stopped", "start": "running"}[verb]
		touch(j)
		answer(w, http.StatusOK, j)
	default:
		fail(w, http.StatusMethodNotAllowed, "", r.Method+" "+r.URL.Path)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, err := queryInt(q.Get("page_size"), 50)
	if err != nil || size < 1 || size > maxPageSize {
		fail(w, http.StatusBadRequest, "/page_size", fmt.Sprintf("page_size must be 1 to %d", maxPageSize))
		return
	}
	off, err := queryInt(q.Get("page_token"), 0)
	if err != nil || off < 0 {
		fail(w, http.StatusBadRequest, "/page_token", "bad page_token")
		return
	}
	names := q["name"]
	var match []map[string]any
	for _, id := range s.ids {
		if j := s.jobs[id]; len(names) == 0 || slices.Contains(names, j["name"].(string)) {
			match = append(match, j)
		}
	}
	page := []map[string]any{}
	next := ""
	if off < len(match) {
		end := min(off+size, len(match))
		page = match[off:end]
		if end < len(match) {
			next = strconv.Itoa(end)
		}
	}
	answer(w, http.StatusOK, map[string]any{"jobs": page, "next_page_token": next})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if _, ok := body["replicas"]; !ok {
		body["replicas"] = 1
	}
	if !valid(w, body) {
		return
	}
	for _, j := range s.jobs {
		if j["name"] == body["name"] {
			fail(w, http.StatusConflict, "/name", fmt.Sprintf("a job named %v exists", body["name"]))
			return
		}
	}
	s.next++
	t := time.Now().UTC()
	now := t.Format(time.RFC3339)
	id := fmt.Sprintf("job-%d", s.next)
	body["id"], body["state"], body["revision"] = id, "running", 1
	body["created_at"], body["updated_at"] = now, now
	s.jobs[id], s.created[id] = body, t
	s.ids = append(s.ids, id)
	answer(w, http.StatusCreated, body)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, j map[string]any) {
	if m := r.Header.Get("If-Match"); m != "" && m != strconv.Itoa(j["revision"].(int)) {
		fail(w, http.StatusPreconditionFailed, "", fmt.Sprintf("job %s is at revision %d, not %s", j["id"], j["revision"], m))
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	merged := make(map[string]any, len(j)+len(body))
	for k, v := range j {
		merged[k] = v
	}
	for k, v := range body {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	if !valid(w, merged) {
		return
	}
	for _, o := range s.jobs {
		if o["id"] != j["id"] && o["name"] == merged["name"] {
			fail(w, http.StatusConflict, "/name", fmt.Sprintf("a job named %v exists", merged["name"]))
			return
		}
	}
	for k := range merged {
		j[k] = merged[k]
	}
	for k := range j {
		if _, ok := merged[k]; !ok {
			delete(j, k)
		}
	}
	touch(j)
	answer(w, http.StatusOK, j)
}

// logs answers a job's lines: those after seq "after", or the last "tail".
func (s *Server) logs(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	limit, err := queryInt(q.Get("limit"), 100)
	if err != nil || limit < 1 || limit > maxLogLines {
		fail(w, http.StatusBadRequest, "/limit", fmt.Sprintf("limit must be 1 to %d", maxLogLines))
		return
	}
	start := s.created[id]
	last := int(time.Since(start) / LogEvery) // lines 1..last exist
	first := 1
	if a := q.Get("after"); a != "" {
		after, err := strconv.Atoi(a)
		if err != nil || after < 0 {
			fail(w, http.StatusBadRequest, "/after", "after must be a line number")
			return
		}
		first = after + 1
	} else if t := q.Get("tail"); t != "" {
		tail, err := strconv.Atoi(t)
		if err != nil || tail < 0 {
			fail(w, http.StatusBadRequest, "/tail", "tail must be a number of lines")
			return
		}
		first = max(1, last-tail+1)
	}
	end := min(last, first+limit-1)
	lines := []map[string]any{}
	for seq := first; seq <= end; seq++ {
		at := start.Add(time.Duration(seq) * LogEvery)
		lines = append(lines, map[string]any{"seq": seq, "time": at.Format(time.RFC3339Nano),
			"text": fmt.Sprintf("%s: tick %d", s.jobs[id]["name"], seq)})
	}
	answer(w, http.StatusOK, map[string]any{"lines": lines, "more": end < last})
}

// touch records a change.
func touch(j map[string]any) {
	j["revision"] = j["revision"].(int) + 1
	j["updated_at"] = time.Now().UTC().Format(time.RFC3339)
}

// readBody decodes a JSON object body of at most 1 MiB, refusing members
// runq sets itself.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		fail(w, http.StatusBadRequest, "", "the body must be a JSON object")
		return nil, false
	}
	for _, k := range readOnly {
		if _, ok := body[k]; ok {
			fail(w, http.StatusBadRequest, "/"+k, k+" is set by runq")
			return nil, false
		}
	}
	// Numbers as the emulator stores them: replicas an int, others float64.
	for k, v := range body {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil && k == "replicas" {
				body[k] = int(i)
			} else {
				body[k], _ = n.Float64()
			}
		}
	}
	return body, true
}

// valid checks the members runq knows, answering 400 naming the first bad one.
func valid(w http.ResponseWriter, j map[string]any) bool {
	if s, ok := j["name"].(string); !ok || s == "" {
		fail(w, http.StatusBadRequest, "/name", "name must be a non-empty string")
		return false
	}
	if s, ok := j["image"].(string); !ok || s == "" {
		fail(w, http.StatusBadRequest, "/image", "image must be a non-empty string")
		return false
	}
	if n, ok := j["replicas"].(int); !ok || n < 0 || n > 10 {
		fail(w, http.StatusBadRequest, "/replicas", "replicas must be an integer from 0 to 10")
		return false
	}
	if env, ok := j["env"]; ok {
		m, ok := env.(map[string]any)
		if !ok {
			fail(w, http.StatusBadRequest, "/env", "env must be an object")
			return false
		}
		for k, v := range m {
			if _, ok := v.(string); !ok {
				fail(w, http.StatusBadRequest, "/env/"+k, "env values must be strings")
				return false
			}
		}
	}
	return true
}

func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, field, msg string) {
	e := map[string]string{"message": msg}
	if field != "" {
		e["field"] = field
	}
	answer(w, status, e)
}

// Package fakeplatform is a tiny in-memory container platform with a JSON
// HTTP API, for testing the host's operations end to end through a real
// wasm plugin (host/ops/opstest/fakeplugin) without depending on the
// real platforms' plugins.
//
// API (all under a bearer token):
//
//	GET    /services?name=&status=&label=&page_size=&page_token=
//	POST   /services                      {name, image, replicas, env, labels}
//	GET    /services/{id}
//	PUT    /services/{id}                 If-Match: version → 409 when stale
//	DELETE /services/{id}?force=
//	POST   /services/{id}/actions/{name}  {replicas}
//	GET    /services/{id}/logs?cursor=&tail=&since=&limit=&stream=
//	GET    /services/{id}/instances[/{iid}]
//	GET    /services/{id}/deployments[/{did}]
//	POST   /services/{id}/invoke          echoes the request
package fakeplatform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spec is what a service is created from.
type Spec struct {
	Name     string            `json:"name"`
	Image    string            `json:"image"`
	Replicas int               `json:"replicas"`
	Env      map[string]string `json:"env,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// Service is the platform's object.
type Service struct {
	ID          string       `json:"id"`
	Spec        Spec         `json:"spec"`
	State       string       `json:"state"` // RUNNING, STOPPED; FAILED only by SetState
	Version     int          `json:"version"`
	Rollout     *Rollout     `json:"rollout,omitempty"` // only by SetRollout
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	Deployments []Deployment `json:"-"`
	prevSpec    *Spec
}

// Rollout is the latest change being rolled out, as SetRollout made it.
type Rollout struct {
	State       string     `json:"state"`
	StartedAt   time.Time  `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Deployment is one rollout.
type Deployment struct {
	ID        string    `json:"id"`
	Image     string    `json:"image"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// Line is a log line.
type Line struct {
	Time     time.Time         `json:"time"`
	Stream   string            `json:"stream"`
	Instance string            `json:"instance"`
	Message  string            `json:"message"`
	Details  map[string]string `json:"details,omitempty"`
}

// Server is the platform. It is an http.Handler.
type Server struct {
	// Token is the bearer token it accepts.
	Token string
	// Hold, when set, is called at the start of every request; tests use
	// it to block a request while they look at the host.
	Hold func(r *http.Request)

	mu       sync.Mutex
	services map[string]*Service
	logs     map[string][]Line
	next     int
	mux      *http.ServeMux
}

// New returns a platform accepting token.
func New(token string) *Server {
	s := &Server{Token: token, services: map[string]*Service{}, logs: map[string][]Line{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /services", s.list)
	m.HandleFunc("POST /services", s.create)
	m.HandleFunc("GET /services/{id}", s.get)
	m.HandleFunc("PUT /services/{id}", s.update)
	m.HandleFunc("DELETE /services/{id}", s.delete)
	m.HandleFunc("POST /services/{id}/actions/{action}", s.action)
	m.HandleFunc("GET /services/{id}/logs", s.readLogs)
	m.HandleFunc("GET /services/{id}/instances", s.instances)
	m.HandleFunc("GET /services/{id}/instances/{iid}", s.instances)
	m.HandleFunc("GET /services/{id}/deployments", s.deployments)
	m.HandleFunc("GET /services/{id}/deployments/{did}", s.deployments)
	m.HandleFunc("POST /services/{id}/invoke", s.invoke)
	s.mux = m
	return s
}

// ServeHTTP checks the token and serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Hold != nil {
		s.Hold(r)
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		fail(w, http.StatusUnauthorized, "bad token")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// AddLogs appends lines to a service's log (time now when zero).
func (s *Server) AddLogs(id string, lines ...Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		if l.Time.IsZero() {
			l.Time = time.Now()
		}
		s.logs[id] = append(s.logs[id], l)
	}
}

// SetState sets a service's state (RUNNING, STOPPED, FAILED), as if the
// platform changed it; it reports whether the service exists.
func (s *Server) SetState(id, state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.services[id]
	if svc != nil {
		svc.State = state
	}
	return svc != nil
}

// SetRollout starts a rollout of a service in state (completed false), or
// completes the one under way (completed true, in state), as the platform
// would; it reports whether the service exists.
func (s *Server) SetRollout(id, state string, completed bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.services[id]
	if svc == nil {
		return false
	}
	now := time.Now().UTC()
	if svc.Rollout == nil || !completed {
		svc.Rollout = &Rollout{StartedAt: now}
	}
	svc.Rollout.State = state
	if completed {
		svc.Rollout.CompletedAt = &now
	}
	return true
}

func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"message": msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) find(w http.ResponseWriter, r *http.Request) *Service {
	svc := s.services[r.PathValue("id")]
	if svc == nil {
		fail(w, http.StatusNotFound, "no such service "+r.PathValue("id"))
	}
	return svc
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	var all []*Service
	for _, svc := range s.services {
		if names := q["name"]; len(names) > 0 && !contains(names, svc.Spec.Name) {
			continue
		}
		if st := q["status"]; len(st) > 0 && !contains(st, strings.ToLower(svc.State)) {
			continue
		}
		if labels := q["label"]; len(labels) > 0 && !matchLabel(labels, svc.Spec.Labels) {
			continue
		}
		all = append(all, svc)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	start, _ := strconv.Atoi(q.Get("page_token"))
	size, _ := strconv.Atoi(q.Get("page_size"))
	if size <= 0 {
		size = 100
	}
	start = min(start, len(all))
	end := min(start+size, len(all))
	out := map[string]any{"services": all[start:end]}
	if end < len(all) {
		out["next"] = strconv.Itoa(end)
	}
	reply(w, http.StatusOK, out)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func matchLabel(want []string, labels map[string]string) bool {
	for _, l := range want {
		k, v, hasV := strings.Cut(l, "=")
		if got, ok := labels[k]; ok && (!hasV || got == v) {
			return true
		}
	}
	return false
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, svc := range s.services {
		if svc.Spec.Name == spec.Name {
			fail(w, http.StatusConflict, "name "+spec.Name+" is taken")
			return
		}
	}
	s.next++
	now := time.Now().UTC()
	svc := &Service{ID: fmt.Sprintf("svc-%d", s.next), Spec: spec, State: "RUNNING", Version: 1, CreatedAt: now, UpdatedAt: now}
	svc.Deployments = []Deployment{{ID: svc.ID + "-d1", Image: spec.Image, Status: "SUCCESSFUL", CreatedAt: now}}
	s.services[svc.ID] = svc
	s.logs[svc.ID] = append(s.logs[svc.ID], Line{Time: now, Stream: "stdout", Instance: svc.ID + ".1", Message: spec.Name + " started"})
	reply(w, http.StatusCreated, svc)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc := s.find(w, r); svc != nil {
		reply(w, http.StatusOK, svc)
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(w, r)
	if svc == nil {
		return
	}
	if v := r.Header.Get("If-Match"); v != "" && v != strconv.Itoa(svc.Version) {
		fail(w, http.StatusConflict, fmt.Sprintf("version %s is stale: service is at version %d", v, svc.Version))
		return
	}
	prev := svc.Spec
	svc.prevSpec = &prev
	svc.Spec = spec
	svc.Version++
	svc.UpdatedAt = time.Now().UTC()
	svc.Deployments = append(svc.Deployments, Deployment{ID: fmt.Sprintf("%s-d%d", svc.ID, len(svc.Deployments)+1), Image: spec.Image, Status: "SUCCESSFUL", CreatedAt: svc.UpdatedAt})
	reply(w, http.StatusOK, svc)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(w, r)
	if svc == nil {
		return
	}
	if svc.State == "RUNNING" && svc.Spec.Replicas > 0 && r.URL.Query().Get("force") != "true" {
		fail(w, http.StatusConflict, "service is running: stop it or force")
		return
	}
	delete(s.services, svc.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	var params struct {
		Replicas *int `json:"replicas"`
	}
	_ = json.NewDecoder(r.Body).Decode(&params)
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(w, r)
	if svc == nil {
		return
	}
	switch r.PathValue("action") {
	case "start":
		svc.State = "RUNNING"
	case "stop":
		svc.State = "STOPPED"
	case "restart":
		svc.State = "RUNNING"
	case "scale":
		if params.Replicas == nil {
			fail(w, http.StatusBadRequest, "replicas required")
			return
		}
		svc.Spec.Replicas = *params.Replicas
	case "rollback":
		if svc.prevSpec == nil {
			fail(w, http.StatusConflict, "nothing to roll back to")
			return
		}
		svc.Spec, svc.prevSpec = *svc.prevSpec, nil
	default:
		fail(w, http.StatusNotFound, "no such action")
		return
	}
	svc.Version++
	svc.UpdatedAt = time.Now().UTC()
	reply(w, http.StatusOK, svc)
}

func (s *Server) readLogs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(w, r) == nil {
		return
	}
	q := r.URL.Query()
	lines := s.logs[r.PathValue("id")]
	start := 0
	if c := q.Get("cursor"); c != "" {
		start, _ = strconv.Atoi(c)
	} else {
		if since, err := time.Parse(time.RFC3339Nano, q.Get("since")); err == nil {
			for start < len(lines) && lines[start].Time.Before(since) {
				start++
			}
		}
		if tail, _ := strconv.Atoi(q.Get("tail")); tail > 0 && len(lines)-tail > start {
			start = len(lines) - tail
		}
	}
	start = min(start, len(lines))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 500
	}
	end := min(start+limit, len(lines))
	var out []Line
	for _, l := range lines[start:end] {
		if st := q.Get("stream"); st != "" && l.Stream != st {
			continue
		}
		out = append(out, l)
	}
	reply(w, http.StatusOK, map[string]any{"lines": out, "next": strconv.Itoa(end), "more": end < len(lines)})
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(w, r)
	if svc == nil {
		return
	}
	type inst struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Slot  int    `json:"slot"`
	}
	var all []inst
	if svc.State == "RUNNING" {
		for i := 1; i <= svc.Spec.Replicas; i++ {
			all = append(all, inst{ID: fmt.Sprintf("%s.%d", svc.ID, i), State: "RUNNING", Slot: i})
		}
	}
	if iid := r.PathValue("iid"); iid != "" {
		for _, in := range all {
			if in.ID == iid {
				reply(w, http.StatusOK, in)
				return
			}
		}
		fail(w, http.StatusNotFound, "no such instance "+iid)
		return
	}
	reply(w, http.StatusOK, map[string]any{"instances": all})
}

func (s *Server) deployments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.find(w, r)
	if svc == nil {
		return
	}
	if did := r.PathValue("did"); did != "" {
		for _, d := range svc.Deployments {
			if d.ID == did {
				reply(w, http.StatusOK, d)
				return
			}
		}
		fail(w, http.StatusNotFound, "no such deployment "+did)
		return
	}
	out := make([]Deployment, 0, len(svc.Deployments))
	for i := len(svc.Deployments) - 1; i >= 0; i-- {
		out = append(out, svc.Deployments[i])
	}
	reply(w, http.StatusOK, map[string]any{"deployments": out})
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	svc := s.find(w, r)
	s.mu.Unlock()
	if svc == nil {
		return
	}
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	reply(w, http.StatusOK, map[string]any{"service": svc.Spec.Name, "got": in})
}

// Package abejaemu is an in-process emulator of the ABEJA Platform
// services API (abeja-sdk's abeja.services.APIClient): create, get, list,
// update (PATCH), delete, start, stop and recent logs under
// /organizations/{organization_id}/deployments/{deployment_id}/services,
// and requests to a service ("invoke") on the organization's sub-domain.
//
// Auth as the platform does it: "Authorization: Bearer <token>" or
// "Authorization: Basic base64(user-<user id>:<personal access token>)";
// anything else is 401 with ABEJA's error body {"error", "error_description",
// "error_detail"}.
//
// Statuses move over time, computed lazily: a created, updated or started
// service is IN_PROGRESS, then READY; a stopped one is IN_PROGRESS, then
// STOPPED (undocumented word, chosen here; FAILED is never produced).
// READY instances write one log line per interval.
//
// Invoke routing: the real platform serves it at
// https://{organization_id}.api.abeja.io/deployments/{deployment_id}/services/{service_id}.
// The emulator answers that path when the request's Host starts with
// "{organization_id}." (any suffix), and also at
// /_subdomain/{organization_id}/deployments/... on any host, which is what
// DemoConfig's invoke_endpoint points at, since a test server has no
// wildcard DNS. The emulated service answers 200 with a JSON echo of the
// request (or 503 while it is not READY).
//
// Recent logs tokens are opaque to clients; here they encode a position in
// the service's line sequence. A page holds LogPageSize events, newest first.
package abejaemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the emulator. Zero values take the defaults noted.
type Options struct {
	// OrganizationID and DeploymentIDs are what exists; defaults
	// "1111111111111" and ["9999999999999"].
	OrganizationID string
	DeploymentIDs  []string
	// Token is the accepted bearer token; default "abeja-demo-token".
	Token string
	// UserID and PersonalAccessToken are the accepted basic credentials
	// (user "user-<UserID>"); defaults "1234567890123" and "abeja-demo-pat".
	UserID, PersonalAccessToken string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// InProgress is how long a change stays IN_PROGRESS; default 3s.
	InProgress time.Duration
	// LogInterval is how often each READY instance writes a line; default 2s.
	LogInterval time.Duration
	// LogPageSize is the number of events per recentlogs page; default 50.
	LogPageSize int
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	services map[string]*service // by service id
}

// phase is a stretch of time heading for target (READY or STOPPED).
type phase struct {
	from, settle time.Time
	target       string
	instances    int
}

type service struct {
	id, deployment  string
	versionID       string
	instanceType    string
	instanceNumber  int
	minN, maxN      int
	autoscale       bool
	models          map[string]string
	env             map[string]string
	recordChannelID string
	createdAt       time.Time
	modifiedAt      time.Time
	phases          []phase
}

// New returns an emulator with no services.
func New(opts Options) *Server {
	if opts.OrganizationID == "" {
		opts.OrganizationID = "1111111111111"
	}
	if len(opts.DeploymentIDs) == 0 {
		opts.DeploymentIDs = []string{"9999999999999"}
	}
	if opts.Token == "" {
		opts.Token = "abeja-demo-token"
	}
	if opts.UserID == "" {
		opts.UserID = "1234567890123"
	}
	if opts.PersonalAccessToken == "" {
		opts.PersonalAccessToken = "abeja-demo-pat"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InProgress == 0 {
		opts.InProgress = 3 * time.Second
	}
	if opts.LogInterval == 0 {
		opts.LogInterval = 2 * time.Second
	}
	if opts.LogPageSize == 0 {
		opts.LogPageSize = 50
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), services: map[string]*service{}}
	const base = "/organizations/{org}/deployments/{dep}/services"
	s.mux.HandleFunc("GET "+base, s.list)
	s.mux.HandleFunc("POST "+base, s.create)
	s.mux.HandleFunc("GET "+base+"/{id}", s.get)
	s.mux.HandleFunc("PATCH "+base+"/{id}", s.update)
	s.mux.HandleFunc("DELETE "+base+"/{id}", s.delete)
	s.mux.HandleFunc("POST "+base+"/{id}/start", s.start)
	s.mux.HandleFunc("POST "+base+"/{id}/stop", s.stop)
	s.mux.HandleFunc("GET "+base+"/{id}/recentlogs", s.recentLogs)
	s.mux.HandleFunc("POST /_subdomain/{org}/deployments/{dep}/services/{id}", s.invoke)
	return s
}

// DemoConfig returns a connection config for the ABEJA plugin against this
// emulator at baseURL, with bearer token auth; invoke_endpoint is the
// path-based stand-in for the organization's sub-domain.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	return map[string]any{
		"endpoint":        baseURL,
		"invoke_endpoint": strings.TrimSuffix(baseURL, "/") + "/_subdomain/" + s.opts.OrganizationID,
		"organization_id": s.opts.OrganizationID, "deployment_id": s.opts.DeploymentIDs[0],
		"auth_method": "token", "token": s.opts.Token,
		"user_id": s.opts.UserID, "personal_access_token": s.opts.PersonalAccessToken,
	}
}

// SeedDemo adds two READY services to the first deployment.
func (s *Server) SeedDemo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.opts.Now().Add(-10 * time.Minute)
	for i, v := range []string{"ver-abc1111111111111", "ver-abc2222222222222"} {
		sv := &service{id: newID(), deployment: s.opts.DeploymentIDs[0], versionID: v, instanceType: "cpu-0.25",
			instanceNumber: i + 1, minN: 1, maxN: 2, models: map[string]string{"alias": "3333333333333"},
			env: map[string]string{"EXAMPLE_ENV": "abc"}, recordChannelID: "5678901234567",
			createdAt: past, modifiedAt: past}
		sv.phases = []phase{{from: past, settle: past, target: "READY", instances: sv.instanceNumber}}
		s.services[sv.id] = sv
	}
}

// ServeHTTP checks credentials, then routes invoke by host or path and
// everything else by path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r.Header.Get("Authorization")) {
		writeError(w, 401, "unauthorized", "Authentication failed: the token or personal access token is invalid", nil)
		return
	}
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if label, rest, ok := strings.Cut(host, "."); ok && label == s.opts.OrganizationID && rest != "" && strings.HasPrefix(r.URL.Path, "/deployments/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/_subdomain/" + label + r.URL.Path
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(h string) bool {
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok == s.opts.Token
	}
	if b, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(b)
		return err == nil && string(raw) == "user-"+s.opts.UserID+":"+s.opts.PersonalAccessToken
	}
	return false
}

// scope checks the organization and deployment of the path.
func (s *Server) scope(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("org") != s.opts.OrganizationID {
		writeError(w, 403, "forbidden", "you are not a member of organization "+r.PathValue("org"), nil)
		return false
	}
	for _, d := range s.opts.DeploymentIDs {
		if d == r.PathValue("dep") {
			return true
		}
	}
	writeError(w, 404, "not_found", "deployment "+r.PathValue("dep")+" not found", nil)
	return false
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *service {
	if !s.scope(w, r) {
		return nil
	}
	sv := s.services[r.PathValue("id")]
	if sv == nil || sv.deployment != r.PathValue("dep") {
		writeError(w, 404, "not_found", "service "+r.PathValue("id")+" not found", nil)
		return nil
	}
	return sv
}

func (sv *service) last() *phase { return &sv.phases[len(sv.phases)-1] }

func (sv *service) status(now time.Time) string {
	p := sv.last()
	if now.Before(p.settle) {
		return "IN_PROGRESS"
	}
	return p.target
}

func (s *Server) begin(sv *service, target string, now time.Time) {
	sv.phases = append(sv.phases, phase{from: now, settle: now.Add(s.opts.InProgress), target: target, instances: sv.instanceNumber})
	sv.modifiedAt = now
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (s *Server) view(sv *service, now time.Time, full bool) map[string]any {
	v := map[string]any{
		"service_id": sv.id, "deployment_id": sv.deployment, "models": sv.models,
		"model_version": "0.0.1", "model_version_id": sv.versionID, "status": sv.status(now),
		"instance_number": sv.instanceNumber, "min_instance_number": sv.minN, "max_instance_number": sv.maxN,
		"enable_autoscale": sv.autoscale, "instance_type": sv.instanceType,
		"metrics_url":   "https://p.datadoghq.com/sb/emulated-" + sv.id,
		"user_env_vars": sv.env, "created_at": stamp(sv.createdAt), "modified_at": stamp(sv.modifiedAt),
	}
	if full {
		merged := map[string]string{"ABEJA_DEPLOYMENT_ID": sv.deployment}
		for k, val := range sv.env {
			merged[k] = val
		}
		v["merged_env_vars"] = merged
		v["record_channel_id"] = sv.recordChannelID
		v["service_process_type"] = "multi"
	}
	return v
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.scope(w, r) {
		return
	}
	now := s.opts.Now()
	var all []*service
	for _, sv := range s.services {
		if sv.deployment == r.PathValue("dep") {
			all = append(all, sv)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].createdAt.Before(all[j].createdAt) || (all[i].createdAt.Equal(all[j].createdAt) && all[i].id < all[j].id)
	})
	entries := []map[string]any{}
	for _, sv := range all {
		entries = append(entries, s.view(sv, now, false))
	}
	writeJSON(w, 200, map[string]any{"entries": entries})
}

var (
	versionRE = regexp.MustCompile(`^ver-[0-9a-z]+$`)
	typeRE    = regexp.MustCompile(`^(cpu|gpu)-[0-9.]+$`)
)

// intField reads a number sent as a JSON number or a string (the SDK documents both).
func intField(raw json.RawMessage) (int, bool) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	return 0, false
}

func boolField(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
		return strings.EqualFold(s, "true"), true
	}
	return false, false
}

// applyCommon applies the fields both create and update take; it answers
// the offending field and a message when one is wrong.
func applyCommon(sv *service, in map[string]json.RawMessage) (string, string) {
	for _, k := range []string{"instance_number", "min_instance_number", "max_instance_number"} {
		raw, ok := in[k]
		if !ok {
			continue
		}
		n, ok := intField(raw)
		if !ok || n < 1 || n > 10 {
			return k, k + " must be a number between 1 and 10"
		}
		switch k {
		case "instance_number":
			sv.instanceNumber = n
		case "min_instance_number":
			sv.minN = n
		case "max_instance_number":
			sv.maxN = n
		}
	}
	if raw, ok := in["enable_autoscale"]; ok {
		b, ok := boolField(raw)
		if !ok {
			return "enable_autoscale", "enable_autoscale must be true or false"
		}
		sv.autoscale = b
	}
	if raw, ok := in["environment"]; ok {
		env := map[string]string{}
		if json.Unmarshal(raw, &env) != nil {
			return "environment", "environment must be an object of strings"
		}
		sv.env = env
	}
	return "", ""
}

func checkRange(w http.ResponseWriter, sv *service) bool {
	if sv.minN > sv.maxN {
		badField(w, "max_instance_number", "max_instance_number must not be less than min_instance_number")
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.scope(w, r) {
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "bad_request", "request body must be a JSON object", nil)
		return
	}
	sv := &service{id: newID(), deployment: r.PathValue("dep"), instanceType: "cpu-0.25", instanceNumber: 1, minN: 1, maxN: 1,
		models: map[string]string{}, env: map[string]string{}, recordChannelID: "5678901234567"}
	for k, raw := range in {
		switch k {
		case "version_id":
			_ = json.Unmarshal(raw, &sv.versionID)
		case "instance_type":
			if json.Unmarshal(raw, &sv.instanceType) != nil || !typeRE.MatchString(sv.instanceType) {
				badField(w, k, "instance_type must look like cpu-0.25 or gpu-1")
				return
			}
		case "models":
			if json.Unmarshal(raw, &sv.models) != nil {
				badField(w, k, "models must map aliases to model ids")
				return
			}
		case "model_id":
			// abeja-sdk sends the model as model_id; it becomes the "alias" model.
			var id string
			if json.Unmarshal(raw, &id) != nil {
				badField(w, k, "model_id must be a string")
				return
			}
			sv.models["alias"] = id
		case "record_channel_id":
			// Not in abeja-sdk's create_service; the platform shows it on a
			// service. Accepted here so that a test can give a service a
			// setting Wharf does not model.
			if json.Unmarshal(raw, &sv.recordChannelID) != nil {
				badField(w, k, "record_channel_id must be a string")
				return
			}
		case "instance_number", "min_instance_number", "max_instance_number", "enable_autoscale", "environment":
		default:
			badField(w, k, "unknown parameter "+k)
			return
		}
	}
	if sv.versionID == "" {
		badField(w, "version_id", "version_id is required")
		return
	}
	if !versionRE.MatchString(sv.versionID) {
		badField(w, "version_id", "version_id must look like ver-abc1111111111111")
		return
	}
	if f, msg := applyCommon(sv, in); f != "" {
		badField(w, f, msg)
		return
	}
	if _, ok := in["max_instance_number"]; !ok {
		// Without an explicit range the service is pinned to its instance count.
		sv.maxN = max(sv.instanceNumber, sv.minN)
	}
	if !checkRange(w, sv) {
		return
	}
	now := s.opts.Now()
	sv.createdAt = now
	s.begin(sv, "READY", now)
	s.services[sv.id] = sv
	writeJSON(w, 200, s.view(sv, now, false))
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.lookup(w, r); sv != nil {
		writeJSON(w, 200, s.view(sv, s.opts.Now(), true)) // one service: the whole object, as update answers it
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	var in map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "bad_request", "request body must be a JSON object", nil)
		return
	}
	for k := range in {
		switch k {
		case "instance_number", "min_instance_number", "max_instance_number", "enable_autoscale", "environment":
		default:
			badField(w, k, k+" cannot be updated")
			return
		}
	}
	next := *sv
	if f, msg := applyCommon(&next, in); f != "" {
		badField(w, f, msg)
		return
	}
	if !checkRange(w, &next) {
		return
	}
	*sv = next
	now := s.opts.Now()
	target := sv.last().target
	if sv.status(now) == "STOPPED" || target == "STOPPED" {
		sv.modifiedAt = now // a stopped service stays stopped
	} else {
		s.begin(sv, "READY", now)
	}
	writeJSON(w, 200, s.view(sv, now, true))
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.lookup(w, r); sv != nil {
		delete(s.services, sv.id)
		writeJSON(w, 200, map[string]string{"message": sv.id + " deleted"})
	}
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	if sv.last().target == "READY" {
		writeError(w, 400, "bad_request", "service is already running", nil)
		return
	}
	s.begin(sv, "READY", s.opts.Now())
	writeJSON(w, 200, map[string]string{"message": sv.id + " started"})
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	if sv.last().target == "STOPPED" {
		writeError(w, 400, "bad_request", "service is not running", nil)
		return
	}
	s.begin(sv, "STOPPED", s.opts.Now())
	writeJSON(w, 200, map[string]string{"message": sv.id + " stopped"})
}

type line struct {
	at       time.Time
	instance string
	n        int
}

// lines are the service's log lines up to now, oldest first: each READY
// stretch's instances write one line per interval.
func (s *Server) lines(sv *service, now time.Time) []line {
	iv := s.opts.LogInterval
	var out []line
	for i, p := range sv.phases {
		if p.target != "READY" {
			continue
		}
		end := now.Add(time.Nanosecond)
		if i+1 < len(sv.phases) && sv.phases[i+1].from.Before(end) {
			end = sv.phases[i+1].from
		}
		for k := 0; k < p.instances; k++ {
			inst := fmt.Sprintf("%s-%d-%d", sv.id, i, k)
			for n := 1; ; n++ {
				at := p.settle.Add(time.Duration(n) * iv)
				if !at.Before(end) {
					break
				}
				out = append(out, line{at, inst, n})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].instance < out[j].instance
	})
	return out
}

func (s *Server) recentLogs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.lookup(w, r)
	if sv == nil {
		return
	}
	q := r.URL.Query()
	all := s.lines(sv, s.opts.Now())
	lo, hi := 0, len(all)
	for _, k := range []string{"start_time", "end_time"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02T15:04:05", v)
		if err != nil {
			badField(w, k, k+" must look like 2018-01-01T00:00:00 (UTC)")
			return
		}
		if k == "start_time" {
			lo = sort.Search(len(all), func(i int) bool { return !all[i].at.Before(t) })
		} else {
			hi = sort.Search(len(all), func(i int) bool { return all[i].at.After(t) })
		}
	}
	hi = max(hi, lo)
	page := s.opts.LogPageSize
	start, end := max(lo, hi-page), hi
	if tok := q.Get("next_forward_token"); tok != "" {
		i, ok := parseToken(tok, 'f')
		if !ok {
			badField(w, "next_forward_token", "invalid token")
			return
		}
		start = min(max(i, lo), hi)
		end = min(start+page, hi)
	} else if tok := q.Get("next_backward_token"); tok != "" {
		i, ok := parseToken(tok, 'b')
		if !ok {
			badField(w, "next_backward_token", "invalid token")
			return
		}
		end = max(min(i, hi), lo)
		start = max(lo, end-page)
	}
	events := []map[string]string{}
	for i := end - 1; i >= start; i-- { // newest first
		l := all[i]
		events = append(events, map[string]string{"message": fmt.Sprintf("%s %s line %d", sv.id, l.instance, l.n), "timestamp": stamp(l.at)})
	}
	writeJSON(w, 200, map[string]any{"events": events,
		"next_backward_token": makeToken('b', start), "next_forward_token": makeToken('f', end)})
}

func makeToken(dir byte, i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%c/%d", dir, i)))
}

func parseToken(tok string, dir byte) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 3 || b[0] != dir || b[1] != '/' {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[2:]))
	return n, err == nil && n >= 0
}

// invoke is the emulated model service: it echoes what it was sent.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	s.mu.Lock()
	sv := s.lookup(w, r)
	var st, version string
	if sv != nil {
		st, version = sv.status(s.opts.Now()), sv.versionID
	}
	s.mu.Unlock()
	if sv == nil {
		return
	}
	if st != "READY" {
		writeError(w, 503, "service_unavailable", "service "+sv.id+" is "+st, nil)
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	sum := sha256.Sum256(body)
	echo := map[string]any{"service_id": sv.id, "model_version_id": version, "content_type": ct,
		"size": len(body), "sha256": hex.EncodeToString(sum[:])}
	if mt == "application/json" {
		var v any
		if json.Unmarshal(body, &v) != nil {
			writeError(w, 400, "bad_request", "the request body is not valid JSON", nil)
			return
		}
		echo["json"] = v
	}
	writeJSON(w, 200, echo)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, desc string, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_detail": detail})
}

func badField(w http.ResponseWriter, field, msg string) {
	writeError(w, 400, "bad_request", msg, map[string]any{field: []string{msg}})
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ser-" + hex.EncodeToString(b[:])
}

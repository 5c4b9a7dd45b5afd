// Package peakemu is an in-process emulator of the Peak platform's services
// API (the part of https://service.peak.ai that peak-sdk's
// peak.resources.services talks to): list, create, describe, update
// (PATCH), delete and test of API services, with the same paths, the raw
// API key in the Authorization header, JSON bodies and status codes.
//
// Statuses move over time, computed lazily from timestamps: CREATING, then
// DEPLOYING, then AVAILABLE; a PATCH that changes what runs (image,
// version, instance type, parameters, health check, entrypoint, session
// stickiness) goes back to DEPLOYING (title, description, scale-to-zero,
// minimum instances and tags do not); a delete shows DELETING and then the
// service is gone. Peak has no logs, start, stop or scale.
//
// Choices where Peak's documents are silent, made plausibly: error bodies
// are {"message": "..."}; deleting a service while it is CREATING or
// already DELETING answers 409; a duplicate name answers 409; the test
// endpoint answers 422 unless the service is AVAILABLE, 400 unless it is
// of type api, and otherwise "calls" the service, which echoes the request.
package peakemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the emulator. Zero values take the defaults noted.
type Options struct {
	// APIKey is the only key accepted in the Authorization header; default "peak-demo-api-key".
	APIKey string
	// User is reported as createdBy and updatedBy; default "demo@peak.ai".
	User string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Creating, Deploying and Deleting are how long a service stays in
	// CREATING, DEPLOYING and DELETING; defaults 2s, 3s and 2s.
	Creating, Deploying, Deleting time.Duration
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	services map[string]*service // by id
}

type service struct {
	ID                string
	Name              string
	Title             string
	Description       string
	ServiceType       string
	ImageID           int64
	VersionID         int64
	InstanceTypeID    int64
	Env               map[string]string
	Secrets           []string
	SessionStickiness bool
	ScaleToZero       bool
	Entrypoint        string
	HealthCheckURL    string
	MinInstances      int
	Tags              []tag
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// creatingUntil and readyAt drive the status; deletedAt is set by a delete.
	creatingUntil time.Time
	readyAt       time.Time
	deletedAt     time.Time
}

// New returns an emulator with no services.
func New(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "peak-demo-api-key"
	}
	if opts.User == "" {
		opts.User = "demo@peak.ai"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Creating == 0 {
		opts.Creating = 2 * time.Second
	}
	if opts.Deploying == 0 {
		opts.Deploying = 3 * time.Second
	}
	if opts.Deleting == 0 {
		opts.Deleting = 2 * time.Second
	}
	s := &Server{opts: opts, services: map[string]*service{}, mux: http.NewServeMux()}
	const base = "/webapps/api/v1/webapps"
	s.mux.HandleFunc("GET "+base+"/{$}", s.list)
	s.mux.HandleFunc("GET "+base, s.list)
	s.mux.HandleFunc("POST "+base+"/{$}", s.create)
	s.mux.HandleFunc("POST "+base, s.create)
	s.mux.HandleFunc("GET "+base+"/{id}", s.describe)
	s.mux.HandleFunc("PATCH "+base+"/{id}", s.update)
	s.mux.HandleFunc("DELETE "+base+"/{id}", s.delete)
	s.mux.HandleFunc("POST "+base+"/{name}/test", s.test)
	return s
}

// DemoConfig returns a connection config for the Peak plugin against this
// emulator at baseURL.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	return map[string]any{"endpoint": baseURL, "api_key": s.opts.APIKey}
}

// SeedDemo adds a few services, already AVAILABLE.
func (s *Server) SeedDemo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	past := now.Add(-time.Hour)
	for i, d := range []struct{ name, title, typ string }{
		{"churn-predictor", "Churn predictor", "api"},
		{"pricing-dashboard", "Pricing dashboard", "web-app"},
		{"demand-explorer", "Demand explorer", "shiny"},
	} {
		sv := &service{ID: newID(), Name: d.name, Title: d.title, ServiceType: d.typ,
			ImageID: int64(1000 + i), VersionID: 1, InstanceTypeID: 21,
			Env: map[string]string{"LOG_LEVEL": "info"}, Secrets: []string{},
			Description: "Demo " + d.typ + " service", HealthCheckURL: "/health",
			CreatedAt: past, UpdatedAt: past, creatingUntil: past, readyAt: past}
		s.services[sv.ID] = sv
	}
}

// ServeHTTP checks the API key and serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Authorization")
	if key == "" {
		writeError(w, http.StatusUnauthorized, "Missing Authorization header")
		return
	}
	if key != s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Invalid or expired API key")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// status is the service's status now; gone says a delete has finished.
func (s *Server) status(sv *service, now time.Time) (st string, gone bool) {
	switch {
	case !sv.deletedAt.IsZero():
		if !now.Before(sv.deletedAt.Add(s.opts.Deleting)) {
			return "", true
		}
		return "DELETING", false
	case now.Before(sv.creatingUntil):
		return "CREATING", false
	case now.Before(sv.readyAt):
		return "DEPLOYING", false
	}
	return "AVAILABLE", false
}

// live returns the service with the id, dropping it if its delete is done.
func (s *Server) live(id string, now time.Time) *service {
	sv := s.services[id]
	if sv == nil {
		return nil
	}
	if _, gone := s.status(sv, now); gone {
		delete(s.services, id)
		return nil
	}
	return sv
}

func (s *Server) view(sv *service, now time.Time) map[string]any {
	st, _ := s.status(sv, now)
	secrets := sv.Secrets
	if secrets == nil {
		secrets = []string{}
	}
	env := sv.Env
	if env == nil {
		env = map[string]string{}
	}
	tags := sv.Tags
	if tags == nil {
		tags = []tag{}
	}
	return map[string]any{
		"id": sv.ID, "name": sv.Name, "title": sv.Title, "description": sv.Description,
		"status": st, "serviceType": sv.ServiceType,
		"imageDetails":      map[string]any{"imageId": sv.ImageID, "versionId": sv.VersionID},
		"resources":         map[string]any{"instanceTypeId": sv.InstanceTypeID},
		"parameters":        map[string]any{"env": env, "secrets": secrets},
		"sessionStickiness": sv.SessionStickiness, "scaleToZero": sv.ScaleToZero,
		"entrypoint": sv.Entrypoint, "healthCheckURL": sv.HealthCheckURL, "minInstances": sv.MinInstances,
		"createdAt": sv.CreatedAt.UTC().Format(time.RFC3339Nano), "createdBy": s.opts.User,
		"updatedAt": sv.UpdatedAt.UTC().Format(time.RFC3339Nano), "updatedBy": s.opts.User,
		"tags": tags,
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("featureType") {
	case "", "services":
	case "webapps":
		writeJSON(w, 200, map[string]any{"webappsCount": 0, "webapps": []any{}, "pageCount": 0, "pageNumber": 1, "pageSize": 25})
		return
	default:
		writeError(w, 400, "featureType must be one of services, webapps")
		return
	}
	pageSize, ok := intParam(w, q, "pageSize", 25, 1, 100)
	if !ok {
		return
	}
	pageNumber, ok := intParam(w, q, "pageNumber", 1, 1, 1<<30)
	if !ok {
		return
	}
	for _, st := range q["status"] {
		if !slices.Contains(statuses, st) {
			writeError(w, 400, fmt.Sprintf("status %q is not one of %s", st, strings.Join(statuses, ", ")))
			return
		}
	}
	for _, t := range q["serviceType"] {
		if !slices.Contains(serviceTypes, t) {
			writeError(w, 400, fmt.Sprintf("serviceType %q is not one of %s", t, strings.Join(serviceTypes, ", ")))
			return
		}
	}
	search := strings.ToLower(q.Get("searchTerm"))

	s.mu.Lock()
	now := s.opts.Now()
	var all []*service
	for id := range s.services {
		if sv := s.live(id, now); sv != nil {
			all = append(all, sv)
		}
	}
	// Newest first, as Peak's console lists them; ties by id for a stable order.
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.After(all[j].CreatedAt)
		}
		return all[i].ID < all[j].ID
	})
	var matched []map[string]any
	for _, sv := range all {
		st, _ := s.status(sv, now)
		if len(q["status"]) > 0 && !slices.Contains(q["status"], st) {
			continue
		}
		if len(q["serviceType"]) > 0 && !slices.Contains(q["serviceType"], sv.ServiceType) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(sv.Name), search) && !strings.Contains(strings.ToLower(sv.Title), search) {
			continue
		}
		matched = append(matched, s.view(sv, now))
	}
	s.mu.Unlock()

	pageCount := (len(matched) + pageSize - 1) / pageSize
	page := []map[string]any{}
	if start := (pageNumber - 1) * pageSize; start < len(matched) {
		page = matched[start:min(start+pageSize, len(matched))]
	}
	writeJSON(w, 200, map[string]any{"servicesCount": len(matched), "services": page,
		"pageCount": pageCount, "pageNumber": pageNumber, "pageSize": pageSize})
}

var (
	statuses     = []string{"CREATING", "DEPLOYING", "AVAILABLE", "DELETING", "CREATE_FAILED", "DELETE_FAILED"}
	serviceTypes = []string{"api", "web-app", "shiny"}
	nameRE       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
)

// body is the create and update payload.
type body struct {
	Name         *string `json:"name"`
	Title        *string `json:"title"`
	ServiceType  *string `json:"serviceType"`
	ImageDetails *struct {
		ImageID   *int64 `json:"imageId"`
		VersionID *int64 `json:"versionId"`
	} `json:"imageDetails"`
	Resources *struct {
		InstanceTypeID *int64 `json:"instanceTypeId"`
	} `json:"resources"`
	Parameters *struct {
		Env     map[string]string `json:"env"`
		Secrets []string          `json:"secrets"`
	} `json:"parameters"`
	Description       *string `json:"description"`
	SessionStickiness *bool   `json:"sessionStickiness"`
	ScaleToZero       *bool   `json:"scaleToZero"`
	Entrypoint        *string `json:"entrypoint"`
	HealthCheckURL    *string `json:"healthCheckURL"`
	MinInstances      *int    `json:"minInstances"`
	Tags              *[]tag  `json:"tags"`
}

// tag labels a service, as peak-sdk's create_service and update_service send them.
type tag struct {
	Name string `json:"name"`
}

func decodeBody(w http.ResponseWriter, r *http.Request) (*body, bool) {
	b := new(body)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(b); err != nil {
		writeError(w, 400, "Invalid request body: "+err.Error())
		return nil, false
	}
	if b.ImageDetails != nil && b.ImageDetails.ImageID == nil {
		writeError(w, 400, "imageDetails.imageId is required")
		return nil, false
	}
	if b.ImageDetails != nil && *b.ImageDetails.ImageID <= 0 {
		writeError(w, 400, "imageDetails.imageId must be a positive number")
		return nil, false
	}
	if b.MinInstances != nil && (*b.MinInstances < 0 || *b.MinInstances > 10) {
		writeError(w, 400, "minInstances must be between 0 and 10")
		return nil, false
	}
	if b.Tags != nil {
		for _, t := range *b.Tags {
			if t.Name == "" {
				writeError(w, 400, "tags[].name is required")
				return nil, false
			}
		}
	}
	return b, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	switch {
	case b.Name == nil || *b.Name == "":
		writeError(w, 400, "name is required")
		return
	case !nameRE.MatchString(*b.Name):
		writeError(w, 400, "name must be 1-64 lowercase letters, digits and hyphens, starting and ending with a letter or digit")
		return
	case b.ImageDetails == nil:
		writeError(w, 400, "imageDetails.imageId is required")
		return
	case b.ServiceType != nil && !slices.Contains(serviceTypes, *b.ServiceType):
		writeError(w, 400, "serviceType must be one of api, web-app, shiny")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for id := range s.services {
		if sv := s.live(id, now); sv != nil && sv.Name == *b.Name {
			writeError(w, 409, fmt.Sprintf("Service with name %s already exists", *b.Name))
			return
		}
	}
	sv := &service{ID: newID(), Name: *b.Name, ServiceType: "api", Env: map[string]string{}, Secrets: []string{},
		CreatedAt: now, UpdatedAt: now, creatingUntil: now.Add(s.opts.Creating),
		readyAt: now.Add(s.opts.Creating + s.opts.Deploying)}
	sv.Title = sv.Name
	apply(sv, b)
	s.services[sv.ID] = sv
	writeJSON(w, 201, map[string]string{"id": sv.ID})
}

// apply copies the fields set in b onto sv and reports whether one of them
// is a field whose change redeploys the service.
func apply(sv *service, b *body) (redeploy bool) {
	setStr := func(dst *string, src *string, triggers bool) {
		if src != nil && *src != *dst {
			*dst = *src
			redeploy = redeploy || triggers
		}
	}
	setStr(&sv.Title, b.Title, false)
	setStr(&sv.Description, b.Description, false)
	setStr(&sv.Entrypoint, b.Entrypoint, true)
	setStr(&sv.HealthCheckURL, b.HealthCheckURL, true)
	if b.ServiceType != nil {
		sv.ServiceType = *b.ServiceType
	}
	if d := b.ImageDetails; d != nil {
		if *d.ImageID != sv.ImageID {
			sv.ImageID, redeploy = *d.ImageID, true
		}
		if d.VersionID != nil && *d.VersionID != sv.VersionID {
			sv.VersionID, redeploy = *d.VersionID, true
		}
	}
	if b.Resources != nil && b.Resources.InstanceTypeID != nil && *b.Resources.InstanceTypeID != sv.InstanceTypeID {
		sv.InstanceTypeID, redeploy = *b.Resources.InstanceTypeID, true
	}
	if p := b.Parameters; p != nil {
		env, secrets := p.Env, p.Secrets
		if env == nil {
			env = map[string]string{}
		}
		if secrets == nil {
			secrets = []string{}
		}
		if !mapsEqual(env, sv.Env) || !slices.Equal(secrets, sv.Secrets) {
			sv.Env, sv.Secrets, redeploy = env, secrets, true
		}
	}
	if b.SessionStickiness != nil && *b.SessionStickiness != sv.SessionStickiness {
		sv.SessionStickiness, redeploy = *b.SessionStickiness, true
	}
	if b.ScaleToZero != nil {
		sv.ScaleToZero = *b.ScaleToZero
	}
	if b.MinInstances != nil {
		sv.MinInstances = *b.MinInstances
	}
	if b.Tags != nil {
		sv.Tags = *b.Tags // tags do not change what runs
	}
	return redeploy
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *Server) describe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	sv := s.live(r.PathValue("id"), now)
	if sv == nil {
		writeError(w, 404, fmt.Sprintf("Service with id %s not found", r.PathValue("id")))
		return
	}
	writeJSON(w, 200, s.view(sv, now))
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	b, ok := decodeBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	sv := s.live(r.PathValue("id"), now)
	if sv == nil {
		writeError(w, 404, fmt.Sprintf("Service with id %s not found", r.PathValue("id")))
		return
	}
	// peak-sdk's create_or_update_service sends the service's own name and
	// type back: only a different value is an attempt to change them.
	if b.Name != nil && *b.Name != sv.Name {
		writeError(w, 400, "name cannot be updated")
		return
	}
	if b.ServiceType != nil && *b.ServiceType != sv.ServiceType {
		writeError(w, 400, "serviceType cannot be updated")
		return
	}
	if st, _ := s.status(sv, now); st == "DELETING" {
		writeError(w, 422, fmt.Sprintf("Service %s cannot be updated while it is %s", sv.Name, st))
		return
	}
	if apply(sv, b) {
		// A redeploy starts now, or once the service has been created.
		sv.readyAt = maxTime(now, sv.creatingUntil).Add(s.opts.Deploying)
	}
	sv.UpdatedAt = now
	writeJSON(w, 200, map[string]string{"id": sv.ID})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	sv := s.live(r.PathValue("id"), now)
	if sv == nil {
		writeError(w, 404, fmt.Sprintf("Service with id %s not found", r.PathValue("id")))
		return
	}
	if st, _ := s.status(sv, now); st == "DELETING" || st == "CREATING" {
		writeError(w, 409, fmt.Sprintf("Service %s cannot be deleted while it is %s", sv.Name, st))
		return
	}
	sv.deletedAt = now
	writeJSON(w, 200, map[string]string{"id": sv.ID})
}

// test "calls" the API service: it answers with an echo of the request.
func (s *Server) test(w http.ResponseWriter, r *http.Request) {
	var in struct {
		HTTPMethod string          `json:"httpMethod"`
		Path       string          `json:"path"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, 400, "Invalid request body: "+err.Error())
		return
	}
	method := strings.ToLower(in.HTTPMethod)
	if !slices.Contains([]string{"get", "post", "put", "patch", "delete"}, method) {
		writeError(w, 400, "httpMethod must be one of get, post, put, patch, delete")
		return
	}
	if in.Path == "" {
		in.Path = "/"
	}
	s.mu.Lock()
	now := s.opts.Now()
	var sv *service
	for id := range s.services {
		if x := s.live(id, now); x != nil && x.Name == r.PathValue("name") {
			sv = x
		}
	}
	var st string
	var view map[string]any
	if sv != nil {
		st, _ = s.status(sv, now)
		view = s.view(sv, now)
	}
	s.mu.Unlock()
	switch {
	case sv == nil:
		writeError(w, 404, fmt.Sprintf("Service with name %s not found", r.PathValue("name")))
		return
	case sv.ServiceType != "api":
		writeError(w, 400, fmt.Sprintf("Service %s is of type %s: only api services can be tested", sv.Name, sv.ServiceType))
		return
	case st != "AVAILABLE":
		writeError(w, 422, fmt.Sprintf("Service %s is %s: only AVAILABLE services can be tested", sv.Name, st))
		return
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	echo, _ := json.Marshal(map[string]any{"service": sv.Name, "method": strings.ToUpper(method), "path": in.Path,
		"payload": payload, "imageId": view["imageDetails"].(map[string]any)["imageId"]})
	status := 200
	if strings.HasPrefix(in.Path, "/status/") {
		// Lets a caller see a non-200 answer from the service itself.
		if n, err := strconv.Atoi(strings.TrimPrefix(in.Path, "/status/")); err == nil && n >= 100 && n <= 599 {
			status = n
		}
	}
	// The emulated service takes a fixed, deterministic 12 ms.
	start := now.UTC()
	end := start.Add(12 * time.Millisecond)
	writeJSON(w, 200, map[string]any{"responseBody": string(echo), "responseStatus": status,
		"reqStartTime": start.Format(time.RFC3339Nano), "reqEndTime": end.Format(time.RFC3339Nano),
		"responseSize": len(echo)})
}

func intParam(w http.ResponseWriter, q map[string][]string, name string, def, lo, hi int) (int, bool) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		writeError(w, 400, fmt.Sprintf("%s must be a number between %d and %d", name, lo, hi))
		return 0, false
	}
	return n, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Package dockeremu emulates the Swarm services subset of the Docker Engine
// API: ping, version, info, services (create, list, inspect, update with
// rollback, remove, logs), tasks (list, inspect), secrets and configs
// (create, list, inspect, remove). It speaks the real wire
// protocol over HTTP, so that the official Docker Go client and the Wharf
// docker plugin can drive it unchanged.
//
// State moves over time without background goroutines: tasks, update
// statuses and log lines are computed lazily from timestamps and the
// injectable clock (Options.Now), on each request.
//
// Emulator simplifications (documented, not hidden): one node; rolling
// updates replace all tasks at once; tasks of images tagged ":crash" fail
// on start and are not restarted, and so do those of images tagged
// ":unhealthy" that have a health check (failing it); networks are not
// validated.
package dockeremu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// Defaults of Options.
const (
	DefaultAPIVersion = "1.47"
	MinAPIVersion     = "1.24"
	DefaultStartDelay = 2 * time.Second
	DefaultLogEvery   = time.Second
	engineVersion     = "27.5.1"
	nodeID            = "wharfemunode0000000000000"
	nodeHostname      = "wharf-emu"
)

// Options tune the emulator.
type Options struct {
	// Now is the clock; time.Now when nil. Tests may pass a faster clock.
	Now func() time.Time
	// APIVersion is the highest API version served (default 1.47).
	APIVersion string
	// NotInSwarm makes the engine answer like a node that is not part of a
	// swarm: 503 on every services and tasks endpoint.
	NotInSwarm bool
	// StartDelay is the time a task takes from "new" to "running"; it is also
	// how long an update or rollback takes to complete (default 2s).
	StartDelay time.Duration
	// JobDuration is how long a job task runs before completing (default 2*StartDelay).
	JobDuration time.Duration
	// LogEvery is the interval between two log lines of a running task (default 1s).
	LogEvery time.Duration
	// MaxFrameSize, when > 0, splits the multiplexed log stream into frames of
	// at most this many payload bytes, so that frames cut lines in two.
	MaxFrameSize int
}

// Server is the emulated engine. It is an http.Handler.
type Server struct {
	opts Options

	mu       sync.Mutex
	index    uint64 // the store's version counter, like the raft index
	services map[string]*service
	order    []string // service IDs in creation order
	tasks    map[string]*task
	taskSeq  []string // task IDs in creation order
	nextPort uint32
	secrets  *objectStore
	configs  *objectStore
	routes   []route
}

type route struct {
	method  string
	pattern *regexp.Regexp
	swarm   bool // needs an active swarm
	handle  func(w http.ResponseWriter, r *http.Request, m []string)
}

// New returns an emulator with no services.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.StartDelay <= 0 {
		opts.StartDelay = DefaultStartDelay
	}
	if opts.JobDuration <= 0 {
		opts.JobDuration = 2 * opts.StartDelay
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = DefaultLogEvery
	}
	s := &Server{opts: opts, services: map[string]*service{}, tasks: map[string]*task{}, index: 10, nextPort: 30000,
		secrets: newObjectStore("secret"), configs: newObjectStore("config")}
	s.routes = []route{
		{"GET", re(`/_ping`), false, s.ping},
		{"HEAD", re(`/_ping`), false, s.ping},
		{"GET", re(`/version`), false, s.version},
		{"GET", re(`/info`), false, s.info},
		{"GET", re(`/services`), true, s.listServices},
		{"POST", re(`/services/create`), true, s.createService},
		{"GET", re(`/services/([^/]+)`), true, s.inspectService},
		{"POST", re(`/services/([^/]+)/update`), true, s.updateService},
		{"DELETE", re(`/services/([^/]+)`), true, s.removeService},
		{"GET", re(`/services/([^/]+)/logs`), true, s.serviceLogs},
		{"GET", re(`/tasks`), true, s.listTasks},
		{"GET", re(`/tasks/([^/]+)`), true, s.inspectTask},
		{"GET", re(`/tasks/([^/]+)/logs`), true, s.taskLogs},
	}
	s.routes = append(append(s.routes, s.objectRoutes("secret")...), s.objectRoutes("config")...)
	return s
}

func re(p string) *regexp.Regexp { return regexp.MustCompile(`^` + p + `$`) }

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Api-Version", s.opts.APIVersion)
	h.Set("Server", "Docker/"+engineVersion+" (linux)")
	h.Set("Ostype", "linux")
	h.Set("Docker-Experimental", "false")

	path := r.URL.Path
	version := s.opts.APIVersion
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		version, path = m[1], m[2]
		if compareVersions(version, s.opts.APIVersion) > 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", version, s.opts.APIVersion))
			return
		}
		if compareVersions(version, MinAPIVersion) < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinAPIVersion))
			return
		}
	}
	r.Header.Set("X-Emu-Api-Version", version) // read back by handlers that vary by version

	pathMatched := false
	for _, rt := range s.routes {
		m := rt.pattern.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		pathMatched = true
		if rt.method != r.Method {
			continue
		}
		if rt.swarm && s.opts.NotInSwarm {
			writeError(w, http.StatusServiceUnavailable, "This node is not part of a swarm")
			return
		}
		rt.handle(w, r, m)
		return
	}
	if pathMatched {
		// The engine's router answers an unknown method on a known path with 404 too.
		writeError(w, http.StatusNotFound, "page not found")
		return
	}
	writeError(w, http.StatusNotFound, "page not found")
}

// writeError answers like the engine: JSON {"message": ...} with the exact
// Content-Type the Go client requires to parse it.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// boolValue parses a query flag the way the engine does: "", 0, no, false
// and none (any case) are false, anything else is true.
func boolValue(r *http.Request, key string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(key))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request, _ []string) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Builder-Version", "2")
	if s.opts.NotInSwarm {
		h.Set("Swarm", "inactive")
	} else {
		h.Set("Swarm", "active/manager")
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("OK"))
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request, _ []string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"Platform":      map[string]string{"Name": "Wharf Docker Engine emulator"},
		"Version":       engineVersion,
		"ApiVersion":    s.opts.APIVersion,
		"MinAPIVersion": MinAPIVersion,
		"GitCommit":     "emulator",
		"GoVersion":     "go1.26",
		"Os":            "linux",
		"Arch":          "amd64",
		"KernelVersion": "6.1.0-emu",
		"BuildTime":     "2026-01-01T00:00:00.000000000+00:00",
	})
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request, _ []string) {
	sw := map[string]any{"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": nil}
	if !s.opts.NotInSwarm {
		sw = map[string]any{"NodeID": nodeID, "NodeAddr": "127.0.0.1", "LocalNodeState": "active", "ControlAvailable": true,
			"Error": "", "Nodes": 1, "Managers": 1,
			"RemoteManagers": []map[string]string{{"NodeID": nodeID, "Addr": "127.0.0.1:2377"}}}
	}
	s.mu.Lock()
	n := len(s.services)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"ID": "WHARF:EMU0:0000", "Name": nodeHostname, "ServerVersion": engineVersion,
		"OperatingSystem": "Wharf emulator", "OSType": "linux", "Architecture": "x86_64",
		"NCPU": 2, "MemTotal": int64(4) << 30, "Containers": n, "Swarm": sw,
	})
}

// newID returns a 25-character lowercase ID like swarm's.
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [25]byte
	randRead(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// ServiceIDs returns the IDs of the services, in creation order (for tests).
func (s *Server) ServiceIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Service returns a copy of a service as the engine would show it, for tests.
func (s *Server) Service(idOrName string) (swarm.Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	svc, err := s.lookup(idOrName)
	if err != nil {
		return swarm.Service{}, false
	}
	return s.view(svc, false, false, now), true
}

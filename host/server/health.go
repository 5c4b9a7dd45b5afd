package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health endpoints, at the root of the host's echo.
const (
	LivezPath  = "/livez"
	ReadyzPath = "/readyz"
)

// pingTimeout bounds the store check of one readiness probe.
const pingTimeout = 2 * time.Second

// Health is the answer of LivezPath and ReadyzPath: status "ok" or
// "unavailable"; for readyz each check's result ("ok" or why not) and the
// names of the checks that failed.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
	Failed []string          `json:"failed,omitempty"`
}

// Readiness checks, in the order they are run and reported.
const (
	CheckShutdown = "shutdown" // the host is not shutting down
	CheckStore    = "store"    // the database answers a ping
	CheckPlugins  = "plugins"  // every plugin found was loaded
)

// Drain makes ReadyzPath answer 503 from now on, so that load balancers
// stop sending requests while the host still serves the ones on their
// way. Call it first on shutdown, before the HTTP server stops listening.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// Ready runs the readiness checks; it is ok when none failed.
func (s *Server) Ready(ctx context.Context) Health {
	h := Health{Status: "ok", Checks: map[string]string{}}
	check := func(name string, err error) {
		if err == nil {
			h.Checks[name] = "ok"
			return
		}
		h.Checks[name] = err.Error()
		h.Failed = append(h.Failed, name)
		h.Status = "unavailable"
	}
	if s.Draining() {
		check(CheckShutdown, fmt.Errorf("shutting down"))
	} else {
		check(CheckShutdown, nil)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	err := s.DB.PingContext(pctx)
	cancel()
	if err != nil {
		// The cause goes to the log; probes are unauthenticated.
		s.log.Warn("readiness: the database does not answer", "err", err)
		err = fmt.Errorf("the database does not answer")
	}
	check(CheckStore, err)
	if n := len(s.LoadErrors); n > 0 {
		// A replica missing a plugin its peers have would answer that
		// plugin's connections wrongly: keep it out of rotation (and a
		// rolling upgrade from going on) until it is fixed.
		check(CheckPlugins, fmt.Errorf("%d plugin file(s) failed to load; the host's log says why", n))
	} else {
		check(CheckPlugins, nil)
	}
	return h
}

// livez answers 200 whenever the process answers at all.
func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	writeHealth(w, r, http.StatusOK, Health{Status: "ok"})
}

// readyz answers 200 when every check passes, else 503 naming the
// failed checks.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	h := s.Ready(r.Context())
	status := http.StatusOK
	if len(h.Failed) > 0 {
		status = http.StatusServiceUnavailable
	}
	writeHealth(w, r, status, h)
}

func writeHealth(w http.ResponseWriter, r *http.Request, status int, h Health) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(h)
	}
}

// healthMiddleware answers LivezPath and ReadyzPath before the guard: a
// load balancer's probe names the host by its address, which the host
// may not serve (421), and neither endpoint changes or reveals anything
// a caller would need to be trusted for. Installed with e.Pre after the
// metrics middleware, so probes are counted under their own route.
func (s *Server) healthMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return next(c)
			}
			switch r.URL.Path {
			case LivezPath:
				c.SetPath(LivezPath)
				s.livez(c.Response(), r)
				return nil
			case ReadyzPath:
				c.SetPath(ReadyzPath)
				s.readyz(c.Response(), r)
				return nil
			}
			return next(c)
		}
	}
}

package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/metrics"
	"github.com/wharfhq/wharf/host/ops"
)

// MetricsPath is where the host's echo serves the Prometheus metrics.
const MetricsPath = "/metrics"

// parseScrapeHash checks Config.MetricsTokenSHA256: empty, or 64 hex digits.
func parseScrapeHash(s string) ([]byte, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("metrics.token_sha256: must be 64 hex digits (the sha256 of the scrape token, as `wharf token new` prints it)")
	}
	return b, nil
}

// installMetrics feeds the registry from the parts and puts its request
// middleware in front of everything on e (before the guard, so that the
// requests the guard refuses are counted too), then mounts MetricsPath.
func (s *Server) installMetrics(scrapeHash []byte) {
	m := s.Metrics
	s.Audit.Observe(m)
	m.WatchAuditQueue(s.Audit.QueueDepth)
	plugins := s.Plugins
	m.WatchPools(func() []metrics.PoolStats {
		out := make([]metrics.PoolStats, 0, len(plugins))
		for _, p := range plugins {
			st := p.PoolStats()
			out = append(out, metrics.PoolStats{Plugin: p.Name(), Size: st.Size, Instances: st.Live, Busy: st.Busy, Waiting: st.Waiting})
		}
		return out
	})
	h := s.Host
	m.WatchLogs(func() (int, int) { return h.LogFollowers(), h.LogViewers() })
	m.WatchFailing(func() []metrics.Failing {
		open := h.FailingConnections()
		out := make([]metrics.Failing, 0, len(open))
		for _, st := range open {
			out = append(out, metrics.Failing{Plugin: st.Plugin, Connection: st.Connection})
		}
		return out
	})
	s.Echo.Pre(m.Middleware())
	s.Echo.GET(MetricsPath, s.serveMetrics(scrapeHash))
}

// serveMetrics answers MetricsPath to whoever may read the metrics: on
// an open host anyone (like everything else), on a closed one a caller
// presenting the scrape token (Config.MetricsTokenSHA256) or an owner's
// credentials. Metrics name plugins, routes and the hosts plugins reach,
// which is the owners' business, so no lesser role reads them. A scraper
// that needs no credentials gets a listener of its own (MetricsHandler).
func (s *Server) serveMetrics(scrapeHash []byte) echo.HandlerFunc {
	handler := s.Metrics.Handler()
	return func(c echo.Context) error {
		if !s.Host.Open() {
			if err := s.metricsAllowed(c, scrapeHash); err != nil {
				return err
			}
		}
		handler.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// metricsAllowed is nil for the scrape token or an owner's bearer; a
// missing or wrong credential is 401, another role 403. Failures count
// against the client like the API's, so the token cannot be guessed.
func (s *Server) metricsAllowed(c echo.Context, scrapeHash []byte) error {
	if err := httpguard.AuthGate(c); err != nil {
		return err
	}
	scheme, bearer, _ := strings.Cut(c.Request().Header.Get("Authorization"), " ")
	bearer = strings.TrimSpace(bearer)
	if !strings.EqualFold(scheme, "Bearer") || bearer == "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="wharf"`)
		return echo.NewHTTPError(http.StatusUnauthorized, "metrics need the scrape token or an owner's token: Authorization: Bearer <token>")
	}
	if scrapeHash != nil {
		sum := sha256.Sum256([]byte(bearer))
		if subtle.ConstantTimeCompare(sum[:], scrapeHash) == 1 {
			return nil
		}
	}
	var caller ops.Caller
	var err error
	if s.Auth != nil {
		caller, err = s.Auth.Bearer(c.Request().Context(), bearer, "",
			auth.Client{Addr: c.RealIP(), UserAgent: c.Request().UserAgent()})
	} else {
		caller, err = s.Host.Authenticate(bearer, "")
	}
	if err != nil {
		httpguard.AuthFailed(c, "metrics: bearer token refused")
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="wharf"`)
		return echo.NewHTTPError(http.StatusUnauthorized, "token refused: metrics need the scrape token or an owner's token")
	}
	if !caller.Owner() {
		return echo.NewHTTPError(http.StatusForbidden, "metrics are for owners and the scrape token")
	}
	return nil
}

// MetricsHandler serves the metrics and the health endpoints without any
// check, for a listener of their own (wharf serve --metrics-listen) on an
// address only the scraper and the probes reach.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, s.Metrics.Handler())
	mux.HandleFunc("GET "+LivezPath, s.livez)
	mux.HandleFunc("GET "+ReadyzPath, s.readyz)
	return mux
}

// CheckMetricsToken checks a metrics.token_sha256 value as New will, for
// a configuration check that runs before the host starts.
func CheckMetricsToken(sha256Hex string) error {
	_, err := parseScrapeHash(sha256Hex)
	return err
}

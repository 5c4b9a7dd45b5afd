package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/metrics"
	"github.com/wharfhq/wharf/host/metrics/metricstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// scrape serves r's Handler and parses what it answers.
func scrape(t *testing.T, r *metrics.Registry) metricstest.Scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q, want the text format", ct)
	}
	s, err := metricstest.Parse(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func value(t *testing.T, s metricstest.Scrape, name string, labels ...string) float64 {
	t.Helper()
	v, err := s.Value(name, labels...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRuntimeAndProcessCollectors(t *testing.T) {
	s := scrape(t, metrics.New())
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_open_fds"} {
		if s[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if v := value(t, s, "go_goroutines"); v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}
}

// TestRegistriesAreSeparate: two hosts in one process do not share or
// collide (the default registry is never used).
func TestRegistriesAreSeparate(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.PluginCall("docker", "get", nil, time.Millisecond)
	if v := value(t, scrape(t, a), "wharf_plugin_calls_total", "plugin", "docker"); v != 1 {
		t.Fatalf("a: %v calls, want 1", v)
	}
	if v := value(t, scrape(t, b), "wharf_plugin_calls_total", "plugin", "docker"); v != 0 {
		t.Fatalf("b saw a's call: %v", v)
	}
}

func TestPluginCallOutcomes(t *testing.T) {
	r := metrics.New()
	r.PluginCall("p", "get", nil, time.Millisecond)
	r.PluginCall("p", "get", pluginapi.NotFound("no such service"), time.Millisecond)
	r.PluginCall("p", "get", &pluginapi.Error{Code: "made-up-by-a-plugin", Message: "x"}, time.Millisecond)
	r.PluginCall("p", "get", errors.New("plain"), time.Millisecond)
	s := scrape(t, r)
	for _, c := range []struct {
		outcome string
		want    float64
	}{{"ok", 1}, {"not_found", 1}, {"internal", 2}} {
		if v := value(t, s, "wharf_plugin_calls_total", "plugin", "p", "operation", "get", "outcome", c.outcome); v != c.want {
			t.Errorf("outcome %s: %v, want %v", c.outcome, v, c.want)
		}
	}
	if got := s.LabelValues("wharf_plugin_calls_total", "outcome"); len(got) != 3 {
		t.Errorf("outcomes %v, want ok, not_found and internal only", got)
	}
	if v := value(t, s, "wharf_plugin_call_duration_seconds", "plugin", "p", "operation", "get"); v != 4 {
		t.Errorf("duration count %v, want 4", v)
	}
}

// TestEgressHostsAreCapped: past MaxEgressHosts distinct hosts, further
// ones share the label "other"; hosts seen before keep theirs.
func TestEgressHostsAreCapped(t *testing.T) {
	r := metrics.New()
	for i := range metrics.MaxEgressHosts + 10 {
		r.EgressRequest(fmt.Sprintf("h%d.example:443", i), 200, "", time.Millisecond)
	}
	r.EgressRequest("h0.example:443", 503, "", time.Millisecond)
	r.EgressRequest("", 0, pluginapi.CodeForbidden, time.Millisecond)
	r.EgressRequest("h1.example:443", 0, "nonsense", time.Millisecond)
	s := scrape(t, r)
	hosts := s.LabelValues("wharf_egress_requests_total", "host")
	if len(hosts) != metrics.MaxEgressHosts+2 {
		t.Fatalf("%d host label values, want %d, other and refused", len(hosts), metrics.MaxEgressHosts)
	}
	if v := value(t, s, "wharf_egress_requests_total", "host", metrics.OtherHost, "status", "200"); v != 10 {
		t.Errorf("other: %v, want 10", v)
	}
	if v := value(t, s, "wharf_egress_requests_total", "host", metrics.RefusedHost, "status", "forbidden"); v != 1 {
		t.Errorf("refused after the cap: %v, want 1", v)
	}
	if v := value(t, s, "wharf_egress_requests_total", "host", "h0.example:443", "status", "503"); v != 1 {
		t.Errorf("h0 503: %v", v)
	}
	if v := value(t, s, "wharf_egress_requests_total", "host", "h1.example:443", "status", "internal"); v != 1 {
		t.Errorf("an unknown code must count as internal: %v", v)
	}
}

func TestEgressRefusedHaveNoHost(t *testing.T) {
	r := metrics.New()
	r.EgressRequest("", 0, pluginapi.CodeForbidden, time.Millisecond)
	if v := value(t, scrape(t, r), "wharf_egress_requests_total", "host", metrics.RefusedHost, "status", "forbidden"); v != 1 {
		t.Fatalf("refused: %v", v)
	}
}

func TestStateGauges(t *testing.T) {
	r := metrics.New()
	s := scrape(t, r)
	if s["wharf_plugin_pool_size"] != nil || s["wharf_log_followers"] != nil {
		t.Fatal("gauges of parts nobody watches are reported")
	}
	depth := 3
	r.WatchPools(func() []metrics.PoolStats {
		return []metrics.PoolStats{{Plugin: "a", Size: 4, Instances: 2, Busy: 1, Waiting: 0}, {Plugin: "b", Size: 8, Waiting: 5}}
	})
	r.WatchLogs(func() (int, int) { return 2, 7 })
	r.WatchAuditQueue(func() int { return depth })
	s = scrape(t, r)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wharf_plugin_pool_size", []string{"plugin", "a"}, 4},
		{"wharf_plugin_pool_instances", []string{"plugin", "a"}, 2},
		{"wharf_plugin_pool_busy", []string{"plugin", "a"}, 1},
		{"wharf_plugin_pool_waiting", []string{"plugin", "b"}, 5},
		{"wharf_log_followers", nil, 2},
		{"wharf_log_viewers", nil, 7},
		{"wharf_audit_queue_depth", nil, 3},
	} {
		if v := value(t, s, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	depth = 0 // read at scrape time
	if v := value(t, scrape(t, r), "wharf_audit_queue_depth"); v != 0 {
		t.Errorf("queue depth not read afresh: %v", v)
	}
}

func TestAuditCommitted(t *testing.T) {
	r := metrics.New()
	r.AuditCommitted(10, 2, 3*time.Millisecond)
	r.AuditCommitted(1, 0, time.Millisecond)
	s := scrape(t, r)
	if v := value(t, s, "wharf_audit_commit_seconds"); v != 2 {
		t.Errorf("commits %v, want 2", v)
	}
	if v := value(t, s, "wharf_audit_writes_total", "result", "ok"); v != 9 {
		t.Errorf("ok writes %v, want 9", v)
	}
	if v := value(t, s, "wharf_audit_writes_total", "result", "error"); v != 2 {
		t.Errorf("failed writes %v, want 2", v)
	}
}

func TestNilRegistryObservesNothing(t *testing.T) {
	var r *metrics.Registry
	r.PluginCall("p", "get", nil, time.Second)
	r.EgressRequest("h:1", 200, "", time.Second)
	r.AuditCommitted(1, 0, time.Second)
	e := echo.New()
	e.Pre(r.Middleware())
	e.GET("/x", func(c echo.Context) error { return c.String(200, "ok") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 200 {
		t.Fatal(rec.Code)
	}
}

// TestMiddleware: requests are counted by route template, never by URL;
// requests for no route, with any URL, share one label; an error's
// status is the one the error handler gives it; made-up methods share one.
func TestMiddleware(t *testing.T) {
	r := metrics.New()
	e := echo.New()
	e.Pre(r.Middleware())
	e.GET("/services/:id", func(c echo.Context) error { return c.String(200, "ok") })
	e.POST("/services/:id", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "taken") })
	api := e.Group("/api/v1", func(next echo.HandlerFunc) echo.HandlerFunc { return next })
	api.GET("/plugins", func(c echo.Context) error { return c.NoContent(204) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	send := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 3 {
		send("GET", fmt.Sprintf("/services/s%d", i))
		send("GET", fmt.Sprintf("/random/%d", i))
		send("GET", fmt.Sprintf("/api/v1/nope%d", i))
	}
	if got := send("POST", "/services/x"); got != 409 {
		t.Fatalf("POST: %d", got)
	}
	send("PURGE", "/services/x")
	send("GET", "/api/v1/plugins")

	s := scrape(t, r)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"method", "GET", "route", "/services/:id", "status", "200"}, 3},
		{[]string{"method", "GET", "route", metrics.Unmatched, "status", "404"}, 6},
		{[]string{"method", "POST", "route", "/services/:id", "status", "409"}, 1},
		{[]string{"method", "OTHER", "route", "/services/:id", "status", "405"}, 1},
		{[]string{"method", "GET", "route", "/api/v1/plugins", "status", "204"}, 1},
	} {
		if v := value(t, s, "wharf_http_requests_total", c.labels...); v != c.want {
			t.Errorf("%v: %v, want %v", c.labels, v, c.want)
		}
	}
	routes := s.LabelValues("wharf_http_requests_total", "route")
	if want := []string{"/api/v1/plugins", "/services/:id", metrics.Unmatched}; fmt.Sprint(routes) != fmt.Sprint(want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if v := value(t, s, "wharf_http_request_duration_seconds", "method", "GET", "route", "/services/:id"); v != 3 {
		t.Errorf("latency count %v, want 3", v)
	}
}

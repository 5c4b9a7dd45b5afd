package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/metrics/metricstest"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
)

// scrape reads the host's /metrics with headers (name, value pairs).
func (h *host) scrape(headers ...string) metricstest.Scrape {
	h.t.Helper()
	a := h.do("GET", server.MetricsPath, "", headers...)
	if a.status != http.StatusOK {
		h.t.Fatalf("scrape: %d %s", a.status, a.body)
	}
	s, err := metricstest.Parse(a.body)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// delta is one expected change of a sample between two scrapes.
type delta struct {
	name   string
	labels []string
	want   float64
}

func checkDeltas(t *testing.T, before, after metricstest.Scrape, ds []delta) {
	t.Helper()
	for _, d := range ds {
		b, err := before.Value(d.name, d.labels...)
		if err != nil {
			t.Fatal(err)
		}
		a, err := after.Value(d.name, d.labels...)
		if err != nil {
			t.Fatal(err)
		}
		if a-b != d.want {
			t.Errorf("%s%v moved by %v, want %v", d.name, d.labels, a-b, d.want)
		}
	}
}

// TestMetricsFollowRealOperations: requests through the REST API to the
// fake plugin and its platform move the HTTP, plugin-call, egress and
// audit metrics by exactly what happened, under the right labels.
func TestMetricsFollowRealOperations(t *testing.T) {
	h := newHost(t, server.Config{})
	platform := platformHost(t, h)
	before := h.scrape()

	created := h.do("POST", "/api/v1/connections/fake1/services", spec, "Content-Type", "application/json")
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	id := serviceID(t, created.body)
	if got := h.do("GET", "/api/v1/connections/fake1/services/"+id, ""); got.status != http.StatusOK {
		t.Fatalf("get: %d %s", got.status, got.body)
	}
	if got := h.do("GET", "/api/v1/connections/fake1/services/missing", ""); got.status != http.StatusNotFound {
		t.Fatalf("get missing: %d %s", got.status, got.body)
	}
	h.do("GET", "/no/such/page/1", "")
	h.do("GET", "/api/v1/no-such-route/2", "")
	u, _ := url.Parse(h.url)
	if got := h.do("GET", "/api/v1/connections", "", "Host", "rebound.example:"+u.Port()); got.status != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding Host: %d", got.status)
	}
	after := h.scrape()

	const svc = "/api/v1/connections/:conn/services"
	checkDeltas(t, before, after, []delta{
		{"wharf_http_requests_total", []string{"method", "POST", "route", svc, "status", "201"}, 1},
		{"wharf_http_requests_total", []string{"method", "GET", "route", svc + "/:id", "status", "200"}, 1},
		{"wharf_http_requests_total", []string{"method", "GET", "route", svc + "/:id", "status", "404"}, 1},
		// No route, wherever asked, and requests the guard refused: one label.
		{"wharf_http_requests_total", []string{"method", "GET", "route", "unmatched", "status", "404"}, 2},
		{"wharf_http_requests_total", []string{"method", "GET", "route", "unmatched", "status", "421"}, 1},
		// The scrape before was counted once it was answered.
		{"wharf_http_requests_total", []string{"method", "GET", "route", server.MetricsPath, "status", "200"}, 1},
		{"wharf_http_request_duration_seconds", []string{"method", "GET", "route", svc + "/:id"}, 2},

		{"wharf_plugin_calls_total", []string{"plugin", "fake", "operation", "create", "outcome", "ok"}, 1},
		{"wharf_plugin_calls_total", []string{"plugin", "fake", "operation", "get", "outcome", "ok"}, 1},
		{"wharf_plugin_calls_total", []string{"plugin", "fake", "operation", "get", "outcome", "not_found"}, 1},
		{"wharf_plugin_call_duration_seconds", []string{"plugin", "fake", "operation", "get"}, 2},

		{"wharf_egress_requests_total", []string{"host", platform, "status", "201"}, 1},
		{"wharf_egress_requests_total", []string{"host", platform, "status", "200"}, 1},
		{"wharf_egress_requests_total", []string{"host", platform, "status", "404"}, 1},
		{"wharf_egress_request_duration_seconds", []string{"host", platform}, 3},

		// The create's start and finish, each its own group commit.
		{"wharf_audit_writes_total", []string{"result", "ok"}, 2},
		{"wharf_audit_writes_total", []string{"result", "error"}, 0},
		{"wharf_audit_commit_seconds", nil, 2},
	})
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if after[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if routes := after.LabelValues("wharf_http_requests_total", "route"); strings.Contains(strings.Join(routes, " "), "missing") ||
		strings.Contains(strings.Join(routes, " "), id) {
		t.Errorf("a raw URL became a route label: %v", routes)
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"wharf_plugin_pool_busy", 0},
		{"wharf_plugin_pool_waiting", 0},
	} {
		if v, _ := after.Value(c.name, "plugin", "fake"); v != c.want {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	size, _ := after.Value("wharf_plugin_pool_size", "plugin", "fake")
	live, _ := after.Value("wharf_plugin_pool_instances", "plugin", "fake")
	if want := float64(h.srv.Plugins[0].PoolStats().Size); size != want || live < 1 || live > size {
		t.Errorf("pool size %v (want %v), instances %v", size, want, live)
	}
	if v, err := after.Value("wharf_audit_queue_depth"); err != nil || v != 0 || after["wharf_audit_queue_depth"] == nil {
		t.Errorf("audit queue depth %v, %v", v, err)
	}
}

// platformHost is the fake platform's host:port, as egress labels it.
func platformHost(t *testing.T, h *host) string {
	t.Helper()
	c, err := h.srv.Connections.Get(context.Background(), "fake1")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Endpoint string }
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestMetricsLogGauges: a follower with two viewers shows in the gauges,
// and leaves them when its viewers go.
func TestMetricsLogGauges(t *testing.T) {
	h := newHost(t, server.Config{})
	created := h.do("POST", "/api/v1/connections/fake1/services", spec, "Content-Type", "application/json")
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	id := serviceID(t, created.body)
	owner := ops.Caller{Actor: "test", Role: ops.RoleOwner}
	var subs []*logfanout.Subscription
	for range 2 {
		s, err := h.srv.Host.FollowLogs(context.Background(), owner, "fake1", id, logfanout.Options{})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	s := h.scrape()
	if f, _ := s.Value("wharf_log_followers"); f != 1 {
		t.Errorf("followers %v, want 1 shared", f)
	}
	if v, _ := s.Value("wharf_log_viewers"); v != 2 {
		t.Errorf("viewers %v, want 2", v)
	}
	for _, sub := range subs {
		sub.Close()
	}
	s = h.scrape()
	if f, _ := s.Value("wharf_log_followers"); f != 0 {
		t.Errorf("followers %v after the viewers left", f)
	}
	if v, _ := s.Value("wharf_log_viewers"); v != 0 || s["wharf_log_viewers"] == nil {
		t.Errorf("viewers %v after they left", v)
	}
}

// TestMetricsAccess: a closed host shows its metrics to the scrape token
// and owners only; the scrape token opens nothing else.
func TestMetricsAccess(t *testing.T) {
	owner, viewer, scraper := strings.Repeat("o", 40), strings.Repeat("v", 40), strings.Repeat("s", 40)
	h := newHost(t, server.Config{
		Tokens: []ops.Token{{Name: "olga", SHA256: ops.HashToken(owner), Role: ops.RoleOwner},
			{Name: "vera", SHA256: ops.HashToken(viewer), Role: ops.RoleViewer}},
		MetricsTokenSHA256: ops.HashToken(scraper),
	})
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	for _, c := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"no credentials", nil, http.StatusUnauthorized},
		{"basic auth", []string{"Authorization", "Basic " + scraper}, http.StatusUnauthorized},
		{"unknown token", bearer(strings.Repeat("x", 40)), http.StatusUnauthorized},
		{"viewer", bearer(viewer), http.StatusForbidden},
		{"owner", bearer(owner), http.StatusOK},
		{"scrape token", bearer(scraper), http.StatusOK},
	} {
		got := h.do("GET", server.MetricsPath, "", c.headers...)
		if got.status != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, got.status, c.want, got.body)
		}
		if c.want == http.StatusOK && !strings.Contains(got.body, "wharf_http_requests_total") {
			t.Errorf("%s: no metrics in\n%.300s", c.name, got.body)
		}
		if c.want != http.StatusOK && strings.Contains(got.body, "wharf_") {
			t.Errorf("%s: metrics leaked in a refusal", c.name)
		}
	}
	if got := h.do("GET", "/api/v1/connections", "", bearer(scraper)...); got.status != http.StatusUnauthorized {
		t.Errorf("the scrape token opened the API: %d", got.status)
	}

	// Its own listener needs nothing, and serves the probes too.
	ml := httptest.NewServer(h.srv.MetricsHandler())
	defer ml.Close()
	for _, path := range []string{server.MetricsPath, server.ReadyzPath, server.LivezPath} {
		resp, err := http.Get(ml.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("metrics listener %s: %d", path, resp.StatusCode)
		}
	}
	if resp, err := http.Get(ml.URL + "/api/v1/connections"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the metrics listener serves the API: %v %v", resp.StatusCode, err)
	}
}

func TestMetricsTokenChecked(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), MetricsTokenSHA256: "not-hex"})
	if err == nil || !strings.Contains(err.Error(), "metrics.token_sha256") {
		t.Fatalf("bad scrape token hash: %v", err)
	}
}

// TestTwoHostsInOneProcess: each host has its own registry.
func TestTwoHostsInOneProcess(t *testing.T) {
	a, b := newHost(t, server.Config{}), newHost(t, server.Config{})
	if got := a.do("GET", "/api/v1/connections/fake1/services", ""); got.status != http.StatusOK {
		t.Fatalf("list: %d %s", got.status, got.body)
	}
	// The middleware counts before net/http sends the end of the answer,
	// so a request answered is a request counted.
	route := []string{"route", "/api/v1/connections/:conn/services"}
	if v, _ := a.scrape().Value("wharf_http_requests_total", route...); v != 1 {
		t.Errorf("host a: %v", v)
	}
	if v, _ := b.scrape().Value("wharf_http_requests_total", route...); v != 0 {
		t.Errorf("host b counted host a's request: %v", v)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/server"
)

// A connection whose plugin keeps trapping is fenced, and every face
// says so: the REST API answers 503 with Retry-After, the connection's
// JSON carries its failing state, the plugin's its policy and count, and
// the metrics the gauge and the trip counter.
func TestFailingConnectionVisibleEverywhere(t *testing.T) {
	mode := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("trap")) }))
	t.Cleanup(mode.Close)
	h := newHost(t, server.Config{
		FailurePolicy: breaker.Policy{Threshold: 2},
		Connections:   []connstore.Connection{{Name: "flaky1", Plugin: "flaky", Config: json.RawMessage(`{"endpoint":"` + mode.URL + `"}`)}},
	}, "./internal/testplugins/flaky")
	get := func() answer { return h.do("GET", "/api/v1/connections/flaky1/services/x", "") }
	for range 2 {
		if a := get(); a.status != http.StatusInternalServerError {
			t.Fatalf("trap: %d %s", a.status, a.body)
		}
	}
	a := get()
	if ra := a.header.Get("Retry-After"); a.status != http.StatusServiceUnavailable || (ra != "30" && ra != "29") ||
		!strings.Contains(a.body, `"retryable":true`) || !strings.Contains(a.body, "connection flaky1 is failing") {
		t.Fatalf("fenced call: %d Retry-After %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}

	var conn ops.Connection
	if a := h.do("GET", "/api/v1/connections/flaky1", ""); a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &conn) != nil {
		t.Fatalf("connection: %d %s", a.status, a.body)
	}
	if f := conn.Failing; f == nil || f.ConsecutiveFailures != 2 || f.Reason != "trap" || f.RetryAt.IsZero() || !strings.Contains(f.LastError, "deliberate trap") {
		t.Fatalf("connection's failing state: %+v", conn.Failing)
	}
	var plugins struct{ Plugins []ops.PluginInfo }
	if a := h.do("GET", "/api/v1/plugins", ""); json.Unmarshal([]byte(a.body), &plugins) != nil {
		t.Fatalf("plugins: %s", a.body)
	}
	for _, p := range plugins.Plugins {
		want := 0
		if p.Name == "flaky" {
			want = 1
		}
		if p.FailingConnections != want || p.FailurePolicy != (ops.FailurePolicyView{ConsecutiveFailures: 2, Backoff: "30s", MaxBackoff: "5m0s"}) {
			t.Errorf("plugin %s: failing %d policy %+v", p.Name, p.FailingConnections, p.FailurePolicy)
		}
	}

	s := h.scrape()
	for _, m := range []struct {
		name   string
		labels []string
	}{
		{"wharf_plugin_connection_failing", []string{"plugin", "flaky", "connection", "flaky1"}},
		{"wharf_plugin_breaker_trips_total", []string{"plugin", "flaky"}},
	} {
		if v, err := s.Value(m.name, m.labels...); err != nil || v != 1 {
			t.Errorf("%s%v = %v (%v), want 1", m.name, m.labels, v, err)
		}
	}
	if v, _ := s.Value("wharf_plugin_connection_failing", "connection", "fake1"); v != 0 {
		t.Errorf("healthy connection in the failing gauge: %v", v)
	}
}

// An embedder's bad failure policy is refused at start, naming the field.
func TestBadFailurePolicyRefused(t *testing.T) {
	cfg := server.Config{DataDir: t.TempDir(), FailurePolicy: breaker.Policy{Backoff: time.Millisecond}}
	cfg.Runtime.CacheDir = opstest.CacheDir()
	s, err := server.New(context.Background(), cfg)
	if err == nil {
		_ = s.Close(context.Background())
		t.Fatal("a 1ms backoff was accepted")
	}
	if !strings.Contains(err.Error(), "FailurePolicy.Backoff: 1ms is not between 1s and 24h") {
		t.Fatalf("error %v: want the field named", err)
	}
}

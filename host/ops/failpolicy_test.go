package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
)

const flakyPkg = "github.com/wharfhq/wharf/internal/testplugins/flaky"

// modeServer tells the flaky plugin what to do and counts the calls that
// reached it.
type modeServer struct {
	mu   sync.Mutex
	mode string
	hits atomic.Int64
	url  string
}

func newModeServer(t *testing.T) *modeServer {
	m := &modeServer{mode: "ok"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		m.mu.Lock()
		defer m.mu.Unlock()
		_, _ = w.Write([]byte(m.mode))
	}))
	t.Cleanup(srv.Close)
	m.url = srv.URL
	return m
}

func (m *modeServer) set(mode string) {
	m.mu.Lock()
	m.mode = mode
	m.mu.Unlock()
}

// fakeClock is the failure policy's clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type flakyEnv struct {
	*opstest.Env
	clock *fakeClock
}

func newFlakyEnv(t *testing.T) *flakyEnv {
	clock := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	e := opstest.New(t, opstest.Options{ExtraPlugins: []string{flakyPkg},
		Runtime:       runtime.Config{CallTimeout: 300 * time.Millisecond},
		FailurePolicy: breaker.Policy{Threshold: 3, Backoff: 30 * time.Second, MaxBackoff: 50 * time.Second},
		Now:           clock.now})
	return &flakyEnv{Env: e, clock: clock}
}

func (e *flakyEnv) connect(t *testing.T, name string, m *modeServer) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]string{"endpoint": m.url})
	if _, err := e.Host.CreateConnection(context.Background(), e.Admin, ops.ConnectionInput{Name: name, Plugin: "flaky", Config: cfg}); err != nil {
		t.Fatal(err)
	}
}

func (e *flakyEnv) get(conn string) (time.Duration, *pluginapi.Error) {
	start := time.Now()
	_, err := e.Host.GetService(context.Background(), e.Admin, conn, "svc")
	return time.Since(start), pluginapi.AsError(err)
}

func (e *flakyEnv) failing(t *testing.T, conn string) *ops.Failing {
	t.Helper()
	c, err := e.Host.GetConnection(context.Background(), e.Admin, conn)
	if err != nil {
		t.Fatal(err)
	}
	return c.Failing
}

// TestFailurePolicyFencesATrappingConnection: three traps in a row open
// the connection's breaker; its calls then fail fast (the plugin is not
// reached) with a retryable unavailable error naming the connection, the
// plugin, the reason and the retry time, while the plugin's other
// connection and the other plugin's go on. After the window one probe
// goes through: a hang reopens it for twice the window (capped), a
// success closes it.
func TestFailurePolicyFencesATrappingConnection(t *testing.T) {
	e := newFlakyEnv(t)
	bad, good := newModeServer(t), newModeServer(t)
	e.connect(t, "bad", bad)
	e.connect(t, "good", good)
	bad.set("trap")

	for i := range 3 {
		took, err := e.get("bad")
		if err == nil || err.Code != pluginapi.CodeInternal || !strings.Contains(err.Message, "deliberate trap") {
			t.Fatalf("trap %d: %v", i, err)
		}
		t.Logf("trapped call %d took %s", i, took)
	}
	if bad.hits.Load() != 3 {
		t.Fatalf("plugin reached %d times, want 3", bad.hits.Load())
	}
	took, err := e.get("bad")
	if err == nil || err.Code != pluginapi.CodeUnavailable || !err.Retryable {
		t.Fatalf("4th call: %v, want a retryable unavailable", err)
	}
	for _, want := range []string{"connection bad", "plugin flaky", "3 times in a row", "trap", "deliberate trap", "2026-12-06T12:00:30Z"} {
		if !strings.Contains(err.Message, want) {
			t.Errorf("message %q lacks %q", err.Message, want)
		}
	}
	if err.Detail[ops.RetryAtDetail] != "2026-12-06T12:00:30Z" || err.Detail[ops.RetryAfterDetail] != int64(30) || err.Detail[ops.PluginDetail] != "flaky" {
		t.Errorf("detail %v", err.Detail)
	}
	if bad.hits.Load() != 3 || took > 50*time.Millisecond {
		t.Fatalf("fenced call reached the plugin (%d hits) or was slow (%s)", bad.hits.Load(), took)
	}
	t.Logf("fenced call took %s", took)
	f := e.failing(t, "bad")
	if f == nil || f.ConsecutiveFailures != 3 || f.Reason != runtime.FaultTrap || !f.RetryAt.Equal(e.clock.now().Add(30*time.Second)) ||
		!f.Since.Equal(e.clock.now()) || !strings.Contains(f.LastError, "deliberate trap") {
		t.Fatalf("failing state %+v", f)
	}

	// Unaffected: the same plugin's other connection, the other plugin.
	if _, err := e.get("good"); err != nil {
		t.Fatalf("other connection of the plugin: %v", err)
	}
	if _, err := e.Host.ListServices(context.Background(), e.Admin, opstest.Conn, ops.ListOptions{}); err != nil {
		t.Fatalf("other plugin: %v", err)
	}
	if e.failing(t, "good") != nil {
		t.Fatal("healthy connection shown failing")
	}
	plugins, _ := e.Host.ListPlugins(context.Background(), e.Admin)
	for _, p := range plugins {
		if p.Name == "flaky" && (p.FailingConnections != 1 || p.FailurePolicy != (ops.FailurePolicyView{ConsecutiveFailures: 3, Backoff: "30s", MaxBackoff: "50s"})) {
			t.Errorf("plugin info %+v %+v", p.FailingConnections, p.FailurePolicy)
		}
	}

	// The window ends: one probe, which hangs until the call timeout.
	e.clock.advance(30 * time.Second)
	bad.set("hang")
	if _, err := e.get("bad"); err == nil || err.Code != pluginapi.CodeTimeout {
		t.Fatalf("probe: %v, want the plugin's timeout", err)
	}
	if bad.hits.Load() != 4 {
		t.Fatalf("probe: %d hits, want 4", bad.hits.Load())
	}
	f = e.failing(t, "bad")
	if f == nil || f.Reason != runtime.FaultTimeout || f.ConsecutiveFailures != 4 || !f.RetryAt.Equal(e.clock.now().Add(50*time.Second)) {
		t.Fatalf("after a failed probe: %+v, want 50s (twice 30s, capped)", f)
	}
	e.clock.advance(49 * time.Second)
	if _, err := e.get("bad"); err == nil || err.Code != pluginapi.CodeUnavailable || bad.hits.Load() != 4 {
		t.Fatalf("before the longer window ended: %v (%d hits)", err, bad.hits.Load())
	}
	e.clock.advance(time.Second)
	bad.set("ok")
	if _, err := e.get("bad"); err != nil {
		t.Fatalf("successful probe: %v", err)
	}
	if f := e.failing(t, "bad"); f != nil {
		t.Fatalf("closed breaker still shown: %+v", f)
	}
	if _, err := e.get("bad"); err != nil || bad.hits.Load() != 6 {
		t.Fatalf("after recovery: %v (%d hits)", err, bad.hits.Load())
	}
}

// TestFailurePolicyCountsOnlyTrapsInARow: a plugin's own error answer
// (not_found) neither counts nor resets, a success resets, and a
// deleted connection's breaker goes with it.
func TestFailurePolicyCountsOnlyTrapsInARow(t *testing.T) {
	e := newFlakyEnv(t)
	m := newModeServer(t)
	e.connect(t, "c", m)
	for _, mode := range []string{"trap", "trap", "notfound", "ok", "trap", "trap", "notfound", "notfound"} {
		m.set(mode)
		_, _ = e.get("c")
	}
	if f := e.failing(t, "c"); f != nil {
		t.Fatalf("two traps since the last success: %+v", f)
	}
	m.set("trap")
	_, _ = e.get("c")
	if f := e.failing(t, "c"); f == nil {
		t.Fatal("three traps since the last success, not-found answers between: want failing")
	}
	if err := e.Host.DeleteConnection(context.Background(), e.Admin, "c"); err != nil {
		t.Fatal(err)
	}
	e.connect(t, "c", m)
	if f := e.failing(t, "c"); f != nil {
		t.Fatalf("a new connection of a deleted one's name inherited its breaker: %+v", f)
	}
}

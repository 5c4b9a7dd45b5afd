package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// A new version of a plugin swapped in (here: its manifest changed, which
// reloads it) closes the breakers of its failing connections at once, and
// the manifest's failure_policy wins over the host's.
func TestHotPlugResetsFailingConnections(t *testing.T) {
	var hits atomic.Int64
	mode := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("trap"))
	}))
	t.Cleanup(mode.Close)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "flaky.wasm")
	copyFile(t, wasmbuild.Build(t, "./internal/testplugins/flaky"), wasm)
	cfg := server.Config{DataDir: t.TempDir(), PluginsDir: dir, Logger: slog.New(slog.DiscardHandler),
		FailurePolicy: breaker.Policy{Threshold: 2},
		Connections:   []connstore.Connection{{Name: "flaky1", Plugin: "flaky", Config: json.RawMessage(`{"endpoint":"` + mode.URL + `"}`)}}}
	cfg.Runtime.CacheDir = opstest.CacheDir()
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx, owner := context.Background(), ops.Caller{Actor: "olga", Role: ops.RoleOwner}
	failing := func() *ops.Failing {
		c, err := s.Host.GetConnection(ctx, owner, "flaky1")
		if err != nil {
			t.Fatal(err)
		}
		return c.Failing
	}
	for range 2 {
		_, _ = s.Host.GetService(ctx, owner, "flaky1", "x")
	}
	if failing() == nil {
		t.Fatal("two traps with a threshold of 2: want failing")
	}

	if err := os.WriteFile(filepath.Join(dir, "flaky.json"), []byte(`{"failure_policy":{"consecutive_failures":3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Host.SyncPluginFile(ctx, owner, wasm, true); err != nil || ch.Change != "replaced" {
		t.Fatalf("sync: %+v %v", ch, err)
	}
	if f := failing(); f != nil {
		t.Fatalf("still failing after a new version came in: %+v", f)
	}
	before := hits.Load()
	_, _ = s.Host.GetService(ctx, owner, "flaky1", "x")
	if hits.Load() != before+1 {
		t.Fatal("the call after the swap did not reach the plugin")
	}
	p, err := s.Host.GetPlugin(ctx, owner, "flaky")
	if err != nil || p.FailurePolicy.ConsecutiveFailures != 3 {
		t.Fatalf("policy %+v (%v): want the manifest's 3 over the host's 2", p.FailurePolicy, err)
	}
	// Two more traps (three in all since the swap) open it again.
	_, _ = s.Host.GetService(ctx, owner, "flaky1", "x")
	if failing() != nil {
		t.Fatal("failing after 2 traps under the manifest's threshold of 3")
	}
	_, _ = s.Host.GetService(ctx, owner, "flaky1", "x")
	if failing() == nil {
		t.Fatal("3 traps under the manifest's threshold of 3: want failing")
	}
}

package conformance

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// HostOptions shape a test host.
type HostOptions struct {
	// Plugins are plugin package folders relative to the module root, e.g. "./plugins/docker".
	Plugins []string
	Faces   []Face
	// EgressTimeout bounds each platform request (default 5s), so that the
	// "platform hangs" case ends quickly.
	EgressTimeout time.Duration
	// CallTimeout bounds a plugin call (default twice EgressTimeout).
	CallTimeout time.Duration
	// MemoryLimitBytes bounds a plugin instance's memory (default the runtime's).
	MemoryLimitBytes uint64
	// AllowLoadErrors lets plugins fail to load (the test checks them itself).
	AllowLoadErrors bool
}

// Face is a server face (the REST API, the portal).
type Face = server.Face

// StartHost builds the plugins to wasm and runs a whole host with a fresh
// data folder on an httptest server, closed at the end of the test.
func StartHost(t testing.TB, o HostOptions) (*server.Server, *Client) {
	t.Helper()
	dir := t.TempDir()
	logDone := new(atomic.Bool)
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range o.Plugins {
		wasm := wasmbuild.Build(t, p)
		b, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plugins, filepath.Base(wasm)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.EgressTimeout == 0 {
		o.EgressTimeout = 5 * time.Second
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 2 * o.EgressTimeout
	}
	cache := filepath.Join(os.TempDir(), "wharf-test-compilation-cache")
	srv, err := server.New(context.Background(), server.Config{
		DataDir:    filepath.Join(dir, "data"),
		PluginsDir: plugins,
		Runtime:    runtime.Config{CacheDir: cache, CallTimeout: o.CallTimeout, MemoryLimitBytes: o.MemoryLimitBytes},
		Egress:     egress.Options{DefaultTimeout: o.EgressTimeout, MaxTimeout: o.EgressTimeout},
		Faces:      o.Faces,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t, logDone}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.LoadErrors) > 0 && !o.AllowLoadErrors {
		t.Fatalf("plugins failed to load: %v", srv.LoadErrors)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		defer logDone.Store(true)
		hs.Close()
		_ = srv.Close(context.Background())
	})
	return srv, &Client{Base: hs.URL + "/api/v1"}
}

// testWriter sends the host's log to the test's log while the test runs,
// and drops what background goroutines write after it ended.
type testWriter struct {
	t    testing.TB
	done *atomic.Bool
}

func (w testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(string(p))
	}
	return len(p), nil
}

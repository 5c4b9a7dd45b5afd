// Package conformance runs the public conformance kit (pluginkit/conformance)
// against Wharf's own plugins and emulators, and holds the host-level tests
// built on it (misbehaving plugins, the demo, Docker end to end).
package conformance

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginkit"
	"github.com/wharfhq/wharf/pluginkit/conformance"
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
// data folder (pluginkit.StartHost), closed at the end of the test.
func StartHost(t testing.TB, o HostOptions) (*server.Server, *Client) {
	t.Helper()
	var wasm []string
	for _, p := range o.Plugins {
		wasm = append(wasm, wasmbuild.Build(t, p))
	}
	logDone := new(atomic.Bool)
	h, err := pluginkit.StartHost(context.Background(), pluginkit.HostConfig{
		Plugins:          wasm,
		EgressTimeout:    o.EgressTimeout,
		CallTimeout:      o.CallTimeout,
		MemoryLimitBytes: o.MemoryLimitBytes,
		CacheDir:         filepath.Join(os.TempDir(), "wharf-test-compilation-cache"),
		Faces:            o.Faces,
		Logger:           slog.New(slog.NewTextHandler(testWriter{t, logDone}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		AllowLoadErrors:  o.AllowLoadErrors,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer logDone.Store(true)
		_ = h.Close(context.Background())
	})
	return h.Server, h.API
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

// The kit's types and functions under the names these tests use.
type (
	Client   = conformance.Client
	Platform = conformance.Platform
	Native   = conformance.Native
	Fixture  = conformance.Fixture
)

var (
	Run         = conformance.Run
	LoadFixture = conformance.LoadFixture
	Eventually  = conformance.Eventually
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func svcPath(conn, id string) string {
	return "/connections/" + url.PathEscape(conn) + "/services/" + url.PathEscape(id)
}

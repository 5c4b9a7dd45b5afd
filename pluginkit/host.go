package pluginkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/plugindir"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/pluginkit/conformance"
)

// HostConfig shapes a host started by StartHost.
type HostConfig struct {
	// Plugins are .wasm files, copied into the host's plugins folder.
	Plugins []string
	// EgressTimeout bounds each platform request (default 5s), so that the
	// conformance scenario's "platform hangs" step ends quickly.
	EgressTimeout time.Duration
	// CallTimeout bounds a plugin call (default twice EgressTimeout).
	CallTimeout time.Duration
	// MemoryLimitBytes bounds a plugin instance's memory (default the runtime's).
	MemoryLimitBytes uint64
	// CacheDir keeps compiled plugins between runs ("" compiles each time).
	CacheDir string
	// Faces are the host's faces; nil serves the REST API alone.
	Faces []server.Face
	// Logger receives the host's log (nil discards it).
	Logger *slog.Logger
	// WatchPlugins follows the plugins folder (Host.PluginsDir) as a
	// production host does: a .wasm written there is loaded, a changed one
	// swapped in, a removed one unloaded, within a fraction of a second.
	WatchPlugins bool
	// AllowLoadErrors starts the host even if a plugin fails to load
	// (Host.LoadErrors says why); otherwise StartHost fails.
	AllowLoadErrors bool
}

// Host is a whole Wharf host on a loopback port with a fresh data folder,
// its API at API.Base.
type Host struct {
	Server *server.Server
	URL    string // e.g. http://127.0.0.1:40123
	API    *conformance.Client
	// LoadErrors are the plugins that failed to load (with AllowLoadErrors).
	LoadErrors []error
	// PluginsDir is the host's plugins folder, where uploads go.
	PluginsDir string

	dir  string
	http *http.Server
}

// StartHost starts a host serving the plugins of c; Close stops it and
// removes its data folder.
func StartHost(ctx context.Context, c HostConfig) (*Host, error) {
	dir, err := os.MkdirTemp("", "wharf-pluginkit-")
	if err != nil {
		return nil, err
	}
	h := &Host{dir: dir}
	fail := func(err error) (*Host, error) {
		_ = h.Close(ctx)
		return nil, err
	}
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return fail(err)
	}
	for _, p := range c.Plugins {
		b, err := os.ReadFile(p)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(plugins, filepath.Base(p)), b, 0o644); err != nil {
			return fail(err)
		}
	}
	if c.EgressTimeout == 0 {
		c.EgressTimeout = 5 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 2 * c.EgressTimeout
	}
	if c.Faces == nil {
		c.Faces = []server.Face{api.Face(api.Options{})}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(dir, "cache")
	}
	h.PluginsDir = plugins
	srv, err := server.New(ctx, server.Config{
		DataDir:      filepath.Join(dir, "data"),
		PluginsDir:   plugins,
		WatchPlugins: c.WatchPlugins,
		PluginsWatch: plugindir.Config{Debounce: 50 * time.Millisecond},
		Runtime:      runtime.Config{CacheDir: c.CacheDir, CallTimeout: c.CallTimeout, MemoryLimitBytes: c.MemoryLimitBytes},
		Egress:       egress.Options{DefaultTimeout: c.EgressTimeout, MaxTimeout: c.EgressTimeout},
		Faces:        c.Faces,
		Logger:       c.Logger,
	})
	if err != nil {
		return fail(err)
	}
	h.Server, h.LoadErrors = srv, srv.LoadErrors
	if len(srv.LoadErrors) > 0 && !c.AllowLoadErrors {
		return fail(fmt.Errorf("plugins failed to load: %w", errors.Join(srv.LoadErrors...)))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	h.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.http.Serve(ln) }()
	h.URL = "http://" + ln.Addr().String()
	h.API = &conformance.Client{Base: h.URL + "/api/v1"}
	return h, nil
}

// Close stops the host and removes its data folder.
func (h *Host) Close(ctx context.Context) error {
	var errs []error
	if h.http != nil {
		errs = append(errs, h.http.Close())
	}
	if h.Server != nil {
		errs = append(errs, h.Server.Close(ctx))
	}
	errs = append(errs, os.RemoveAll(h.dir))
	return errors.Join(errs...)
}

// StartTestHost is StartHost for a test: it fails the test if the host
// does not start, and closes the host when the test and its cleanups
// (those of conformance.Run included) are done.
func StartTestHost(t testing.TB, c HostConfig) *Host {
	t.Helper()
	h, err := StartHost(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

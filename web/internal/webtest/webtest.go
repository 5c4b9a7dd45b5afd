// Package webtest assembles a real Wharf host for the portal's tests: SQLite
// in a temporary directory, the wasm runtime, real plugins built to wasm, and
// platform emulators on httptest servers.
package webtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/emulators/docker"
	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// Options choose what the host runs.
type Options struct {
	// HealthInterval turns on the periodic connection checks.
	HealthInterval time.Duration
	// Docker tunes the Docker emulator behind the "swarm" connection.
	Docker dockeremu.Options
	// Peak adds the Peak plugin and a "peak" connection to its emulator.
	Peak bool
	// PeakOptions tune the Peak emulator.
	PeakOptions peakemu.Options
	// ECS adds the ECS plugin and an "ecs" connection to its emulator.
	ECS bool
	// ECSOptions tune the ECS emulator.
	ECSOptions ecsemu.Options
	// ExtraPlugins are more plugin packages (such as
	// "./internal/testplugins/panics"), each with a connection named like
	// its folder and an empty config.
	ExtraPlugins []string
	// Tokens turn authentication on.
	Tokens []ops.Token
	// Faces are mounted on the host's echo (the portal under test).
	Faces []server.Face
	// DownConnection adds a connection "down" whose platform never answers.
	DownConnection bool
	// Labels are the labels of connections by name (swarm, peak, ecs …).
	Labels map[string]map[string]string
	// SSO, if set, is called with the host's URL (known before the host
	// starts) and returns the OpenID providers to configure; the host's
	// URL is then its public URL.
	SSO func(baseURL string) []oidc.Config
	// Bindings are the config's role bindings.
	Bindings []access.Binding
	// Webhooks are the host's outgoing webhooks.
	Webhooks []webhooks.Subscription
	// PluginsDir puts the plugins in a plugins folder of their own
	// (Env.PluginsDir), where uploads go, instead of loading the files.
	PluginsDir bool
}

// Env is a running host with its emulators.
type Env struct {
	Server    *server.Server
	Host      *ops.Host
	HTTP      *httptest.Server
	URL       string
	Docker    *dockeremu.Server
	DockerURL string
	Peak      *peakemu.Server
	ECS       *ecsemu.Server
	// PluginsDir is the plugins folder (Options.PluginsDir).
	PluginsDir string
}

// New starts a host with a "swarm" connection to a Docker emulator (and
// the other platforms opts ask for).
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	env := &Env{}
	env.Docker = dockeremu.New(opts.Docker)
	dsrv := httptest.NewServer(env.Docker)
	t.Cleanup(dsrv.Close)
	env.DockerURL = dsrv.URL

	files := []string{wasmbuild.Build(t, "./plugins/docker")}
	conns := []connstore.Connection{{Name: "swarm", Plugin: "docker", Config: mustJSON(t, env.Docker.DemoConfig(dsrv.URL))}}
	if opts.Peak {
		env.Peak = peakemu.New(opts.PeakOptions)
		psrv := httptest.NewServer(env.Peak)
		t.Cleanup(psrv.Close)
		files = append(files, wasmbuild.Build(t, "./plugins/peak"))
		conns = append(conns, connstore.Connection{Name: "peak", Plugin: "peak", Config: mustJSON(t, env.Peak.DemoConfig(psrv.URL))})
	}
	if opts.ECS {
		env.ECS = ecsemu.New(opts.ECSOptions)
		esrv := httptest.NewServer(env.ECS)
		t.Cleanup(esrv.Close)
		files = append(files, wasmbuild.Build(t, "./plugins/ecs"))
		conns = append(conns, connstore.Connection{Name: "ecs", Plugin: "ecs", Config: mustJSON(t, env.ECS.DemoConfig(esrv.URL))})
	}
	for _, pkg := range opts.ExtraPlugins {
		files = append(files, wasmbuild.Build(t, pkg))
		name := path.Base(pkg)
		conns = append(conns, connstore.Connection{Name: name, Plugin: name, Config: json.RawMessage(`{}`)})
	}
	if opts.DownConnection {
		// A listener that is closed at once: connections are refused.
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		conns = append(conns, connstore.Connection{Name: "down", Plugin: "docker", Config: mustJSON(t, env.Docker.DemoConfig(dead.URL))})
	}
	for i := range conns {
		conns[i].Labels = opts.Labels[conns[i].Name]
	}
	// Listening first gives the host its URL before it starts: an
	// identity provider must know where to send users back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("webtest: listen: %v", err)
	}
	env.URL = "http://" + ln.Addr().String()
	cfg := server.Config{
		DataDir:     t.TempDir(),
		PluginFiles: files,
		Tokens:      opts.Tokens,
		Connections: conns,
		Faces:       opts.Faces,
		Bindings:    opts.Bindings,
		Webhooks:    opts.Webhooks,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Off unless asked: tests that count calls must not see checks.
		HealthInterval: opts.HealthInterval,
	}
	if opts.PluginsDir {
		env.PluginsDir = t.TempDir()
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil {
				err = os.WriteFile(filepath.Join(env.PluginsDir, filepath.Base(f)), b, 0o644)
			}
			if err != nil {
				t.Fatalf("webtest: plugins folder: %v", err)
			}
		}
		cfg.PluginFiles, cfg.PluginsDir = nil, env.PluginsDir
	}
	if opts.SSO != nil {
		cfg.SSO = opts.SSO(env.URL)
		cfg.PublicURL = env.URL
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("webtest: server: %v", err)
	}
	env.Server, env.Host = srv, srv.Host
	env.HTTP = httptest.NewUnstartedServer(srv.Handler())
	env.HTTP.Listener.Close()
	env.HTTP.Listener = ln
	env.HTTP.Start()
	t.Cleanup(func() {
		env.HTTP.CloseClientConnections()
		env.HTTP.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(cctx)
	})
	return env
}

// Admin is a caller with every right, for test setup.
var Admin = ops.Caller{Actor: "test-setup", Role: ops.RoleAdmin}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

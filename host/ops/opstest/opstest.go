// Package opstest assembles a real host for tests (of ops, api, the CLI and
// the web portal): a SQLite file, the
// audit log, the connection store, the wasm runtime with the fake plugin,
// the egress client and the fake platform on an httptest.Server.
package opstest

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// PlatformToken is the secret the fake platform accepts.
const PlatformToken = "s3cr3t-platform-token"

// Conn is the name of the connection New creates.
const Conn = "fake1"

// Env is an assembled host.
type Env struct {
	Host        *ops.Host
	Platform    *fakeplatform.Server
	PlatformURL string
	Audit       *audit.Log
	Conns       *connstore.Store
	DB          *sql.DB
	Runtime     *runtime.Runtime
	Plugins     []*runtime.Plugin
	Dir         string
	// Server is the whole host; Close it to stop it early (a restart).
	Server *server.Server
	// Admin is a caller with the admin role.
	Admin ops.Caller
}

// Options shape the Env.
type Options struct {
	Tokens []ops.Token
	// NoConnection skips creating the Conn connection.
	NoConnection bool
	// ExtraPlugins are more plugin packages to build and load.
	ExtraPlugins []string
	// Logger receives the host's logs (plugins' log lines included);
	// default: discarded.
	Logger *slog.Logger
	// DataDir, if set, is the data folder to use (another Env's Dir after
	// its Close: a restart); default: a new one.
	DataDir string
	// Reconcile bounds the recovery at start (server.Config.Reconcile).
	Reconcile ops.ReconcileOptions
	// Runtime sets the plugin limits (CacheDir is always CacheDir()).
	Runtime runtime.Config
	// FailurePolicy and Now are the host's failure policy and its clock.
	FailurePolicy breaker.Policy
	Now           func() time.Time
}

// PluginPath builds the fake plugin (once per test process).
func PluginPath(t testing.TB) string {
	return wasmbuild.Build(t, "github.com/wharfhq/wharf/host/ops/opstest/fakeplugin")
}

// CacheDir is a compilation cache shared by the test processes.
func CacheDir() string { return filepath.Join(os.TempDir(), "wharf-opstest-cache") }

// New assembles a host; everything is closed at the end of the test.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	ctx := context.Background()
	dir := o.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	files := []string{PluginPath(t)}
	for _, pkg := range o.ExtraPlugins {
		files = append(files, wasmbuild.Build(t, pkg))
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rcfg := o.Runtime
	rcfg.CacheDir = CacheDir()
	hs, err := server.New(ctx, server.Config{
		DataDir:       dir,
		PluginFiles:   files,
		Runtime:       rcfg,
		Tokens:        o.Tokens,
		Logger:        logger,
		FailurePolicy: o.FailurePolicy,
		Now:           o.Now,
		Reconcile:     o.Reconcile,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hs.Close(context.Background()) })
	if len(hs.LoadErrors) > 0 {
		t.Fatalf("plugins not loaded: %v", hs.LoadErrors)
	}
	h, al, cs, db, rt, plugins := hs.Host, hs.Audit, hs.Connections, hs.DB, hs.Runtime, hs.Plugins
	plat := fakeplatform.New(PlatformToken)
	srv := httptest.NewServer(plat)
	t.Cleanup(srv.Close)
	e := &Env{Server: hs, Host: h, Platform: plat, PlatformURL: srv.URL, Audit: al, Conns: cs, DB: db, Runtime: rt,
		Plugins: plugins, Dir: dir, Admin: ops.Caller{Actor: "test-admin", Role: ops.RoleAdmin}}
	if !o.NoConnection {
		if _, err := h.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: Conn, Plugin: "fake", Config: e.Config()}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// Config is a working connection config for the fake platform.
func (e *Env) Config() []byte {
	return []byte(`{"endpoint":"` + e.PlatformURL + `","token":"` + PlatformToken + `"}`)
}

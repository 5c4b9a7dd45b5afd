package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/demo"
	"github.com/wharfhq/wharf/web"
)

// serveOptions are the flags of "wharf serve".
type serveOptions struct {
	listen     string
	dataDir    string
	pluginsDir string
	configFile string
	demo       bool
	logLevel   string
	// ready, when set (tests), receives the listening address.
	ready func(addr string)
}

// fileConfig is the --config file: decoded strictly.
type fileConfig struct {
	Connections []struct {
		Name   string          `json:"name"`
		Plugin string          `json:"plugin"`
		Config json.RawMessage `json:"config"`
	} `json:"connections"`
	Tokens []ops.Token `json:"tokens"`
}

func readFileConfig(path string) (fileConfig, error) {
	var fc fileConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fc, fmt.Errorf("config file %s: %w", path, err)
	}
	if dec.More() {
		return fc, fmt.Errorf("config file %s: more than one JSON value", path)
	}
	return fc, nil
}

func (a *app) serveCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Wharf host: REST API, web portal, plugins, audit log",
		Long: `Runs the host until SIGINT or SIGTERM. The data folder holds the SQLite
database (connections, audit log), the key that encrypts connection configs,
and the plugins' compilation cache. Every *.wasm in the plugins folder is
loaded. Without tokens in the config file the host runs in OPEN mode: every
caller is an admin.

Config file (JSON, unknown fields refused):
  {"connections": [{"name": "local", "plugin": "docker", "config": {...}}],
   "tokens": [{"name": "ci", "sha256": "<hex sha256 of the token>", "role": "operator"}]}
Roles: viewer, operator, admin.`,
		Example: `  wharf serve
  wharf serve --listen 0.0.0.0:8080 --data /var/lib/wharf --plugins /usr/lib/wharf/plugins --config wharf.json
  wharf serve --demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.dataDir, "data", "./data", "data folder: SQLite file, key file, compilation cache")
	f.StringVar(&o.pluginsDir, "plugins", "./dist/plugins", "folder of plugin .wasm files")
	f.StringVar(&o.configFile, "config", "", "JSON config file: connections and tokens")
	f.BoolVar(&o.demo, "demo", false, "start built-in platform emulators with demo services and connect to them")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func (a *app) serve(ctx context.Context, o *serveOptions) (err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))

	var fc fileConfig
	if o.configFile != "" {
		if fc, err = readFileConfig(o.configFile); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	db, err := store.Open(filepath.Join(o.dataDir, "wharf.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	auditLog, err := audit.New(db)
	if err != nil {
		return err
	}
	defer auditLog.Close()
	key, err := connstore.LoadOrCreateKey(filepath.Join(o.dataDir, "connections.key"))
	if err != nil {
		return err
	}
	conns, err := connstore.New(db, key)
	if err != nil {
		return err
	}

	rt, err := runtime.New(ctx, runtime.Config{CacheDir: filepath.Join(o.dataDir, "cache"), Logger: log})
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(context.Background()) }()
	var plugins []*runtime.Plugin
	if st, statErr := os.Stat(o.pluginsDir); statErr != nil || !st.IsDir() {
		log.Warn("plugins folder not found: no plugins loaded", "dir", o.pluginsDir)
	} else {
		var errs []error
		plugins, errs = rt.LoadDir(ctx, o.pluginsDir)
		for _, e := range errs {
			log.Error("plugin not loaded", "err", e)
		}
	}
	log.Info("plugins loaded", "count", len(plugins), "dir", o.pluginsDir)

	eg := egress.New(egress.Options{Logger: log})
	defer eg.Close()
	host, err := ops.New(ops.Config{Plugins: plugins, Connections: conns, Audit: auditLog, Egress: eg, Logger: log, Tokens: fc.Tokens})
	if err != nil {
		return err
	}
	defer host.Close()

	system := ops.Caller{Actor: "system", Role: ops.RoleAdmin, RequestID: "startup"}
	for _, c := range fc.Connections {
		if _, err := host.PutConnection(ctx, system, ops.ConnectionInput{Name: c.Name, Plugin: c.Plugin, Config: c.Config}); err != nil {
			return fmt.Errorf("config file: connection %s: %w", c.Name, err)
		}
		log.Info("connection from the config file", "connection", c.Name, "plugin", c.Plugin)
	}

	// ---- DEMO MODE HOOK (the lead's internal/demo): emulators + connections.
	if o.demo {
		demoConns, stopDemo, err := demo.Start(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer stopDemo()
		for _, c := range demoConns {
			if _, err := host.PutConnection(ctx, system, ops.ConnectionInput{Name: c.Name, Plugin: c.Plugin, Config: c.Config}); err != nil {
				log.Error("demo connection not created", "connection", c.Name, "err", err)
				continue
			}
			log.Info("demo connection", "connection", c.Name, "plugin", c.Plugin)
		}
	}
	// ---- end of demo mode hook

	e := api.New(host, api.Options{Logger: log})
	if err := web.Register(e, host, web.Options{Logger: log}); err != nil {
		return fmt.Errorf("web portal: %w", err)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	// Followed log streams end when the host closes its followers.
	srv.RegisterOnShutdown(host.Close)
	log.Info("wharf listening", "url", "http://"+ln.Addr().String(), "open_mode", host.Open())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

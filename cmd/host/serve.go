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
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
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
	// debugListen, when set, serves Go's profiler (net/http/pprof).
	debugListen string
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
	f, err := os.Open(path)
	if err != nil {
		return fc, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	// Bounded like every JSON the host reads (1 MiB, 64 levels), before parsing.
	b, err := jsonlimit.Body.Read(f)
	if err != nil {
		return fc, fmt.Errorf("config file %s: %w", path, err)
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
	f.StringVar(&o.debugListen, "debug-listen", "", "serve Go's profiler (/debug/pprof/) on this address; unauthenticated, so keep it on loopback")
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
	conns := make([]connstore.Connection, 0, len(fc.Connections))
	for _, c := range fc.Connections {
		conns = append(conns, connstore.Connection{Name: c.Name, Plugin: c.Plugin, Config: c.Config})
	}
	if o.demo {
		demoConns, stopDemo, err := demo.Start(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer stopDemo()
		for _, c := range demoConns {
			log.Info("demo connection", "connection", c.Name, "plugin", c.Plugin)
		}
		conns = append(conns, demoConns...)
	}
	pluginsDir := o.pluginsDir
	if st, statErr := os.Stat(pluginsDir); statErr != nil || !st.IsDir() {
		log.Warn("plugins folder not found: no plugins loaded", "dir", pluginsDir)
		pluginsDir = ""
	}

	s, err := server.New(ctx, server.Config{
		DataDir:     o.dataDir,
		PluginsDir:  pluginsDir,
		Tokens:      fc.Tokens,
		Connections: conns,
		Egress:      egress.Options{Logger: log},
		Faces:       []server.Face{api.Face(api.Options{Logger: log}), web.Face(web.Options{Logger: log})},
		Logger:      log,
	})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close(context.Background()) }()
	host := s.Host
	log.Info("plugins loaded", "count", len(s.Plugins), "dir", o.pluginsDir)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	if o.debugListen != "" {
		stop, err := serveDebug(o.debugListen, log)
		if err != nil {
			return fmt.Errorf("--debug-listen: %w", err)
		}
		defer stop()
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
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

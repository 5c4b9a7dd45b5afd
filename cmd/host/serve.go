package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/webhooks"
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
	// metricsListen, when set, serves /metrics and the probes unauthenticated.
	metricsListen string
	// On SIGTERM readyz fails, shutdownDelay passes (load balancers
	// notice), then requests, plugin calls and audit writes get
	// shutdownTimeout to finish.
	shutdownDelay, shutdownTimeout time.Duration

	// Who the host trusts: its names, other sites, proxies.
	publicURL      string
	allowedHosts   []string
	allowedOrigins []string
	trustedProxies []string
	// openOnNetwork allows open mode (no tokens) on a non-loopback listener.
	openOnNetwork bool
	// Server limits.
	readTimeout, idleTimeout time.Duration
	maxConns, maxConnsPerIP  int
	viewersPerClient         int
	// Plugin limits (host/runtime.Config).
	pluginWait         time.Duration
	pluginMemoryMiB    uint64
	pluginCallsPerConn int
	// failure is the plugins' failure policy (--plugin-failure-*).
	failure         breaker.Policy
	healthInterval  time.Duration
	watchPlugins    bool
	pluginUploadMiB int

	// database is --database: a SQLite file path, sqlite:PATH or a
	// postgres:// URL.
	database string
	// connectionsKeyFile is --connections-key-file (required on
	// PostgreSQL, unless WHARF_CONNECTIONS_KEY holds the key).
	connectionsKeyFile string
	// checkOnly is --check-config: check everything and exit.
	checkOnly bool

	// from says where each flag not left at its default was set when that
	// was not the command line (WHARF_X, the config file's serve.x);
	// sourceProblems are those sources' bad values; loaded is the config
	// file, once read.
	from           map[string]string
	sourceProblems []error
	loaded         *loadedConfig

	// ready, when set (tests), receives the listening address.
	ready func(addr string)
}

// fileConfig is the --config file: decoded strictly, after its $env and
// $file references are replaced (config_refs.go).
type fileConfig struct {
	Connections []struct {
		Name   string          `json:"name"`
		Plugin string          `json:"plugin"`
		Config json.RawMessage `json:"config"`
		// Labels replace the stored labels when given; absent keeps them.
		Labels map[string]string `json:"labels"`
		// ApprovedHosts are the plugin's declared hosts this connection may
		// reach (without credentials); the file replaces what is stored.
		ApprovedHosts []string `json:"approved_hosts"`
	} `json:"connections"`
	Tokens []ops.Token `json:"tokens"`
	// SSO are OpenID providers by name: sso.<name>.issuer, client_id …
	SSO map[string]oidc.Config `json:"sso"`
	// Bindings give users, groups and tokens roles; they replace the
	// config bindings of the last start.
	Bindings []struct {
		Subject access.Subject `json:"subject"`
		Role    access.Role    `json:"role"`
		Scope   *access.Scope  `json:"scope"`
	} `json:"bindings"`
	// Sessions bound portal sessions: "8h", "7d".
	Sessions struct {
		Idle     string `json:"idle"`
		Absolute string `json:"absolute"`
	} `json:"sessions"`
	// TokenMaxLifetime is the longest expiry of a managed token ("90d").
	TokenMaxLifetime string `json:"token_max_lifetime"`
	// ProxyAuth trusts an authenticating gateway's user headers.
	ProxyAuth *auth.ProxyAuth `json:"proxy_auth"`
	// Metrics: the sha256 of the token that may scrape /metrics.
	Metrics struct {
		TokenSHA256 string `json:"token_sha256"`
	} `json:"metrics"`
	// Webhooks send service events and audit entries to other systems.
	Webhooks []webhooks.Subscription `json:"webhooks"`
	// PluginTrust names the keys whose signatures the host trusts and what
	// it does with plugins none of them signed.
	PluginTrust struct {
		Policy string `json:"policy"`
		Keys   []struct {
			Name string `json:"name"`
			// PublicKey is minisign's "RW…" line or a .pub file's text
			// (by {"$file": "acme.pub"}).
			PublicKey string `json:"public_key"`
		} `json:"keys"`
	} `json:"plugin_trust"`

	// Serve sets flags of wharf serve by name with underscores
	// ("public_url"), below the command line and the environment.
	Serve map[string]json.RawMessage `json:"serve"`
}

// identityConfig turns the file's identity settings into server.Config
// fields, naming the field of the first bad one.
func (fc fileConfig) identityConfig(cfg *server.Config) error {
	names := make([]string, 0, len(fc.SSO))
	for name := range fc.SSO {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := fc.SSO[name]
		c.Name = name
		if err := c.Check(); err != nil {
			return err
		}
		cfg.SSO = append(cfg.SSO, c)
	}
	if fc.ProxyAuth != nil {
		if err := fc.ProxyAuth.Check(); err != nil {
			return err
		}
		cfg.ProxyAuth = fc.ProxyAuth
	}
	if err := server.CheckMetricsToken(fc.Metrics.TokenSHA256); err != nil {
		return err
	}
	cfg.MetricsTokenSHA256 = fc.Metrics.TokenSHA256
	if err := webhooks.Check(fc.Webhooks); err != nil {
		return err
	}
	cfg.Webhooks = fc.Webhooks
	trust, err := fc.pluginTrust()
	if err != nil {
		return err
	}
	cfg.Runtime.Trust = trust
	for i, b := range fc.Bindings {
		if b.Scope == nil {
			return fmt.Errorf("bindings[%d].scope: required ({\"all\": true}, {\"connections\": [...]} or {\"selector\": \"team=a\"})", i)
		}
		ab := access.Binding{Subject: b.Subject, Grant: access.Grant{Role: b.Role, Scope: *b.Scope}}
		if err := ab.Check(); err != nil {
			return fmt.Errorf("bindings[%d]: %w", i, err)
		}
		cfg.Bindings = append(cfg.Bindings, ab)
	}
	for _, d := range []struct {
		field, text string
		to          *time.Duration
	}{
		{"sessions.idle", fc.Sessions.Idle, &cfg.SessionIdle},
		{"sessions.absolute", fc.Sessions.Absolute, &cfg.SessionAbsolute},
		{"token_max_lifetime", fc.TokenMaxLifetime, &cfg.TokenMaxLifetime},
	} {
		if d.text == "" {
			continue
		}
		v, err := parseDays(d.text)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration like 8h or 30d", d.field, d.text)
		}
		*d.to = v
	}
	return nil
}

// pluginTrust reads plugin_trust; nil when signatures are not checked.
// With keys and no policy, the policy is require: naming keys says whom to
// trust, and loading what they did not sign anyway would be a surprise.
func (fc fileConfig) pluginTrust() (*plugintrust.Trust, error) {
	pt := fc.PluginTrust
	policy, err := plugintrust.ParsePolicy(pt.Policy)
	if err != nil {
		return nil, fmt.Errorf("plugin_trust.policy: %w", err)
	}
	if pt.Policy == "" && len(pt.Keys) > 0 {
		policy = plugintrust.PolicyRequire
	}
	t := &plugintrust.Trust{Policy: policy}
	for i, k := range pt.Keys {
		key, err := plugintrust.ParseKey(k.Name, k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("plugin_trust.keys[%d].public_key: %w", i, err)
		}
		t.Keys = append(t.Keys, key)
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("plugin_trust: %w", err)
	}
	if policy == plugintrust.PolicyOff {
		return nil, nil
	}
	return t, nil
}

// parseDays is time.ParseDuration that also takes whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad number of days %q", n)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func readFileConfig(path string) (fileConfig, error) {
	fc, problems := loadFileConfig(path)
	return fc, errors.Join(problems...)
}

// loadFileConfig reads the config file, replaces its references and
// decodes it; every problem names the file.
func loadFileConfig(path string) (fileConfig, []error) {
	var fc fileConfig
	fail := func(err error) (fileConfig, []error) {
		return fileConfig{}, []error{fmt.Errorf("config file %s: %w", path, err)}
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(errors.Unwrap(err)) // the path is named already
	}
	defer f.Close()
	// Bounded like every JSON the host reads (1 MiB, 64 levels), before parsing.
	b, err := jsonlimit.Body.Read(f)
	if err != nil {
		return fail(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return fail(err)
	}
	if dec.More() {
		return fail(errors.New("more than one JSON value"))
	}
	resolved, problems := resolveRefs(first, path)
	if len(problems) > 0 {
		for i, p := range problems {
			problems[i] = fmt.Errorf("config file %s: %w", path, p)
		}
		return fileConfig{}, problems
	}
	dec = json.NewDecoder(bytes.NewReader(resolved))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fail(err)
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
loaded. Without tokens or sso in the config file the host runs in OPEN mode: every
caller is an owner; that is allowed on a loopback address only, unless
--allow-open-mode-on-network says otherwise.

The host answers only to the names it serves (loopback names, --public-url's
host, --allowed-host) and refuses requests a browser sends for another site
(--allowed-origin names the exceptions). Client addresses come from the
socket; X-Forwarded-For is believed only from --trusted-proxy addresses.
Bearer tokens are at least 32 characters: make them with "wharf token new".

Config file (JSON, unknown fields refused):
  {"connections": [{"name": "local", "plugin": "docker", "labels": {"team": "payments"}, "config": {...}}],
   "tokens": [{"name": "ci", "sha256": "<hex sha256 of the token>", "role": "operator",
               "scope": {"selector": "team=payments"}}],
   "sso": {"corp": {"issuer": "https://idp.example.com", "client_id": "wharf", "client_secret": "...",
                    "groups_claim": "groups"}},
   "bindings": [{"subject": "group:corp/platform", "role": "owner", "scope": {"all": true}},
                {"subject": "group:corp/payments", "role": "operator", "scope": {"selector": "team=payments"}}],
   "sessions": {"idle": "8h", "absolute": "7d"}, "token_max_lifetime": "90d",
   "webhooks": [{"name": "ci", "url": "https://ci.example.com/wharf", "secret": {"$env": "HOOK_SECRET"},
                 "events": ["service.*", "audit"], "selector": "team=payments"}],
   "serve": {"public_url": "https://wharf.example.com", "allowed_origin": ["https://idp.example.com"]}}
Any value in the file may instead be {"$env": "NAME"}, the environment
variable NAME, or {"$file": "/run/secrets/name"}, the file's text (at most
64 KiB, one trailing newline dropped; a relative path starts at the config
file's folder): "client_secret": {"$file": "/run/secrets/corp-sso"}.
Single sign-on needs --public-url: register <public url>/auth/oidc/<name>/callback
as the client's redirect URI at the provider.
Roles: viewer (reads), operator (changes services), admin (manages the
connection), each on a scope: {"all": true} (the default), {"connections":
["a","b"]} or {"selector": "<label selector>"}; owner holds the host-wide
powers (bindings, users, others' tokens, the whole audit log) on all.

Health and metrics: GET /livez and /readyz answer load balancers without
credentials (/readyz is 503 while shutting down, when the database does
not answer or when a plugin failed to load). GET /metrics is Prometheus's
text format: open in open mode, else for owners' tokens and the scrape
token of "metrics": {"token_sha256": "<hex sha256>"}; --metrics-listen
serves metrics and probes on a private address with no credentials. On
SIGTERM /readyz fails first, --shutdown-delay later the host stops taking
requests, and --shutdown-timeout bounds the drain.

Every flag can also be set by an environment variable, WHARF_ and the
flag's name in capitals with underscores (--public-url: WHARF_PUBLIC_URL,
--data: WHARF_DATA; a repeatable flag takes a comma-separated list; an
empty variable counts as unset), or in the config file's "serve" object by
the name with underscores. The command line wins over the environment, the
environment over the config file, the config file over the default.

--check-config checks the flags, environment and config file as serve does
before it listens (the file's references, connections, tokens, sso,
bindings, addresses, limits), prints "config ok" or every problem found,
and exits non-zero on a problem.

--database is the SQLite file (default <data>/wharf.db): a path or
sqlite:PATH; or a PostgreSQL database (postgres://user:pass@host/db), which
several replicas may share. The key and audit files stay in the data folder;
on PostgreSQL every replica needs the same connections key
(--connections-key-file, or WHARF_CONNECTIONS_KEY in base64) and the same
audit-chain.key, and keeps its own audit signing key and checkpoint log.`,
		Example: `  wharf serve
  wharf serve --listen 0.0.0.0:8080 --public-url https://wharf.example.com --trusted-proxy 10.0.0.0/8 \
      --data /var/lib/wharf --plugins /usr/lib/wharf/plugins --config wharf.json
  wharf serve --demo
  WHARF_LISTEN=0.0.0.0:8080 WHARF_PUBLIC_URL=https://wharf.example.com wharf serve --config wharf.json
  wharf serve --config wharf.json --check-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.loadSources(cmd.Flags())
			if o.checkOnly {
				return a.checkConfig(o)
			}
			return a.serve(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.dataDir, "data", "./data", "data folder: SQLite file, key file, compilation cache")
	f.StringVar(&o.pluginsDir, "plugins", "./dist/plugins", "folder of plugin .wasm files")
	f.StringVar(&o.configFile, "config", "", "JSON config file: connections, tokens, sso, bindings, serve settings")
	f.StringVar(&o.database, "database", "", "SQLite database (a file path or sqlite:PATH; default <data>/wharf.db) or a postgres:// URL shared by replicas")
	f.StringVar(&o.connectionsKeyFile, "connections-key-file", "", "the key that encrypts connection configs (32 bytes, hex), the same on every replica; default <data>/connections.key, required on PostgreSQL unless WHARF_CONNECTIONS_KEY (base64) is set")
	f.BoolVar(&o.checkOnly, "check-config", false, "check the flags, environment and config file as serve would, print \"config ok\" or every problem, and exit")
	f.BoolVar(&o.demo, "demo", false, "start built-in platform emulators with demo services and connect to them")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.debugListen, "debug-listen", "", "serve Go's profiler (/debug/pprof/) on this address; unauthenticated, so keep it on loopback")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "also serve /metrics, /livez and /readyz on this address, unauthenticated: for a scraper on a private network")
	f.DurationVar(&o.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long /readyz answers 503 before the host stops taking requests (let load balancers notice)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, how long requests in flight, then plugin calls and audit writes, get to finish")
	f.StringVar(&o.publicURL, "public-url", "", "URL people reach the host at (https://wharf.example.com): its name is served and its origin is the host's own")
	f.StringArrayVar(&o.allowedHosts, "allowed-host", nil, "another Host name to answer to (repeatable); loopback names always are")
	f.StringArrayVar(&o.allowedOrigins, "allowed-origin", nil, "another site (https://idp.example.com) allowed to call the API from a browser, with CORS (repeatable)")
	f.StringArrayVar(&o.trustedProxies, "trusted-proxy", nil, "CIDR or address of a reverse proxy whose X-Forwarded-For is believed (repeatable)")
	f.BoolVar(&o.openOnNetwork, "allow-open-mode-on-network", false, "allow running without tokens (everyone is admin) on a non-loopback address")
	f.DurationVar(&o.readTimeout, "read-timeout", 60*time.Second, "longest time to read a request's headers and body")
	f.DurationVar(&o.idleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection is kept")
	f.IntVar(&o.maxConns, "max-conns", 1024, "most connections held at once; more wait in the backlog")
	f.IntVar(&o.maxConnsPerIP, "max-conns-per-client", 64, "most connections one client address holds at once (trusted proxies excepted)")
	f.IntVar(&o.viewersPerClient, "max-log-viewers-per-client", 16, "most live log viewers (portal websockets) one client address holds at once")
	f.DurationVar(&o.pluginWait, "plugin-wait", 10*time.Second, "longest wait for a free plugin instance before a call fails with a retryable 503")
	f.Uint64Var(&o.pluginMemoryMiB, "plugin-memory-mib", 1024, "memory budget of all plugin instances together, in MiB")
	f.IntVar(&o.pluginCallsPerConn, "plugin-calls-per-connection", 0, "most calls one connection runs at once on its plugin (0: half the plugin's pool, at least 1)")
	f.IntVar(&o.failure.Threshold, "plugin-failure-threshold", breaker.DefaultThreshold, "consecutive traps or timeouts after which a connection's plugin calls fail fast (a plugin manifest's failure_policy wins)")
	f.DurationVar(&o.failure.Backoff, "plugin-failure-backoff", breaker.DefaultBackoff, "how long a failing connection's calls fail fast before one is let through to test it; doubled after each failed test")
	f.DurationVar(&o.failure.MaxBackoff, "plugin-failure-max-backoff", breaker.DefaultMaxBackoff, "longest fail-fast window of a failing connection")
	f.DurationVar(&o.healthInterval, "health-interval", ops.DefaultHealthInterval, "how often every connection is checked (a one-item list, shown as its health in the portal and API); 0 never")
	f.BoolVar(&o.watchPlugins, "watch-plugins", true, "follow the plugins folder while running: load new plugin files, swap in changed ones, unload removed ones")
	f.IntVar(&o.pluginUploadMiB, "max-plugin-upload-mib", api.DefaultPluginUploadMiB, "largest plugin .wasm an owner may upload (POST /api/v1/plugins, wharf plugin install), in MiB")
	// Define flags above this line: each gets its WHARF_ variable here.
	describeEnv(f)
	return cmd
}

// loadSources fills the flags not given on the command line from the
// environment, then from the config file's "serve" object; problems are
// kept for prepare, which reports them with the rest.
func (o *serveOptions) loadSources(fs *pflag.FlagSet) {
	o.from = map[string]string{}
	o.sourceProblems = applyEnv(fs, o.from)
	if o.configFile == "" {
		return
	}
	fc, problems := loadFileConfig(o.configFile)
	o.loaded = &loadedConfig{fc: fc, problems: problems}
	if len(problems) == 0 {
		o.sourceProblems = append(o.sourceProblems, applyFileSettings(fs, fc.Serve, "config file "+o.configFile, o.from)...)
	}
}

func (a *app) serve(ctx context.Context, o *serveOptions) (err error) {
	p, problems := o.prepare()
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: p.level}))

	conns := p.cfg.Connections
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
	if p.pluginsMissing {
		log.Warn("plugins folder not found: no plugins loaded", "dir", o.pluginsDir)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	// Checked in prepare against the resolved address; the socket's is
	// the one served.
	allowedHosts, err := o.checkExposure(ln.Addr(), p.open)
	if err != nil {
		return err
	}

	cfg := p.cfg
	cfg.Connections = conns
	cfg.Egress = egress.Options{Logger: log}
	cfg.Faces = []server.Face{api.Face(api.Options{Logger: log, PluginUploadMiB: o.pluginUploadMiB}), web.Face(web.Options{Logger: log, ViewersPerClient: o.viewersPerClient, PluginUploadMiB: o.pluginUploadMiB, SecureCookies: strings.HasPrefix(o.publicURL, "https:")})}
	cfg.Logger = log
	cfg.AllowedHosts = allowedHosts
	s, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close(context.Background()) }()
	host := s.Host
	log.Info("plugins loaded", "count", len(s.Plugins), "dir", o.pluginsDir)

	if o.debugListen != "" {
		stop, err := serveDebug(o.debugListen, log)
		if err != nil {
			return fmt.Errorf("--debug-listen: %w", err)
		}
		defer stop()
	}
	if o.metricsListen != "" {
		stop, err := serveMetrics(o.metricsListen, s.MetricsHandler(), log)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer stop()
	}
	srv := o.httpServer(s.Handler(), log)
	// Followed log streams end when the host closes its followers.
	srv.RegisterOnShutdown(host.Close)
	log.Info("wharf listening", "url", "http://"+ln.Addr().String(), "open_mode", host.Open(),
		"max_conns", o.maxConns, "max_conns_per_client", o.maxConnsPerIP)
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	limited := httpguard.LimitListener(ln, httpguard.ConnLimit{Total: o.maxConns, PerClient: o.maxConnsPerIP}, s.Guard.Trusts)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limited) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Not ready first, while requests are still taken; then drain.
	s.Drain()
	log.Info("shutting down", "delay", o.shutdownDelay)
	time.Sleep(max(o.shutdownDelay, 0))
	timeout := cmp.Or(max(o.shutdownTimeout, 0), 15*time.Second)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete", "err", err)
	}
	// Plugin calls still running and queued audit writes get as long again.
	cctx, ccancel := context.WithTimeout(context.Background(), timeout)
	defer ccancel()
	if err := s.Close(cctx); err != nil {
		log.Warn("closing the host", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpServer is the http.Server of "wharf serve". ReadTimeout bounds the
// reading of a request, headers and body, so a slow client cannot hold a
// connection; net/http lifts it once the body is read, so handlers and
// long streams are not cut by it. There is no WriteTimeout: followed logs
// and exports stream for as long as the client reads, and the websocket
// and stream handlers bound each write themselves. IdleTimeout drops idle
// keep-alive connections.
func (o *serveOptions) httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, o.readTimeout),
		ReadTimeout:       o.readTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// checkExposure refuses a start that would expose the host carelessly and
// returns the Host names to serve. On a loopback address anything goes. On
// another address open mode (no tokens: everyone is admin) needs
// --allow-open-mode-on-network, and the host must know its names: a
// specific address is served under itself, a wildcard address (0.0.0.0,
// [::]) needs --public-url or --allowed-host.
func (o *serveOptions) checkExposure(addr net.Addr, open bool) ([]string, error) {
	// Negative limits are refused by prepare, naming each.
	// Zero (options built in code, not by flags) takes the flags' defaults.
	o.readTimeout = cmp.Or(o.readTimeout, 60*time.Second)
	o.idleTimeout = cmp.Or(o.idleTimeout, 120*time.Second)
	o.maxConns = cmp.Or(o.maxConns, 1024)
	o.maxConnsPerIP = cmp.Or(o.maxConnsPerIP, 64)
	hosts := append([]string(nil), o.allowedHosts...)
	tcp, _ := addr.(*net.TCPAddr)
	if tcp == nil || tcp.IP.IsLoopback() {
		return hosts, nil
	}
	if open && !o.openOnNetwork {
		return nil, fmt.Errorf("refusing to start: %s %s is reachable from the network and no API tokens are configured, "+
			"so everyone who can reach it would be an admin. Configure tokens (wharf token new), listen on 127.0.0.1, "+
			"or pass --allow-open-mode-on-network if that is really what you want", o.field("listen"), o.listen)
	}
	switch {
	case !tcp.IP.IsUnspecified():
		hosts = append(hosts, tcp.IP.String())
	case o.publicURL == "" && len(hosts) == 0:
		return nil, fmt.Errorf("refusing to start: %s %s answers on every address, but the host does not know its names; "+
			"name them with --public-url URL or --allowed-host NAME (requests for other names are refused, against DNS rebinding)", o.field("listen"), o.listen)
	}
	return hosts, nil
}

// Package server assembles a whole Wharf host from its parts — storage,
// audit log, wasm runtime, plugins, egress, the operations facade and the
// HTTP faces mounted on one echo instance. `wharf serve` uses it, and so can
// a platform team embedding Wharf in its own Go program: see ExampleNew.
// The faces (api.Face, web.Face) all have the shape of Face.
package server

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/metrics"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/plugindir"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/host/webhooks"
)

// Face mounts one face of the host (the REST API, the web portal) on e.
// a authenticates callers and manages identity objects.
type Face func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error

// Config describes a host. DataDir is required; everything else has defaults.
type Config struct {
	// DataDir holds the SQLite database (wharf.db), the key that encrypts
	// connection configs (connections.key), the audit chain and signing
	// keys and checkpoint log (audit-chain.key, audit-signing.key,
	// audit.checkpoints) and the compilation cache (cache/).
	DataDir string
	// Reconcile bounds the recovery of operations a stopped host (or, on a
	// shared database, a stopped replica) left unfinished; zero fields take
	// ops' defaults.
	Reconcile ops.ReconcileOptions
	// Database, if set, is the database to use instead of DataDir/wharf.db
	// (wharf serve --database): a SQLite file, whose folder must exist, or
	// a postgres:// URL, which several replicas may share; DataDir then
	// keeps this replica's audit keys and checkpoint log and the cache.
	Database string
	// ConnectionsKey, if set, is the key that encrypts connection configs
	// (connstore.KeySize bytes) instead of DataDir/connections.key.
	// Required on PostgreSQL: every replica must decrypt what the others
	// stored, so a key made up by one replica will not do.
	ConnectionsKey []byte
	// AuditOptions, if set, replace the audit keys and checkpoint log kept
	// in DataDir (keys from a secret store, checkpoints on another disk).
	AuditOptions *audit.Options
	// PluginsDir is scanned for *.wasm plugins. A plugin that fails to load
	// is logged and skipped: one broken plugin does not stop the host.
	PluginsDir string
	// PluginFiles are further .wasm files to load.
	PluginFiles []string
	// WatchPlugins follows PluginsDir while the host runs (hot plug): a
	// new or changed file is loaded and swapped in, a removed one unloaded
	// (host/plugindir, ops.SyncPluginFile). PluginsWatch tunes it.
	WatchPlugins bool
	PluginsWatch plugindir.Config
	// Runtime sets plugin limits; CacheDir defaults to DataDir/cache.
	Runtime runtime.Config
	// Egress sets the limits of plugins' HTTP.
	Egress egress.Options
	// Tokens are the bootstrap API tokens of the config file. None (and
	// no SSO) means open (local) mode.
	Tokens []ops.Token
	// SSO are the OpenID providers users sign in with (the config's sso
	// entries). Their RedirectURL is set from PublicURL, which they need.
	// With any, the host is closed even without Tokens.
	SSO []oidc.Config
	// ProxyAuth, if set, trusts an authenticating gateway's user and group
	// headers (see auth.ProxyAuth for the risks). It too closes the host.
	ProxyAuth *auth.ProxyAuth
	// Bindings are the config file's role bindings, replacing the ones of
	// the last start (those made through the API stay).
	Bindings []access.Binding
	// SessionIdle and SessionAbsolute bound sessions (defaults 8h, 7 days);
	// TokenMaxLifetime bounds managed tokens' expiry (default 90 days).
	SessionIdle, SessionAbsolute time.Duration
	TokenMaxLifetime             time.Duration
	// OIDCClient, if set, is the HTTP client that talks to the OpenID
	// providers (a test's, or one with the organization's CA).
	OIDCClient *http.Client
	// Connections are created or replaced at start (a config file's).
	Connections []connstore.Connection
	// Faces are mounted in order on the host's echo instance.
	Faces  []Face
	Logger *slog.Logger

	// PublicURL, AllowedHosts, AllowedOrigins and TrustedProxies say which
	// names, other sites and proxies the host trusts (httpguard.Config).
	// Left empty, it answers loopback names only (DNS rebinding gets 421),
	// refuses every cross-site browser request (403) and takes client
	// addresses from the socket, never from X-Forwarded-For.
	PublicURL string
	// PathPrefix serves the whole host under a path ("/wharf"): Handler
	// takes requests for PathPrefix+"/…" only, and every link, redirect,
	// cookie and websocket URL the faces make carries it. Left empty, it is
	// PublicURL's path (so a proxy must forward that path unchanged).
	PathPrefix     string
	AllowedHosts   []string
	AllowedOrigins []string
	TrustedProxies []string
	// AuthFailures limits failed authentications per client address.
	AuthFailures httpguard.AuthLimit
	// MetricsTokenSHA256 is the sha256 (hex) of a token that may read
	// /metrics on a closed host, besides owners (see serveMetrics).
	MetricsTokenSHA256 string
	// Webhooks are the outgoing webhooks (the config file's), checked by
	// webhooks.Check. WebhookOptions tune them (timeouts, retries; tests
	// set the clock); the database, audit log, labels and metrics are the
	// host's.
	Webhooks       []webhooks.Subscription
	WebhookOptions webhooks.Options
	// FailurePolicy is the plugins' failure policy where a plugin's
	// manifest does not set one (wharf serve --plugin-failure-*); zero
	// fields take the defaults (5 failures, 30 s, 5 min). Now is its
	// clock, for tests; nil means time.Now.
	FailurePolicy breaker.Policy
	Now           func() time.Time
	// HealthInterval is how often every connection is checked (a
	// one-item list, shown as its health); 0 never (wharf serve's
	// --health-interval defaults to ops.DefaultHealthInterval).
	HealthInterval time.Duration
}

// Server is a running host.
type Server struct {
	Host    *ops.Host
	Echo    *echo.Echo
	Plugins []*runtime.Plugin
	// The parts, for embedders and tests that look behind the facade.
	DB          *sql.DB
	Audit       *audit.Log
	Connections *connstore.Store
	Identity    *identity.Store
	Auth        *auth.Authenticator
	Runtime     *runtime.Runtime
	// Guard checks every request before the faces see it; its Trusts tells
	// a listener which peers are trusted proxies.
	Guard *httpguard.Guard
	// LoadErrors are the plugins that could not be loaded.
	LoadErrors []error
	// Metrics is the host's own Prometheus registry, served at MetricsPath.
	Metrics *metrics.Registry
	// Webhooks sends events out; nil without Config.Webhooks.
	Webhooks *webhooks.Service

	basePath string // Config.PathPrefix, cleaned
	log      *slog.Logger
	draining atomic.Bool // readyz answers 503 (Drain)
	closers  []func(context.Context) error
}

// New opens the storage, loads the plugins and wires the facade and faces.
// On error everything opened so far is closed again.
func New(ctx context.Context, cfg Config) (s *Server, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: DataDir is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	guard, err := httpguard.New(httpguard.Config{PublicURL: cfg.PublicURL, AllowedHosts: cfg.AllowedHosts,
		AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies, AuthFailures: cfg.AuthFailures, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	scrapeHash, err := parseScrapeHash(cfg.MetricsTokenSHA256)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// ops.New checks it too, but only once the database is open.
	if err := cfg.FailurePolicy.Check([3]string{"FailurePolicy.Threshold", "FailurePolicy.Backoff", "FailurePolicy.MaxBackoff"}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	prefix := cfg.PathPrefix
	if prefix == "" && cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err == nil {
			prefix = u.Path
		}
	}
	if prefix, err = httpguard.CleanBasePath(prefix); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s = &Server{Guard: guard, Metrics: metrics.New(), log: log, basePath: prefix}
	opened := s // s is nil when an error is returned
	defer func() {
		if err != nil {
			_ = opened.Close(context.WithoutCancel(ctx))
		}
	}()
	dbPath := cmp.Or(cfg.Database, filepath.Join(cfg.DataDir, "wharf.db"))
	shared := store.IsPostgresURL(dbPath)
	switch {
	case shared && len(cfg.ConnectionsKey) == 0:
		return nil, errors.New("server: a PostgreSQL database needs the connections key every replica shares (ConnectionsKey; wharf serve --connections-key-file or WHARF_CONNECTIONS_KEY): one made up here would leave the other replicas' connections unreadable")
	case cfg.ConnectionsKey != nil && len(cfg.ConnectionsKey) != connstore.KeySize:
		return nil, fmt.Errorf("server: the connections key is %d bytes, want %d", len(cfg.ConnectionsKey), connstore.KeySize)
	case shared:
		// No database file here: only the folder is made private.
		err = privateDataDir(cfg.DataDir, "")
	default:
		err = privateDataDir(cfg.DataDir, dbPath)
	}
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	db, err := store.Open(dbPath)
	if err != nil {
		return nil, fmt.Errorf("server: open database: %w", err)
	}
	s.DB = db
	s.closers = append(s.closers, func(context.Context) error { return db.Close() })
	var auditOpts audit.Options
	if cfg.AuditOptions != nil {
		auditOpts = *cfg.AuditOptions
	} else if auditOpts, err = audit.LoadOrCreateOptions(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("server: audit keys: %w", err)
	}
	auditLog, err := audit.New(db, auditOpts)
	if err != nil {
		return nil, fmt.Errorf("server: audit log: %w", err)
	}
	s.Audit = auditLog
	s.closers = append(s.closers, func(context.Context) error { return auditLog.Close() })
	key := cfg.ConnectionsKey
	if key == nil {
		keyPath := filepath.Join(cfg.DataDir, "connections.key")
		if key, err = connstore.LoadOrCreateKey(keyPath); err != nil {
			return nil, fmt.Errorf("server: key: %w", err)
		}
		// SQLite made its -wal and -shm files by now; they and the key
		// are owner-only whatever an older version or a copy left.
		if err := privateFiles(dbPath+"-wal", dbPath+"-shm", keyPath); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	} else if !shared {
		if err := privateFiles(dbPath+"-wal", dbPath+"-shm"); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	conns, err := connstore.New(db, key)
	if err != nil {
		return nil, fmt.Errorf("server: connections: %w", err)
	}
	s.Connections = conns
	var events ops.EventSink
	if len(cfg.Webhooks) > 0 {
		if s.Webhooks, err = openWebhooks(ctx, cfg, db, auditLog, conns, s.Metrics, log); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		wh := s.Webhooks
		s.closers = append(s.closers, wh.Close)
		events = wh
	}

	rcfg := cfg.Runtime
	if rcfg.CacheDir == "" {
		rcfg.CacheDir = filepath.Join(cfg.DataDir, "cache")
	}
	if rcfg.Logger == nil {
		rcfg.Logger = log
	}
	rcfg.Logger = slog.New(ops.ScrubLogs(rcfg.Logger.Handler())) // plugin log lines lose the call's secrets
	rt, err := runtime.New(ctx, rcfg)
	if err != nil {
		return nil, fmt.Errorf("server: runtime: %w", err)
	}
	s.Runtime = rt
	s.closers = append(s.closers, rt.Close)
	if cfg.PluginsDir != "" {
		plugins, errs := rt.LoadDir(ctx, cfg.PluginsDir)
		s.Plugins = append(s.Plugins, plugins...)
		s.LoadErrors = append(s.LoadErrors, errs...)
	}
	for _, f := range cfg.PluginFiles {
		p, err := rt.Load(ctx, f)
		if err != nil {
			s.LoadErrors = append(s.LoadErrors, err)
			continue
		}
		s.Plugins = append(s.Plugins, p)
	}
	for _, e := range s.LoadErrors {
		log.Error("plugin not loaded", "err", e)
	}
	for _, p := range s.Plugins {
		d := p.Describe()
		log.Info("plugin loaded", "name", p.Name(), "version", d.Version, "abi", d.ABIVersion, "path", p.Path())
	}

	if cfg.Egress.Metrics == nil {
		cfg.Egress.Metrics = s.Metrics
	}
	eg := egress.New(cfg.Egress)
	s.closers = append(s.closers, func(context.Context) error { eg.Close(); return nil })
	s.Host, err = ops.New(ops.Config{Plugins: s.Plugins, Connections: conns, Audit: auditLog,
		Egress: eg, Logger: log, Tokens: cfg.Tokens, RequireAuth: len(cfg.SSO) > 0 || cfg.ProxyAuth != nil, Metrics: s.Metrics, Events: events,
		LoadErrors: s.LoadErrors, Runtime: rt, PluginsDir: cfg.PluginsDir, FailurePolicy: cfg.FailurePolicy, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	host := s.Host
	s.closers = append(s.closers, func(context.Context) error { host.Close(); return nil })
	if cfg.WatchPlugins && cfg.PluginsDir != "" {
		w, err := watchPlugins(cfg, host, log)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.closers = append(s.closers, func(context.Context) error { w.Close(); return nil })
	}
	if shared { // replicas: drop cached listings another one changed
		stopFollowing := host.FollowReplicas()
		s.closers = append(s.closers, func(context.Context) error { stopFollowing(); return nil })
	}
	// Operations the last run left unfinished (a crash) are marked
	// interrupted before anything new starts; on a shared database, also
	// those of replicas that stopped (never those still running), and
	// later those of any replica that dies.
	s.Host.ReconcileAudit(ctx, cfg.Reconcile)
	if shared {
		stopRecovering := s.Host.RecoverReplicas(audit.DefaultWriterTimeout, cfg.Reconcile)
		s.closers = append(s.closers, func(context.Context) error { stopRecovering(); return nil })
	}
	if s.Host.Open() {
		log.Warn("no API tokens configured: running open, every caller is an owner")
	}

	if s.Identity, s.Auth, err = openIdentity(ctx, cfg, db, s.Host, auditLog, log); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	system := ops.Caller{Actor: "system:config", Role: ops.RoleOwner, Auth: "config"}
	for _, c := range cfg.Connections {
		if _, err := s.Host.PutConnection(ctx, system, ops.ConnectionInput{Name: c.Name, Plugin: c.Plugin, Config: c.Config, Labels: c.Labels, ApprovedHosts: c.ApprovedHosts}); err != nil {
			return nil, fmt.Errorf("server: connection %s: %w", c.Name, err)
		}
	}
	if cfg.HealthInterval > 0 {
		stopChecks := s.Host.CheckHealthEvery(cfg.HealthInterval, ops.DefaultHealthTimeout)
		s.closers = append(s.closers, func(context.Context) error { stopChecks(); return nil })
	}

	s.Echo = echo.New()
	s.Echo.HideBanner = true
	s.Echo.HidePort = true
	// Metrics see every request; health probes are answered before the guard.
	s.installMetrics(scrapeHash)
	s.Echo.Pre(s.healthMiddleware())
	// Before any face: Host and origin checks, client addresses.
	guard.Install(s.Echo)
	for _, mount := range cfg.Faces {
		if err := mount(s.Echo, s.Host, s.Auth); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	return s, nil
}

// PluginsFolderActor is who the audit log says changed a plugin when its
// file changed in the plugins folder.
const PluginsFolderActor = "system:plugins-folder"

// watchPlugins follows the plugins folder: each settled change is synced
// by the facade under the plugins folder's name.
func watchPlugins(cfg Config, h *ops.Host, log *slog.Logger) (*plugindir.Watcher, error) {
	folder := ops.Caller{Actor: PluginsFolderActor, Role: ops.RoleOwner, Auth: "system"}
	wc := cfg.PluginsWatch
	wc.Dir, wc.Logger = cfg.PluginsDir, log
	wc.File = func(ctx context.Context, path string, force bool) {
		_, _ = h.SyncPluginFile(ctx, folder, path, force) // logged, audited and shown by the facade
	}
	wc.Rescan = func(ctx context.Context) {
		if _, err := h.SyncPluginDir(ctx, folder); err != nil {
			log.Warn("plugins folder: rescan failed", "dir", cfg.PluginsDir, "err", err)
		}
	}
	w, err := plugindir.Watch(wc)
	if err != nil {
		return nil, err
	}
	log.Info("plugins folder watched: plugin files are loaded, replaced and unloaded as they change", "dir", cfg.PluginsDir)
	return w, nil
}

// openWebhooks starts the outgoing webhooks on the host's database, audit
// log (its entries are events too) and connections (their labels).
func openWebhooks(ctx context.Context, cfg Config, db *sql.DB, log *audit.Log, conns *connstore.Store, m *metrics.Registry, logger *slog.Logger) (*webhooks.Service, error) {
	o := cfg.WebhookOptions
	o.DB, o.Audit, o.Logger = db, log, logger
	if o.Metrics == nil {
		o.Metrics = m
	}
	o.Labels = func(ctx context.Context, name string) (map[string]string, bool) {
		c, err := conns.Get(ctx, name)
		if err != nil {
			return nil, false
		}
		return c.Labels, true
	}
	return webhooks.New(ctx, cfg.Webhooks, o)
}

// openIdentity opens the identity store (in the same database), seeds
// the config's bindings and builds the authenticator with the SSO providers.
func openIdentity(ctx context.Context, cfg Config, db *sql.DB, h *ops.Host, log *audit.Log, logger *slog.Logger) (*identity.Store, *auth.Authenticator, error) {
	ids, err := identity.New(ctx, db, identity.Options{SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute})
	if err != nil {
		return nil, nil, fmt.Errorf("identity store: %w", err)
	}
	if err := ids.ReplaceConfigBindings(ctx, cfg.Bindings); err != nil {
		var inv *identity.InvalidError
		if errors.As(err, &inv) {
			return nil, nil, fmt.Errorf("bindings%s: %s", strings.ReplaceAll(strings.TrimPrefix(inv.Field, "/bindings"), "/", "."), inv.Reason)
		}
		return nil, nil, fmt.Errorf("bindings: %w", err)
	}
	var sso *auth.SSO
	if len(cfg.SSO) > 0 {
		cfgs := make([]oidc.Config, len(cfg.SSO))
		for i, c := range cfg.SSO {
			if c.RedirectURL == "" && cfg.PublicURL != "" {
				c.RedirectURL = strings.TrimRight(cfg.PublicURL, "/") + "/auth/oidc/" + c.Name + "/callback"
			}
			cfgs[i] = c
		}
		if sso, err = auth.NewSSO(cfgs, cfg.OIDCClient); err != nil {
			return nil, nil, err
		}
	}
	a, err := auth.New(auth.Options{Host: h, Store: ids, Audit: log, SSO: sso, Proxy: cfg.ProxyAuth, TokenMaxLifetime: cfg.TokenMaxLifetime, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return ids, a, nil
}

// Handler serves every mounted face.
// Mount it at the mux pattern BasePath()+"/" to embed the host under
// Config.PathPrefix.
func (s *Server) Handler() http.Handler { return httpguard.UnderBasePath(s.basePath, s.Echo) }

// BasePath is the path prefix the host is served under ("" at the root).
func (s *Server) BasePath() string { return s.basePath }

// Close releases everything, in the reverse order of opening.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i](ctx))
	}
	s.closers = nil
	return errors.Join(errs...)
}

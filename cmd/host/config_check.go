package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/internal/keyfile"
	"github.com/wharfhq/wharf/internal/wasmbin"
)

// plan is what serve starts from once the flags, the environment and the
// config file passed every check that needs neither the network nor the
// plugins. --check-config runs the same checks and stops there.
type plan struct {
	level slog.Level
	file  fileConfig
	// open: no tokens, no SSO and no proxy_auth, every caller an owner.
	open bool
	// cfg has everything but the listener's names, egress, faces and logger.
	cfg server.Config
	// pluginsMissing: the plugins folder is not there (a warning only).
	pluginsMissing bool
}

// field names a flag in a problem as the operator set it: --log-level,
// WHARF_LOG_LEVEL or the config file's serve.log_level.
func (o *serveOptions) field(flag string) string {
	if where, ok := o.from[flag]; ok {
		return where
	}
	return "--" + flag
}

// prepare checks everything serve checks before it listens and returns
// every problem found, each naming its flag, variable or config field.
func (o *serveOptions) prepare() (*plan, []error) {
	p := &plan{}
	problems := append([]error(nil), o.sourceProblems...)
	add := func(field string, err error) { problems = append(problems, fmt.Errorf("%s: %w", field, err)) }

	if err := p.level.UnmarshalText([]byte(cmp.Or(o.logLevel, "info"))); err != nil {
		add(o.field("log-level"), errors.New("want debug, info, warn or error"))
	}

	fileOK := true
	if o.loaded == nil && o.configFile != "" {
		fc, errs := loadFileConfig(o.configFile)
		o.loaded = &loadedConfig{fc: fc, problems: errs}
	}
	if o.loaded != nil {
		p.file = o.loaded.fc
		problems = append(problems, o.loaded.problems...)
		fileOK = len(o.loaded.problems) == 0
	}
	if fileOK {
		problems = append(problems, p.file.check(o.configFile, o.publicURL)...)
	}
	p.open = len(p.file.Tokens) == 0 && len(p.file.SSO) == 0 && p.file.ProxyAuth == nil

	// Storage.
	if o.dataDir == "" {
		add(o.field("data"), errors.New("required"))
	} else if st, err := os.Stat(o.dataDir); err == nil && !st.IsDir() {
		add(o.field("data"), fmt.Errorf("%s is not a folder", o.dataDir))
	}
	dbPath, err := sqlitePath(o.database, o.dataDir)
	shared := store.IsPostgresURL(dbPath)
	if err != nil {
		add(o.field("database"), err)
	} else if o.database != "" && !shared {
		if st, err := os.Stat(filepath.Dir(dbPath)); err != nil || !st.IsDir() {
			add(o.field("database"), fmt.Errorf("the folder of %s does not exist", dbPath))
		} else if st, err := os.Stat(dbPath); err == nil && !st.Mode().IsRegular() {
			add(o.field("database"), fmt.Errorf("%s is not a file", dbPath))
		}
	}

	connKey, err := o.connectionsKey(shared)
	if err != nil {
		problems = append(problems, err)
	}

	// Limits: zero takes the default, negative is refused.
	for _, n := range []struct {
		flag     string
		negative bool
	}{
		{"read-timeout", o.readTimeout < 0}, {"idle-timeout", o.idleTimeout < 0},
		{"max-conns", o.maxConns < 0}, {"max-conns-per-client", o.maxConnsPerIP < 0},
		{"max-log-viewers-per-client", o.viewersPerClient < 0},
		{"max-plugin-upload-mib", o.pluginUploadMiB < 0},
	} {
		if n.negative {
			add(o.field(n.flag), errors.New("must not be negative"))
		}
	}
	rcfg := runtime.Config{MaxWait: o.pluginWait, MaxTotalMemoryBytes: o.pluginMemoryMiB << 20, MaxConnectionCalls: o.pluginCallsPerConn}
	if o.pluginUploadMiB > wasmbin.MaxModuleBytes>>20 {
		add(o.field("max-plugin-upload-mib"), fmt.Errorf("%d MiB is more than the %d MiB a plugin module may have", o.pluginUploadMiB, wasmbin.MaxModuleBytes>>20))
	}
	if o.pluginMemoryMiB > 1<<20 {
		add(o.field("plugin-memory-mib"), fmt.Errorf("%d MiB is more than 1 TiB", o.pluginMemoryMiB))
	}
	// The plugins' failure policy; as above, zero takes the default.
	if err := o.failure.Check([3]string{o.field("plugin-failure-threshold"), o.field("plugin-failure-backoff"), o.field("plugin-failure-max-backoff")}); err != nil {
		problems = append(problems, err)
	}
	if o.healthInterval < 0 || (o.healthInterval > 0 && o.healthInterval < time.Second) {
		add(o.field("health-interval"), fmt.Errorf("%s: use 0 (never) or at least 1s", o.healthInterval))
	}
	// The runtime checks its own limits; without a cache folder New only checks.
	if rt, err := runtime.New(context.Background(), rcfg); err != nil {
		add(fmt.Sprintf("plugin limits (%s, %s, %s)", o.field("plugin-wait"), o.field("plugin-memory-mib"), o.field("plugin-calls-per-connection")), err)
	} else {
		_ = rt.Close(context.Background())
	}

	// Network: the listen address and who the host trusts.
	if addr, err := net.ResolveTCPAddr("tcp", o.listen); err != nil {
		add(o.field("listen"), err)
	} else {
		if addr.IP == nil { // ":8080" listens on every address
			addr.IP = net.IPv6unspecified
		}
		if _, err := o.checkExposure(addr, p.open); err != nil {
			problems = append(problems, err)
		}
	}
	for _, l := range []struct{ flag, addr string }{{"debug-listen", o.debugListen}, {"metrics-listen", o.metricsListen}} {
		if l.addr == "" {
			continue
		}
		if _, err := net.ResolveTCPAddr("tcp", l.addr); err != nil {
			add(o.field(l.flag), err)
		}
	}
	for _, g := range []struct {
		flag string
		cfg  httpguard.Config
	}{
		{"public-url", httpguard.Config{PublicURL: o.publicURL}},
		{"allowed-host", httpguard.Config{AllowedHosts: o.allowedHosts}},
		{"allowed-origin", httpguard.Config{AllowedOrigins: o.allowedOrigins}},
		{"trusted-proxy", httpguard.Config{TrustedProxies: o.trustedProxies}},
	} {
		if _, err := httpguard.New(g.cfg); err != nil {
			add(o.field(g.flag), errors.New(strings.TrimPrefix(err.Error(), "httpguard: ")))
		}
	}

	if st, err := os.Stat(o.pluginsDir); err != nil || !st.IsDir() {
		p.pluginsMissing = true
	}
	if len(problems) > 0 {
		return nil, problems
	}

	p.cfg = server.Config{
		DataDir:        o.dataDir,
		Database:       dbPath,
		ConnectionsKey: connKey,
		Tokens:         p.file.Tokens,
		Runtime:        rcfg,
		FailurePolicy:  o.failure,
		HealthInterval: o.healthInterval,
		PublicURL:      o.publicURL,
		AllowedOrigins: o.allowedOrigins,
		TrustedProxies: o.trustedProxies,
	}
	if !p.pluginsMissing {
		p.cfg.PluginsDir = o.pluginsDir
		p.cfg.WatchPlugins = o.watchPlugins
	}
	for _, c := range p.file.Connections {
		p.cfg.Connections = append(p.cfg.Connections, connstore.Connection{Name: c.Name, Plugin: c.Plugin, Config: c.Config,
			Labels: c.Labels, ApprovedHosts: append([]string{}, c.ApprovedHosts...)})
	}
	if err := p.file.identityConfig(&p.cfg); err != nil { // checked above; this only copies
		return nil, []error{fmt.Errorf("config file %s: %w", o.configFile, err)}
	}
	return p, nil
}

// check validates the file's entries as far as they can be without the
// plugins, the database or the network; path names the file.
func (fc fileConfig) check(path, publicURL string) []error {
	var problems []error
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("config file %s: %s", path, fmt.Sprintf(format, args...)))
	}

	names := map[string]bool{}
	for i, c := range fc.Connections {
		f := fmt.Sprintf("connections[%d]", i)
		switch {
		case !connstore.ValidName(c.Name):
			add("%s.name: %.70q is not valid: use 1 to 63 lowercase letters, digits and dashes", f, c.Name)
		case names[c.Name]:
			add("%s.name: a second connection called %s", f, c.Name)
		}
		names[c.Name] = true
		if c.Plugin == "" {
			add("%s.plugin: required", f)
		}
		if len(c.Config) > 0 && c.Config[0] != '{' {
			add("%s.config: must be a JSON object", f)
		}
		if err := connstore.CheckLabels(c.Labels); err != nil {
			add("%s.labels: %v", f, err)
		}
		if len(c.ApprovedHosts) > connstore.MaxApprovedHosts {
			add("%s.approved_hosts: at most %d, not %d", f, connstore.MaxApprovedHosts, len(c.ApprovedHosts))
		}
		for j, h := range c.ApprovedHosts {
			if h == "" || len(h) > 255 {
				add("%s.approved_hosts[%d]: an approved host has 1 to 255 characters", f, j)
			}
		}
	}

	tokens := map[string]bool{}
	for i, t := range fc.Tokens {
		f := fmt.Sprintf("tokens[%d]", i)
		switch {
		case t.Name == "":
			add("%s.name: required", f)
		case tokens[t.Name]:
			add("%s.name: a second token called %s", f, t.Name)
		}
		tokens[t.Name] = true
		if b, err := hex.DecodeString(strings.TrimSpace(t.SHA256)); err != nil || len(b) != sha256.Size {
			add("%s.sha256: must be 64 hex digits, the sha256 of the token (wharf token new prints it)", f)
		}
		g := access.Grant{Role: t.Role, Scope: access.All()}
		if t.Scope != nil {
			g.Scope = *t.Scope
		}
		if err := g.Check(); err != nil {
			add("%s: %v", f, err)
		}
	}

	for _, name := range slices.Sorted(maps.Keys(fc.SSO)) {
		c := fc.SSO[name]
		c.Name = name
		if err := c.Check(); err != nil {
			add("%v", err)
		} else if c.RedirectURL == "" && publicURL == "" {
			add("sso.%s: needs --public-url (WHARF_PUBLIC_URL, serve.public_url): the provider sends users back to <public url>/auth/oidc/%s/callback", name, name)
		}
	}
	if fc.ProxyAuth != nil {
		if err := fc.ProxyAuth.Check(); err != nil {
			add("%v", err)
		}
	}
	if err := server.CheckMetricsToken(fc.Metrics.TokenSHA256); err != nil {
		add("%v", err)
	}
	if err := webhooks.Check(fc.Webhooks); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			add("%v", e)
		}
	}
	if _, err := fc.pluginTrust(); err != nil {
		add("%v", err)
	}
	for i, b := range fc.Bindings {
		if b.Scope == nil {
			add("bindings[%d].scope: required ({\"all\": true}, {\"connections\": [...]} or {\"selector\": \"team=a\"})", i)
			continue
		}
		ab := access.Binding{Subject: b.Subject, Grant: access.Grant{Role: b.Role, Scope: *b.Scope}}
		if err := ab.Check(); err != nil {
			add("bindings[%d]: %v", i, err)
		}
	}
	for _, d := range []struct{ field, text string }{
		{"sessions.idle", fc.Sessions.Idle}, {"sessions.absolute", fc.Sessions.Absolute},
		{"token_max_lifetime", fc.TokenMaxLifetime},
	} {
		if d.text == "" {
			continue
		}
		if v, err := parseDays(d.text); err != nil || v <= 0 || v > 100*365*24*time.Hour {
			add("%s: %.40q is not a positive duration like 8h or 30d", d.field, d.text)
		}
	}
	return problems
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// sqlitePath is the database --database names: empty for
// dataDir/wharf.db, a file path, or sqlite:PATH (sqlite:///abs/path too),
// or a postgres:// URL as given (store.Open checks it, never repeating its
// password). Other URLs are refused naming only their scheme: a URL may
// hold a password.
func sqlitePath(db, dataDir string) (string, error) {
	if db == "" {
		return filepath.Join(dataDir, "wharf.db"), nil
	}
	if rest, ok := strings.CutPrefix(db, "sqlite:"); ok {
		rest = strings.TrimPrefix(rest, "//")
		if rest == "" {
			return "", errors.New("sqlite: needs a file path (sqlite:/var/lib/wharf/wharf.db)")
		}
		return rest, nil
	}
	if m := schemeRE.FindStringSubmatch(db); m != nil {
		if store.IsPostgresURL(db) {
			return db, nil
		}
		return "", fmt.Errorf("%.20s:// is not a database this host knows: give a SQLite file path, sqlite:PATH or a postgres:// URL", m[1])
	}
	return db, nil
}

// loadedConfig is a config file read once, with the problems found.
type loadedConfig struct {
	fc       fileConfig
	problems []error
}

// checkConfig is "wharf serve --check-config": every problem on stderr,
// or "config ok" on stdout.
func (a *app) checkConfig(o *serveOptions) error {
	p, problems := o.prepare()
	if len(problems) > 0 {
		for _, e := range problems {
			fmt.Fprintln(a.stderr, e)
		}
		return fmt.Errorf("config check failed: %d problem(s)", len(problems))
	}
	if p.pluginsMissing {
		fmt.Fprintf(a.stderr, "warning: %s: plugins folder %s not found: no plugins would be loaded\n", o.field("plugins"), o.pluginsDir)
	}
	if o.demo {
		fmt.Fprintln(a.stderr, "note: --demo's emulators are not started by a check")
	}
	fmt.Fprintln(a.stdout, "config ok")
	return nil
}

// connectionsKeyEnv holds the connections key itself, base64: for
// platforms that hand secrets over in the environment.
const connectionsKeyEnv = "WHARF_CONNECTIONS_KEY"

// connectionsKey is the key --connections-key-file or WHARF_CONNECTIONS_KEY
// gives; nil (the data folder's connections.key, made if missing) when
// neither is set, which a PostgreSQL database refuses: a key made up by
// one replica would leave the others unable to read its connections.
func (o *serveOptions) connectionsKey(shared bool) ([]byte, error) {
	env := os.Getenv(connectionsKeyEnv)
	switch {
	case o.connectionsKeyFile != "" && env != "":
		return nil, fmt.Errorf("%s and %s: give one of them", o.field("connections-key-file"), connectionsKeyEnv)
	case o.connectionsKeyFile != "":
		key, err := keyfile.Read(o.connectionsKeyFile, connstore.KeySize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.field("connections-key-file"), err)
		}
		return key, nil
	case env != "":
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil || len(key) != connstore.KeySize {
			// Never the value: it is the secret.
			return nil, fmt.Errorf("%s: want %d bytes in base64 (openssl rand -base64 %d)", connectionsKeyEnv, connstore.KeySize, connstore.KeySize)
		}
		return key, nil
	case shared:
		return nil, fmt.Errorf("%s: required with a PostgreSQL database: every replica must use the same key to read the connections the others stored (or set %s, base64); copy the first replica's, or make one with: openssl rand -hex %d",
			o.field("connections-key-file"), connectionsKeyEnv, connstore.KeySize)
	}
	return nil, nil
}

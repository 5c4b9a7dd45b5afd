package ops

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// Config wires a Host to its parts. Connections, Audit and Egress are
// required.
type Config struct {
	Plugins     []*runtime.Plugin
	Connections *connstore.Store
	Audit       *audit.Log
	Egress      *egress.Client
	Logger      *slog.Logger
	// Tokens are the accepted API tokens. None means open (local) mode:
	// every caller is an owner, named by the X-Wharf-Actor header or "anonymous".
	Tokens []Token
	// RequireAuth closes the host even without Tokens: callers are then
	// authenticated by an embedder's layer (host/auth: sign-in and managed
	// tokens), never let in as owners.
	RequireAuth bool
	// LogBuffer is the number of log entries a slow follower may have
	// waiting before the oldest are dropped; default 1000.
	LogBuffer int
	// RefusalLimit bounds the refused mutations audited per actor.
	RefusalLimit RefusalLimit
	// Metrics, if set, observes every plugin call (host/metrics).
	Metrics CallMetrics
	// Events, if set, hears of service changes, status changes and
	// finished rollouts (host/webhooks); see events.go.
	Events EventSink
	// LoadErrors are the plugin files that failed to load at start
	// (*runtime.LoadError): shown as problems beside the plugins.
	LoadErrors []error
	// Runtime and PluginsDir enable hot plug (hotplug.go): plugin files
	// synced, installed and removed while the host runs. Runtime loaded
	// Plugins; PluginsDir is where uploads are written.
	Runtime    *runtime.Runtime
	PluginsDir string
	// FailurePolicy is the host's failure policy for plugins whose
	// manifest does not set one (failpolicy.go); zero fields take the
	// built-in defaults (breaker.Default). Now is its clock (tests set
	// it); nil means time.Now.
	FailurePolicy breaker.Policy
	Now           func() time.Time
}

// CallMetrics observes plugin calls made for connections: the plugin,
// the operation, the outcome (nil, or the error the caller gets: the
// plugin's own answer or the runtime's) and the duration, waiting for an
// instance included.
type CallMetrics interface {
	PluginCall(plugin, op string, err error, took time.Duration)
}

// Host is the operations facade. It is safe for concurrent use.
type Host struct {
	cfg Config
	log *slog.Logger
	// plugins is the loaded plugins, swapped whole when one is installed,
	// replaced or removed (hotplug.go): a call uses the set it read.
	plugins atomic.Pointer[pluginSet]
	hot     hotPlug
	tokens  []Token
	logs    *logfanout.Hub
	lists   listCache // ListAllServices' recent listings
	scrubs  sync.Map  // connection name → *cachedScrubber
	// svcNames remembers service names from plugin answers, for the audit log.
	svcNames nameCache
	refusals *refusalLimiter
	// watch remembers services' last state for Events (events.go).
	watch watcher
	// breakers fence failing connections (failpolicy.go).
	breakers      *breaker.Set
	defaultPolicy breaker.Policy
	// health is each connection's last check (health.go).
	health healthBook
}

// loadedPlugin is a plugin with its schemas compiled once.
type loadedPlugin struct {
	rt        *runtime.Plugin
	desc      pluginapi.DescribeResponse
	config    *schema.Schema
	spec      *schema.Schema
	actions   map[string]*schema.Schema // nil value: the action takes any params
	secrets   []string
	endpoints []string
	specSecr  []string
	// endpointDefaults are the "x-endpoint-default" templates by field.
	endpointDefaults map[string]string
	// endpointSchemes are the "x-endpoint-schemes" aliases by field.
	endpointSchemes map[string]map[string]endpointScheme
	loadedAt        time.Time
}

// New checks cfg and compiles every plugin's schemas once. A plugin whose
// schemas do not compile is left out, with an error logged.
func New(cfg Config) (*Host, error) {
	if cfg.Connections == nil || cfg.Audit == nil || cfg.Egress == nil {
		return nil, errors.New("ops: Connections, Audit and Egress are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: cfg.Logger}
	if err := h.initBreakers(); err != nil {
		return nil, err
	}
	h.refusals = newRefusalLimiter(cfg.RefusalLimit, h.auditSuppressed)
	set := &pluginSet{byName: map[string]*loadedPlugin{}, problems: map[string]PluginProblem{}}
	for _, p := range cfg.Plugins {
		lp, err := compilePlugin(p)
		if err != nil {
			h.log.Error("plugin left out: its schemas do not compile", "plugin", p.Name(), "path", p.Path(), "err", err)
			set.problems[p.Path()] = PluginProblem{File: p.Path(), Plugin: p.Name(), Error: err.Error(), At: time.Now().UTC()}
			continue
		}
		if _, dup := set.byName[p.Name()]; dup {
			return nil, fmt.Errorf("ops: two plugins are called %q", p.Name())
		}
		set.byName[p.Name()] = lp
	}
	for _, e := range cfg.LoadErrors {
		var le *runtime.LoadError
		if errors.As(e, &le) {
			set.problems[le.Path] = PluginProblem{File: le.Path, Error: le.Err.Error(), At: time.Now().UTC()}
		}
	}
	set.sortNames()
	h.plugins.Store(set)
	h.initHotPlug()

	seen := map[string]bool{}
	for i, t := range cfg.Tokens {
		t.SHA256 = strings.ToLower(strings.TrimSpace(t.SHA256))
		switch b, err := hex.DecodeString(t.SHA256); {
		case t.Name == "":
			return nil, fmt.Errorf("ops: token %d has no name", i)
		case seen[t.Name]:
			return nil, fmt.Errorf("ops: two tokens are called %q", t.Name)
		case err != nil || len(b) != sha256.Size:
			return nil, fmt.Errorf("ops: token %q: sha256 must be 64 hex digits", t.Name)
		case !t.Role.Valid():
			return nil, fmt.Errorf("ops: token %q: role %q is not one of viewer, operator, admin, owner", t.Name, t.Role)
		}
		if err := t.grant().Check(); err != nil {
			return nil, fmt.Errorf("ops: token %q: %w", t.Name, err)
		}
		seen[t.Name] = true
		h.tokens = append(h.tokens, t)
	}
	if h.Open() {
		h.log.Warn("auth: no API tokens configured: OPEN MODE, every caller is an owner (actor from the X-Wharf-Actor header, else \"anonymous\"); configure tokens before exposing this host")
	} else {
		h.log.Info("auth: authentication required", "bootstrap_tokens", len(h.tokens))
	}
	h.logs = logfanout.New(logfanout.Config{Source: logSource{h}, Buffer: cfg.LogBuffer, Logger: h.log})
	return h, nil
}

func compilePlugin(p *runtime.Plugin) (*loadedPlugin, error) {
	d := p.Describe()
	lp := &loadedPlugin{rt: p, desc: d, actions: map[string]*schema.Schema{}, loadedAt: time.Now().UTC()}
	var err error
	if lp.config, err = schema.Compile(d.ConfigSchema); err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	if lp.spec, err = schema.Compile(d.SpecSchema); err != nil {
		return nil, fmt.Errorf("spec schema: %w", err)
	}
	for _, a := range d.Actions {
		if len(a.ParamsSchema) == 0 {
			lp.actions[a.Name] = nil
			continue
		}
		s, err := schema.Compile(a.ParamsSchema)
		if err != nil {
			return nil, fmt.Errorf("params schema of action %s: %w", a.Name, err)
		}
		lp.actions[a.Name] = s
	}
	lp.secrets = lp.config.SecretFields()
	lp.endpoints = lp.config.EndpointFields()
	lp.specSecr = lp.spec.SecretFields()
	if lp.endpointDefaults, err = readEndpointDefaults(lp.config, lp.secrets); err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	if lp.endpointSchemes, err = readEndpointSchemes(lp.config); err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	legacyEndpointSchemes(lp, d.ABIVersion)
	return lp, nil
}

// Close stops the log followers and audits the refusals still being
// counted. Close the audit log after it.
func (h *Host) Close() {
	h.logs.Close()
	h.refusals.close()
}

// Open reports whether the host runs without tokens (local mode).
func (h *Host) Open() bool { return len(h.tokens) == 0 && !h.cfg.RequireAuth }

// MinTokenLength is the shortest bearer token accepted, in bytes. Tokens
// are configured as SHA-256 hashes, so a short one cannot be spotted at
// start; instead a presented token shorter than this is refused before it
// is hashed, which makes a short configured token unusable from its first
// use (and the refusal says why). `wharf tokens new` makes good ones.
const MinTokenLength = 32

// Authenticate turns a bearer token (may be "") and the X-Wharf-Actor
// header (used only in open mode) into a Caller with Actor and Role set;
// the face fills ClientAddr and RequestID. A missing, short or unknown
// token is CodeUnauthorized.
func (h *Host) Authenticate(bearer, actorHeader string) (Caller, error) {
	if h.Open() {
		actor := strings.TrimSpace(actorHeader)
		if actor == "" {
			actor = "anonymous"
		}
		return Caller{Actor: actor, Rights: access.Everything, Auth: "open"}, nil
	}
	if bearer == "" {
		return Caller{}, pluginapi.Errorf(pluginapi.CodeUnauthorized, "a bearer token is required")
	}
	if len(bearer) < MinTokenLength {
		return Caller{}, pluginapi.Errorf(pluginapi.CodeUnauthorized,
			"token refused: tokens are at least %d characters (make one with `wharf tokens new`)", MinTokenLength)
	}
	sum := sha256.Sum256([]byte(bearer))
	got := []byte(hex.EncodeToString(sum[:]))
	for _, t := range h.tokens {
		if subtle.ConstantTimeCompare(got, []byte(t.SHA256)) == 1 {
			return Caller{Actor: t.Name, Rights: access.Grants{t.grant()}, Auth: "token:" + t.Name}, nil
		}
	}
	return Caller{}, pluginapi.Errorf(pluginapi.CodeUnauthorized, "unknown token")
}

// BootstrapSession is what a session opened by pasting the bootstrap
// token secret stores to name it: the token's name and a prefix of its
// hash, so that changing the token in the config file ends its sessions.
func (h *Host) BootstrapSession(secret string) (key string, ok bool) {
	c, err := h.Authenticate(secret, "")
	if err != nil || h.Open() {
		return "", false
	}
	return "cfg:" + c.Actor + ":" + HashToken(secret)[:16], true
}

// BootstrapToken returns the grant of the bootstrap token a session key
// from BootstrapSession names, if the config still has it unchanged.
func (h *Host) BootstrapToken(key string) (access.Grant, string, bool) {
	rest, ok := strings.CutPrefix(key, "cfg:")
	if !ok {
		return access.Grant{}, "", false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return access.Grant{}, "", false
	}
	name, prefix := rest[:i], rest[i+1:]
	for _, t := range h.tokens {
		if t.Name == name && len(prefix) == 16 && subtle.ConstantTimeCompare([]byte(t.SHA256[:16]), []byte(prefix)) == 1 {
			return t.grant(), t.Name, true
		}
	}
	return access.Grant{}, "", false
}

// HashToken returns the hex SHA-256 of a bearer token, as Token.SHA256 wants it.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// grant is what a configured token may do.
func (t Token) grant() access.Grant {
	if t.Scope == nil {
		return access.Grant{Role: t.Role, Scope: access.All()}
	}
	return access.Grant{Role: t.Role, Scope: *t.Scope}
}

// rights is what c may do: its Rights, else its Role on everything.
func (c Caller) rights() access.Rights {
	if c.Rights != nil {
		return c.Rights
	}
	if c.Role == RoleOwner {
		return access.Everything
	}
	return access.Grants{{Role: c.Role, Scope: access.All()}}
}

// Access is what c may do where.
func (c Caller) Access() access.Rights { return c.rights() }

// Owner reports whether c holds the host-wide owner powers.
func (c Caller) Owner() bool { return c.rights().Owner() }

// Top is the most powerful role c holds on any connection (owner for an
// owner): what a page may offer before it knows the connection.
func (c Caller) Top() Role { return c.rights().Top() }

// RoleOn is c's role on a connection as ListConnections or GetConnection
// showed it.
func (c Caller) RoleOn(conn Connection) Role {
	return c.rights().RoleOn(access.Target{Name: conn.Name, Labels: conn.Labels})
}

// targetOf is what scopes match a connection by.
func targetOf(c connstore.Connection) access.Target {
	return access.Target{Name: c.Name, Labels: c.Labels}
}

// roleName is a role as refusals say it.
func roleName(r Role) string {
	if r == access.None {
		return "none"
	}
	return string(r)
}

// requireOwner refuses a caller without the host-wide owner powers.
func requireOwner(c Caller, what string) error {
	if c.rights().Owner() {
		return nil
	}
	return pluginapi.Errorf(pluginapi.CodeForbidden, "%s needs the owner role; %s is not an owner", what, actorName(c))
}

// authorizeOn refuses a caller whose role on the connection t describes
// does not reach need. A caller with no role there learns nothing: the
// refusal is the not_found an unknown name gets, and ev (if any) is marked
// so the audit entry records the truth, a denial.
func authorizeOn(c Caller, ev *auditEvent, t access.Target, need Role, what string) error {
	role := c.rights().RoleOn(t)
	if role.Allows(need) {
		return nil
	}
	denied := pluginapi.Errorf(pluginapi.CodeForbidden, "%s on connection %s needs the %s role; %s has %s there",
		what, t.Name, need, actorName(c), roleName(role))
	if role.Allows(RoleViewer) {
		return denied
	}
	if ev != nil {
		ev.denied = denied
	}
	return pluginapi.NotFound("connection %s not found", t.Name)
}

// authorizeNew refuses a caller who would not be admin on the connection t
// describes: one being created or relabelled.
func authorizeNew(c Caller, t access.Target, what string) error {
	if role := c.rights().RoleOn(t); !role.Allows(RoleAdmin) {
		return pluginapi.Errorf(pluginapi.CodeForbidden, "%s: %s would have the %s role on connection %s with these labels; it needs admin",
			what, actorName(c), roleName(role), t.Name)
	}
	return nil
}

// resolveFor resolves a connection for a caller who needs the role need
// on it to do what.
func (h *Host) resolveFor(ctx context.Context, c Caller, ev *auditEvent, name string, need Role, what string) (*target, error) {
	t, err := h.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := authorizeOn(c, ev, targetOf(t.conn), need, what); err != nil {
		return nil, err
	}
	if ev != nil {
		ev.labels = t.conn.Labels // for Events
	}
	return t, nil
}

func actorName(c Caller) string {
	if c.Actor == "" {
		return "the caller"
	}
	return c.Actor
}

// target is a resolved connection: what a plugin call needs.
type target struct {
	conn connstore.Connection
	p    *loadedPlugin
}

// resolve finds a connection and its plugin.
func (h *Host) resolve(ctx context.Context, name string) (*target, error) {
	if name == "" {
		return nil, pluginapi.Invalid("/connection", "a connection name is required")
	}
	c, err := h.cfg.Connections.Get(ctx, name)
	if err != nil {
		return nil, storeErr(err)
	}
	p := h.plugin(c.Plugin)
	if p == nil {
		return nil, pluginMissing(name, c.Plugin)
	}
	return &target{conn: c, p: p}, nil
}

// storeErr keeps structured store errors and hides the others' text.
func storeErr(err error) error {
	var pe *pluginapi.Error
	if errors.As(err, &pe) {
		return pe
	}
	return &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "connection store: " + err.Error()}
}

// request is the Request every plugin call embeds: config without secrets.
func (t *target) request() pluginapi.Request {
	return pluginapi.Request{Connection: t.conn.Name, Config: schema.StripSecrets(t.conn.Config, t.p.secrets)}
}

// handler is the egress handler of calls for this connection, and the
// scrubber of their answers.
func (h *Host) handler(t *target) (*egress.Handler, *scrubber, error) {
	var full map[string]any
	if len(t.conn.Config) > 0 {
		if err := json.Unmarshal(t.conn.Config, &full); err != nil {
			return nil, nil, pluginapi.Errorf(pluginapi.CodeInternal, "connection %s: stored config is not a JSON object", t.conn.Name)
		}
	}
	approved, pending := t.p.splitHosts(t.conn.ApprovedHosts)
	return h.cfg.Egress.For(egress.Target{Connection: t.conn.Name, Config: t.p.effectiveConfig(full),
		SecretFields: t.p.secrets, EndpointFields: t.p.endpoints, ApprovedHosts: approved, PendingHosts: pending}), h.scrubberFor(t, full), nil
}

// errorer is every plugin response: they all embed pluginapi.Response.
type errorer interface{ Err() error }

// call runs op on the connection's plugin and decodes the answer into resp.
// A call refused by a version of the plugin just replaced (hot plug) is
// made again on the new one: the old refused it before running anything.
//
// The connection's breaker (failpolicy.go) comes first: while it is open
// the call fails fast without reaching the plugin.
func (h *Host) call(ctx context.Context, t *target, op string, req any, resp errorer) error {
	ticket, open, ok := h.breakers.Allow(t.conn.Name, t.p.rt.Name())
	if !ok {
		return failingError(open, h.cfg.Now())
	}
	out := callOutcome{o: breaker.NotRun}
	var err error
	defer func() {
		// The policy of the version that ran, which a swap may have changed.
		msg := ""
		if out.o == breaker.Failed {
			msg = shortError(err)
		}
		h.breakers.Done(ticket, out.o, h.policyOf(t.p), out.fault, msg)
	}()
	for attempt := 1; ; attempt++ {
		out, err = h.callOnce(ctx, t, op, req, resp)
		if !errors.Is(err, runtime.ErrClosed) {
			return err
		}
		cur := h.plugin(t.p.rt.Name())
		if cur == nil || cur == t.p || attempt == 3 {
			err = fromPlugin(t.p.rt.Name(), err)
			return err
		}
		t.p = cur
	}
}

func (h *Host) callOnce(ctx context.Context, t *target, op string, req any, resp errorer) (_ callOutcome, err error) {
	notRun := callOutcome{o: breaker.NotRun}
	in, err := json.Marshal(req)
	if err != nil {
		return notRun, pluginapi.Errorf(pluginapi.CodeInternal, "encode %s request: %v", op, err)
	}
	hd, sc, err := h.handler(t)
	if err != nil {
		return notRun, err
	}
	if m := h.cfg.Metrics; m != nil {
		start := time.Now()
		defer func() { m.PluginCall(t.p.rt.Name(), op, err, time.Since(start)) }()
	}
	out, err := t.p.rt.CallFor(withScrubber(ctx, sc), t.conn.Name, op, in, hd)
	if errors.Is(err, runtime.ErrClosed) {
		return notRun, err // call tries the version swapped in, if any
	}
	if err != nil {
		// A trap or timeout counts against the connection's breaker; the
		// runtime's other refusals (a full pool, the caller gone) do not.
		o := notRun
		if f := runtime.FaultOf(err); f != "" {
			o = callOutcome{o: breaker.Failed, fault: f}
		}
		return o, sc.Error(fromPlugin(t.p.rt.Name(), err))
	}
	answered := callOutcome{o: breaker.Answered}
	// Nothing a plugin answers leaves the host with a secret in it.
	if err := decodeAnswer(t.p.rt.Name(), op, out, sc.JSON, resp); err != nil {
		return answered, fromPlugin(t.p.rt.Name(), err)
	}
	if err := resp.Err(); err != nil {
		return answered, sc.Error(fromPlugin(t.p.rt.Name(), err))
	}
	t.p.keepDeclaredActions(resp)
	h.svcNames.learn(t.conn.Name, resp)
	h.observeAnswer(t, op, resp)
	return callOutcome{o: breaker.Succeeded}, nil
}

// PluginDetail is the Error.Detail key naming the plugin an error came from.
// Faces show the message of such an error even when it is internal: it is
// about the plugin (its panic, its platform's odd answer), not the host.
const PluginDetail = "plugin"

// fromPlugin marks err as coming from plugin name, on a copy.
func fromPlugin(name string, err error) error {
	e := *pluginapi.AsError(err)
	detail := make(map[string]any, len(e.Detail)+1)
	for k, v := range e.Detail {
		detail[k] = v
	}
	if _, ok := detail[PluginDetail]; !ok {
		detail[PluginDetail] = name
	}
	e.Detail = detail
	return &e
}

// supports refuses an optional operation the plugin does not declare.
func (t *target) supports(op string) error {
	if t.p.desc.Supports(op) {
		return nil
	}
	return pluginapi.Unsupported("plugin %s (connection %s) does not offer %s", t.p.rt.Name(), t.conn.Name, op)
}

// auditEvent is what an audited operation records. A mutating method
// makes it first and fills it as it learns (plugin, request, scrubber), so
// that a refusal before the operation runs is audited too (auditRefusal).
type auditEvent struct {
	op, conn, plugin, target string
	// targetName is the target's name when known before the call (a
	// create's spec name, a patched service's name); else the name is
	// looked up in what plugin answers showed.
	targetName string
	request    any // JSON-encoded, secrets already redacted
	// scrub cleans the record of the connection's secret values; every
	// caller has the connection at hand, so none is read again here.
	scrub *scrubber
	// ran is set once audited took the operation: it is audited there.
	ran bool
	// denied is the true refusal of a caller who was told not_found
	// because the connection is hidden from them; the audit records it.
	denied error
	// labels are the connection's; answer is the plugin's answer to a
	// change of a service, once it ran. Both for Events.
	labels map[string]string
	answer *pluginapi.ServiceResponse
}

// audited records ev as started (refusing the operation if that fails),
// runs fn, and records its outcome. fn returns the target it produced (the
// id of a created service) and its error.
func (h *Host) audited(ctx context.Context, c Caller, ev *auditEvent, fn func() (string, error)) error {
	ev.ran = true
	var body json.RawMessage
	if ev.request != nil {
		b, err := json.Marshal(ev.request)
		if err != nil {
			return pluginapi.Errorf(pluginapi.CodeInternal, "encode audit record: %v", err)
		}
		body = b
	}
	body = ev.scrub.JSON(body)
	name := h.targetName(ev)
	id, err := h.cfg.Audit.Start(ctx, audit.Event{Actor: c.Actor, ClientAddr: c.ClientAddr, RequestID: c.RequestID,
		Connection: ev.conn, Plugin: ev.plugin, Operation: ev.op, Target: ev.target, TargetName: name, Request: body})
	if err != nil {
		h.log.Error("audit start failed: operation refused", "op", ev.op, "connection", ev.conn, "err", err)
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "the audit log cannot record this operation, so it was not run")
	}
	h.expectChange(ev)
	start := time.Now()
	produced, opErr := fn()
	if ev.conn != "" {
		// Whatever happened, the connection's cached listing may be stale.
		h.lists.invalidate(ev.conn)
	}
	o := audit.Outcome{Target: produced, Duration: time.Since(start)}
	if isServiceOp(ev.op) && name == "" {
		// Learned from the plugin's answer, if it named the service.
		o.TargetName = h.svcNames.name(ev.conn, cmp.Or(produced, ev.target))
	}
	if opErr != nil {
		o.Error = pluginapi.AsError(ev.scrub.Error(opErr))
	}
	// The outcome is recorded even if the caller has gone away.
	if err := h.cfg.Audit.Finish(context.WithoutCancel(ctx), id, o); err != nil {
		h.log.Error("audit finish failed", "audit_id", id, "op", ev.op, "err", err)
	}
	if opErr == nil {
		h.emitChange(c, ev, produced)
	}
	return opErr
}

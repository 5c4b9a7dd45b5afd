// Package auth turns what a request presents (a bearer token, a session
// cookie, a finished single sign-on) into an ops.Caller with the rights its
// role bindings give, and manages the identity objects behind it: sessions,
// managed API tokens, role bindings and users. Every identity event is
// written to the audit log.
//
// Rights are resolved on each request from the identity store, so a
// revoked token, an ended session, a disabled user or a removed binding
// takes effect on the next request.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Token lifetimes.
const (
	DefaultTokenMaxLifetime = 90 * 24 * time.Hour
	// MaxTokenMaxLifetime bounds the configured maximum: a token that never
	// needs renewing is a token nobody remembers to revoke.
	MaxTokenMaxLifetime = 366 * 24 * time.Hour
)

// Options wires an Authenticator. Host, Store and Audit are required.
type Options struct {
	Host  *ops.Host
	Store *identity.Store
	Audit *audit.Log
	// TokenMaxLifetime is the longest expiry a new token may have;
	// default DefaultTokenMaxLifetime, at most MaxTokenMaxLifetime.
	TokenMaxLifetime time.Duration
	// SSO are the identity providers users sign in with, if any.
	SSO *SSO
	// Proxy, if set, trusts an authenticating gateway's user headers.
	Proxy  *ProxyAuth
	Logger *slog.Logger
	Now    func() time.Time
}

// Authenticator resolves callers and manages identity objects. It is safe
// for concurrent use.
type Authenticator struct {
	o     Options
	log   *slog.Logger
	proxy *proxyAuth // nil: off

	mu       sync.Mutex
	gen      int64 // the store generation bindings were read at; -1: never
	bindings []access.Binding
}

// Client is what the request says about who sent it.
type Client struct {
	Addr, UserAgent, RequestID string
}

// New checks o.
func New(o Options) (*Authenticator, error) {
	if o.Host == nil || o.Store == nil || o.Audit == nil {
		return nil, errors.New("auth: Host, Store and Audit are required")
	}
	switch {
	case o.TokenMaxLifetime == 0:
		o.TokenMaxLifetime = DefaultTokenMaxLifetime
	case o.TokenMaxLifetime < time.Hour || o.TokenMaxLifetime > MaxTokenMaxLifetime:
		return nil, fmt.Errorf("auth: tokens.max_lifetime must be between 1h and %s, not %s", MaxTokenMaxLifetime, o.TokenMaxLifetime)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Authenticator{o: o, log: o.Logger, gen: -1}
	if o.Proxy != nil {
		p, err := checkProxy(*o.Proxy)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.proxy = p
	}
	return a, nil
}

// TokenMaxLifetime is the longest expiry a new token may have.
func (a *Authenticator) TokenMaxLifetime() time.Duration { return a.o.TokenMaxLifetime }

// SSO is the identity providers users sign in with (nil: none).
func (a *Authenticator) SSO() *SSO { return a.o.SSO }

// Open reports whether the host lets everyone in as an owner.
func (a *Authenticator) Open() bool { return a.o.Host.Open() }

// unauthorized is the refusal of a credential.
func unauthorized(format string, args ...any) error {
	return pluginapi.Errorf(pluginapi.CodeUnauthorized, format, args...)
}

// Bearer authenticates an Authorization: Bearer credential: a managed
// token (wharf_pat_…) or a bootstrap token of the config (or, on an open
// host, anyone, named by actorHeader).
func (a *Authenticator) Bearer(ctx context.Context, bearer, actorHeader string, cl Client) (ops.Caller, error) {
	if identity.LooksLikeToken(bearer) {
		t, err := a.o.Store.TokenBySecret(ctx, bearer)
		if err != nil {
			return ops.Caller{}, a.tokenRefused(ctx, t, err, cl)
		}
		c, err := a.tokenCaller(ctx, t, cl)
		if err != nil {
			return ops.Caller{}, err
		}
		c.Auth = "pat:" + t.ID
		a.noteTokenUse(ctx, t, c, cl)
		return c, nil
	}
	c, err := a.o.Host.Authenticate(bearer, actorHeader)
	if err != nil {
		return ops.Caller{}, err
	}
	return a.withBootstrapBindings(ctx, c, cl)
}

// tokenRefused turns TokenBySecret's error into a 401, auditing the first
// refusal of an expired token as its expiry.
func (a *Authenticator) tokenRefused(ctx context.Context, t identity.Token, err error, cl Client) error {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return unauthorized("unknown token")
	case errors.Is(err, identity.ErrTokenRevoked):
		return unauthorized("token %s (%s) was revoked on %s", t.Name, t.ID, t.RevokedAt.UTC().Format(time.RFC3339))
	case errors.Is(err, identity.ErrTokenExpired):
		a.noteTokenExpired(ctx, t, cl)
		return unauthorized("token %s (%s) expired on %s", t.Name, t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	a.log.Error("auth: token lookup failed", "err", err)
	return pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot check the token now: the identity store failed")
}

// noteTokenExpired audits a token's expiry the first time a use of it is
// refused for it, whether the use came as a bearer or through a session.
func (a *Authenticator) noteTokenExpired(ctx context.Context, t identity.Token, cl Client) {
	if first, err := a.o.Store.NoteTokenExpired(ctx, t.ID); err == nil && first {
		a.record(ctx, ops.Caller{Actor: "wharf", Auth: "system", ClientAddr: cl.Addr, RequestID: cl.RequestID},
			"auth.token.expire", t.ID, map[string]any{"token": t.ID, "name": t.Name, "expires_at": t.ExpiresAt}, nil)
	}
}

// noteTokenUse records the use, auditing the first one.
func (a *Authenticator) noteTokenUse(ctx context.Context, t identity.Token, c ops.Caller, cl Client) {
	first, err := a.o.Store.MarkTokenUsed(ctx, t.ID, cl.Addr)
	if err != nil {
		a.log.Warn("auth: cannot record a token's use", "token", t.ID, "err", err)
		return
	}
	if first {
		a.record(ctx, c, "auth.token.first-use", t.ID, map[string]any{"token": t.ID, "name": t.Name}, nil)
	}
}

// tokenCaller is the caller a live managed token stands for: its grants
// and the bindings of token:<id>, bounded by its user's current rights.
func (a *Authenticator) tokenCaller(ctx context.Context, t identity.Token, cl Client) (ops.Caller, error) {
	bs, err := a.currentBindings(ctx)
	if err != nil {
		return ops.Caller{}, err
	}
	own := append(access.Grants{}, t.Grants...)
	own = append(own, access.GrantsFor(bs, access.Token(t.ID))...)
	c := ops.Caller{Actor: "service:" + t.Name, Rights: own, TokenID: t.ID, ClientAddr: cl.Addr, RequestID: cl.RequestID}
	if t.UserID == "" {
		return c, nil
	}
	u, err := a.o.Store.User(ctx, t.UserID)
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return ops.Caller{}, unauthorized("token %s: its user is gone", t.ID)
		}
		return ops.Caller{}, a.storeFailed(err)
	}
	if u.Disabled {
		return ops.Caller{}, unauthorized("token %s: its user %s is disabled", t.ID, userActor(u))
	}
	c.Actor, c.UserID = userActor(u), u.ID
	c.Rights = access.Intersect(own, userGrants(bs, u))
	return c, nil
}

// withBootstrapBindings adds the bindings of token:<name> to a bootstrap
// token's own grant.
func (a *Authenticator) withBootstrapBindings(ctx context.Context, c ops.Caller, cl Client) (ops.Caller, error) {
	c.ClientAddr, c.RequestID = cl.Addr, cl.RequestID
	name, ok := strings.CutPrefix(c.Auth, "token:")
	if !ok {
		return c, nil // open mode
	}
	bs, err := a.currentBindings(ctx)
	if err != nil {
		return ops.Caller{}, err
	}
	if extra := access.GrantsFor(bs, access.Token(name)); len(extra) > 0 {
		c.Rights = append(append(access.Grants{}, grantsOf(c.Access())...), extra...)
	}
	return c, nil
}

// grantsOf unwraps rights that are a plain list of grants.
func grantsOf(r access.Rights) access.Grants {
	if gs, ok := r.(access.Grants); ok {
		return gs
	}
	return nil
}

// userActor names a user in the audit log: provider/username.
func userActor(u identity.User) string { return u.Provider + "/" + u.Username }

// userGrants is what the bindings give a user: those of the user and of
// each of their groups.
func userGrants(bs []access.Binding, u identity.User) access.Grants {
	subjects := []access.Subject{access.User(u.Provider, u.Username)}
	for _, g := range u.Groups {
		subjects = append(subjects, access.Group(u.Provider, g))
	}
	return access.GrantsFor(bs, subjects...)
}

// currentBindings returns the bindings, read again only when the store's
// generation moved (any process may have changed them).
func (a *Authenticator) currentBindings(ctx context.Context) ([]access.Binding, error) {
	gen, err := a.o.Store.Generation(ctx)
	if err != nil {
		return nil, a.storeFailed(err)
	}
	a.mu.Lock()
	if gen == a.gen {
		bs := a.bindings
		a.mu.Unlock()
		return bs, nil
	}
	a.mu.Unlock()
	bs, err := a.o.Store.Bindings(ctx)
	if err != nil {
		return nil, a.storeFailed(err)
	}
	a.mu.Lock()
	if gen > a.gen {
		a.gen, a.bindings = gen, bs
	}
	a.mu.Unlock()
	return bs, nil
}

// storeFailed logs a store failure and answers a retryable error.
func (a *Authenticator) storeFailed(err error) error {
	a.log.Error("auth: identity store failed", "err", err)
	return pluginapi.Errorf(pluginapi.CodeUnavailable, "the identity store failed; try again")
}

// Session authenticates a session cookie's secret.
func (a *Authenticator) Session(ctx context.Context, secret string, cl Client) (ops.Caller, error) {
	if secret == "" {
		return ops.Caller{}, unauthorized("sign in first")
	}
	s, err := a.o.Store.SessionBySecret(ctx, secret)
	if err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			return ops.Caller{}, unauthorized("your session has ended: sign in again")
		}
		return ops.Caller{}, a.storeFailed(err)
	}
	c, err := a.principalCaller(ctx, s.Principal, cl)
	if err != nil {
		if pluginapi.AsError(err).Code == pluginapi.CodeUnauthorized {
			// What the session stood for is gone: so is the session.
			_ = a.o.Store.DeleteSession(ctx, s.ID)
		}
		return ops.Caller{}, err
	}
	c.SessionID = s.ID
	c.Auth = "session:" + s.Method
	return c, nil
}

// principalCaller is the caller a session's principal stands for now.
func (a *Authenticator) principalCaller(ctx context.Context, principal string, cl Client) (ops.Caller, error) {
	switch {
	case strings.HasPrefix(principal, "usr_"):
		u, err := a.o.Store.User(ctx, principal)
		if err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				return ops.Caller{}, unauthorized("your user record is gone: sign in again")
			}
			return ops.Caller{}, a.storeFailed(err)
		}
		if u.Disabled {
			return ops.Caller{}, unauthorized("user %s is disabled", userActor(u))
		}
		bs, err := a.currentBindings(ctx)
		if err != nil {
			return ops.Caller{}, err
		}
		return ops.Caller{Actor: userActor(u), Rights: userGrants(bs, u), UserID: u.ID,
			ClientAddr: cl.Addr, RequestID: cl.RequestID}, nil
	case strings.HasPrefix(principal, "tok_"):
		t, err := a.o.Store.Token(ctx, principal)
		if err != nil {
			if errors.Is(err, identity.ErrNotFound) {
				return ops.Caller{}, unauthorized("the token this session was opened with is gone")
			}
			return ops.Caller{}, a.storeFailed(err)
		}
		if !t.RevokedAt.IsZero() {
			return ops.Caller{}, unauthorized("the token this session was opened with was revoked")
		}
		if !a.o.Now().Before(t.ExpiresAt) {
			a.noteTokenExpired(ctx, t, cl)
			return ops.Caller{}, unauthorized("the token this session was opened with has expired")
		}
		c, err := a.tokenCaller(ctx, t, cl)
		if err == nil {
			a.noteTokenUse(ctx, t, c, cl)
		}
		return c, err
	case strings.HasPrefix(principal, "cfg:"):
		g, name, ok := a.o.Host.BootstrapToken(principal)
		if !ok {
			return ops.Caller{}, unauthorized("the bootstrap token this session was opened with is no longer configured")
		}
		return a.withBootstrapBindings(ctx, ops.Caller{Actor: name, Rights: access.Grants{g}, Auth: "token:" + name}, cl)
	}
	return ops.Caller{}, unauthorized("unknown session")
}

// SignIn records a finished single sign-on: it creates or updates the
// user and opens a session. The secret goes into the cookie.
func (a *Authenticator) SignIn(ctx context.Context, id oidc.Identity, cl Client) (secret string, _ ops.Caller, err error) {
	method := "oidc:" + id.Provider
	u, created, err := a.o.Store.UpsertUser(ctx, identity.UserInput{Provider: id.Provider, Subject: id.Subject,
		Username: id.Username, Name: id.Name, Email: id.Email, Groups: id.Groups})
	if err != nil {
		a.SignInFailed(ctx, method, id.Provider+"/"+id.Username, err.Error(), cl)
		var inv *identity.InvalidError
		if errors.As(err, &inv) {
			return "", ops.Caller{}, pluginapi.Errorf(pluginapi.CodeForbidden, "the identity provider's answer cannot be used: %s", inv.Error())
		}
		if errors.Is(err, identity.ErrUsernameTaken) {
			return "", ops.Caller{}, pluginapi.Errorf(pluginapi.CodeForbidden,
				"username %s/%s belongs to another user of this host (bindings name users by username): ask an owner", id.Provider, id.Username)
		}
		return "", ops.Caller{}, a.storeFailed(err)
	}
	if u.Disabled {
		a.SignInFailed(ctx, method, userActor(u), "user disabled", cl)
		return "", ops.Caller{}, pluginapi.Errorf(pluginapi.CodeForbidden, "user %s is disabled on this host: ask an owner", userActor(u))
	}
	secret, s, err := a.o.Store.CreateSession(ctx, identity.SessionInput{Principal: u.ID, UserID: u.ID, Method: method,
		ClientAddr: cl.Addr, UserAgent: cl.UserAgent})
	if err != nil {
		if errors.Is(err, identity.ErrUserDisabled) {
			a.SignInFailed(ctx, method, userActor(u), "user disabled", cl)
			return "", ops.Caller{}, pluginapi.Errorf(pluginapi.CodeForbidden, "user %s is disabled on this host: ask an owner", userActor(u))
		}
		return "", ops.Caller{}, a.storeFailed(err)
	}
	c, err := a.principalCaller(ctx, u.ID, cl)
	if err != nil {
		return "", ops.Caller{}, err
	}
	c.SessionID, c.Auth = s.ID, "session:"+method
	a.record(ctx, c, "auth.signin", u.ID, map[string]any{"method": method, "user": u.ID, "new_user": created,
		"groups": u.Groups, "session": s.ID}, nil)
	return secret, c, nil
}

// SignInWithToken opens a session with a pasted token: a managed token or
// a bootstrap token. On an open host there is nothing to sign in to.
func (a *Authenticator) SignInWithToken(ctx context.Context, token string, cl Client) (secret string, _ ops.Caller, err error) {
	token = strings.TrimSpace(token)
	if a.Open() {
		return "", ops.Caller{}, pluginapi.Errorf(pluginapi.CodeConflict, "this host is open: there is nothing to sign in to")
	}
	var in identity.SessionInput
	c, err := a.Bearer(ctx, token, "", cl)
	switch {
	case err != nil:
		a.SignInFailed(ctx, "token", "", pluginapi.AsError(err).Message, cl)
		return "", ops.Caller{}, err
	case c.TokenID != "":
		in = identity.SessionInput{Principal: c.TokenID, UserID: c.UserID, Method: "token"}
	default:
		key, ok := a.o.Host.BootstrapSession(token)
		if !ok {
			return "", ops.Caller{}, unauthorized("unknown token")
		}
		in = identity.SessionInput{Principal: key, Method: "bootstrap-token"}
	}
	in.ClientAddr, in.UserAgent = cl.Addr, cl.UserAgent
	secret, s, err := a.o.Store.CreateSession(ctx, in)
	if err != nil {
		if errors.Is(err, identity.ErrUserDisabled) {
			return "", ops.Caller{}, unauthorized("the token's user is disabled")
		}
		return "", ops.Caller{}, a.storeFailed(err)
	}
	c.SessionID, c.Auth = s.ID, "session:"+in.Method
	a.record(ctx, c, "auth.signin", "", map[string]any{"method": in.Method, "session": s.ID}, nil)
	return secret, c, nil
}

// SignInFailed audits a refused sign-in: method is "oidc:<provider>" or
// "token", who what is known of the person (may be empty).
func (a *Authenticator) SignInFailed(ctx context.Context, method, who, reason string, cl Client) {
	if who == "" {
		who = "unknown"
	}
	c := ops.Caller{Actor: who, Auth: method, ClientAddr: cl.Addr, RequestID: cl.RequestID}
	a.record(ctx, c, "auth.signin", "", map[string]any{"method": method},
		pluginapi.Errorf(pluginapi.CodeUnauthorized, "%s", reason))
}

// SignOut ends the caller's session on the server.
func (a *Authenticator) SignOut(ctx context.Context, c ops.Caller) error {
	if c.SessionID == "" {
		return nil
	}
	err := a.o.Store.DeleteSession(ctx, c.SessionID)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return a.storeFailed(err)
	}
	a.record(ctx, c, "auth.signout", c.SessionID, map[string]any{"session": c.SessionID}, nil)
	return nil
}

// record writes an identity event to the audit log. These entries name no
// connection, so only owners see them. A failure to record is logged: the
// event itself already happened.
func (a *Authenticator) record(ctx context.Context, c ops.Caller, op, target string, request any, failure error) {
	e := audit.Event{Actor: c.Actor, ClientAddr: c.ClientAddr, RequestID: c.RequestID, Operation: op, Target: target}
	if b, err := marshalRequest(c, request); err == nil {
		e.Request = b
	}
	var o audit.Outcome
	if failure != nil {
		o.Error = pluginapi.AsError(failure)
		if o.Error.Code == pluginapi.CodeForbidden {
			o.Refused = audit.OutcomeDenied
		}
	}
	if _, err := a.o.Audit.Record(context.WithoutCancel(ctx), e, o); err != nil {
		a.log.Error("auth: cannot audit an identity event", "operation", op, "err", err)
	}
}

// marshalRequest encodes an identity event's request with how the caller
// authenticated ("auth"), which the audit entry has no column for.
func marshalRequest(c ops.Caller, request any) ([]byte, error) {
	m := map[string]any{}
	if r, ok := request.(map[string]any); ok {
		for k, v := range r {
			m[k] = v
		}
	} else if request != nil {
		m["request"] = request
	}
	if c.Auth != "" {
		m["auth"] = c.Auth
	}
	return json.Marshal(m)
}

// audited runs a management mutation between an audit start and finish:
// if the start cannot be written the mutation does not run, so no
// acknowledged change is missing from the log.
func (a *Authenticator) audited(ctx context.Context, c ops.Caller, op, target string, request any, fn func() (string, error)) error {
	body, err := marshalRequest(c, request)
	if err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "encode audit record: %v", err)
	}
	id, err := a.o.Audit.Start(ctx, audit.Event{Actor: c.Actor, ClientAddr: c.ClientAddr, RequestID: c.RequestID,
		Operation: op, Target: target, Request: body})
	if err != nil {
		a.log.Error("auth: audit start failed: operation refused", "operation", op, "err", err)
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "the audit log cannot record this operation, so it was not run")
	}
	produced, opErr := fn()
	o := audit.Outcome{Target: produced}
	if opErr != nil {
		o.Error = pluginapi.AsError(opErr)
	}
	if err := a.o.Audit.Finish(context.WithoutCancel(ctx), id, o); err != nil {
		a.log.Error("auth: audit finish failed", "operation", op, "err", err)
	}
	return opErr
}

// denied audits and returns a refusal of a mutation for lack of rights.
func (a *Authenticator) denied(ctx context.Context, c ops.Caller, op, target string, request any, format string, args ...any) error {
	err := pluginapi.Errorf(pluginapi.CodeForbidden, format, args...)
	a.record(ctx, c, op, target, request, err)
	return err
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Me is who a caller is and what they may do.
type Me struct {
	Actor string `json:"actor"`
	// Auth is how the caller authenticated: "session:oidc:corp",
	// "pat:tok_…", "token:<bootstrap name>", "open" …
	Auth    string      `json:"auth"`
	Owner   bool        `json:"owner"`
	TopRole access.Role `json:"top_role"`
	// Grants are the grants the caller holds: a user's from their bindings
	// and groups, a token's own ones with its bindings.
	Grants access.Grants `json:"grants"`
	// UserGrants, for a user's token, are the user's current grants: the
	// token never does more than both allow.
	UserGrants access.Grants  `json:"user_grants,omitempty"`
	User       *identity.User `json:"user,omitempty"`
	TokenID    string         `json:"token_id,omitempty"`
	SessionID  string         `json:"session_id,omitempty"`
}

// Me describes the caller.
func (a *Authenticator) Me(ctx context.Context, c ops.Caller) (Me, error) {
	me := Me{Actor: c.Actor, Auth: c.Auth, Owner: c.Owner(), TopRole: c.Top(), TokenID: c.TokenID,
		SessionID: c.SessionID, Grants: grantsOf(c.Access())}
	bs, err := a.currentBindings(ctx)
	if err != nil {
		return Me{}, err
	}
	if c.UserID != "" {
		u, err := a.o.Store.User(ctx, c.UserID)
		if err != nil {
			return Me{}, a.storeErr(err)
		}
		me.User = &u
		if c.TokenID != "" {
			me.UserGrants = userGrants(bs, u)
		} else {
			me.Grants = userGrants(bs, u)
		}
	}
	if c.TokenID != "" {
		t, err := a.o.Store.Token(ctx, c.TokenID)
		if err != nil {
			return Me{}, a.storeErr(err)
		}
		me.Grants = append(append(access.Grants{}, t.Grants...), access.GrantsFor(bs, access.Token(t.ID))...)
	}
	if me.Grants == nil {
		me.Grants = access.Grants{}
	}
	return me, nil
}

// storeErr maps the identity store's errors to the API's.
func (a *Authenticator) storeErr(err error) error {
	var inv *identity.InvalidError
	switch {
	case errors.As(err, &inv):
		return pluginapi.Invalid(inv.Field, "%s", inv.Reason)
	case errors.Is(err, identity.ErrNotFound):
		return pluginapi.NotFound("%s", err.Error())
	case errors.Is(err, identity.ErrConflict), errors.Is(err, identity.ErrTokenRevoked), errors.Is(err, identity.ErrTokenExpired):
		// A revoked or expired token cannot be revoked again or rotated:
		// the token's state, not a failure to retry.
		return pluginapi.Errorf(pluginapi.CodeConflict, "%s", err.Error())
	case errors.Is(err, identity.ErrUserDisabled):
		return pluginapi.Errorf(pluginapi.CodeForbidden, "%s", err.Error())
	}
	var pe *pluginapi.Error
	if errors.As(err, &pe) {
		return pe
	}
	return a.storeFailed(err)
}

// TokenRequest asks for a new managed token.
type TokenRequest struct {
	Name   string        `json:"name"`
	Grants access.Grants `json:"grants"`
	// ExpiresAt is required, at most TokenMaxLifetime from now.
	ExpiresAt time.Time `json:"expires_at"`
	// ServiceAccount makes a token of no user (for automation); only
	// owners may. Otherwise the token belongs to the calling user.
	ServiceAccount bool `json:"service_account,omitempty"`
}

// NewToken is a created (or rotated) token with its secret, shown once.
type NewToken struct {
	identity.Token
	Secret string `json:"secret"`
}

// CreateToken creates a token of the caller (or a service account, for an
// owner) whose grants the caller's own rights cover.
func (a *Authenticator) CreateToken(ctx context.Context, c ops.Caller, req TokenRequest) (NewToken, error) {
	const op = "auth.token.create"
	audited := map[string]any{"name": req.Name, "grants": req.Grants, "expires_at": req.ExpiresAt, "service_account": req.ServiceAccount}
	owner := c.UserID
	switch {
	case req.ServiceAccount && !c.Owner():
		return NewToken{}, a.denied(ctx, c, op, "", audited, "a service-account token needs the owner role; %s is not an owner", c.Actor)
	case req.ServiceAccount:
		owner = ""
	case c.UserID == "":
		return NewToken{}, pluginapi.Invalid("/service_account",
			"%s is not a signed-in user, so the token can only be a service account's (service_account: true, owners only)", c.Actor)
	}
	now := a.o.Now()
	switch {
	case req.ExpiresAt.IsZero():
		return NewToken{}, pluginapi.Invalid("/expires_at", "an expiry is required (RFC 3339, at most %s from now)", lifetimeText(a.o.TokenMaxLifetime))
	case req.ExpiresAt.After(now.Add(a.o.TokenMaxLifetime)):
		return NewToken{}, pluginapi.Invalid("/expires_at", "%s is more than %s from now, the longest this host allows",
			req.ExpiresAt.UTC().Format(time.RFC3339), lifetimeText(a.o.TokenMaxLifetime))
	}
	if err := req.Grants.Check(); err != nil {
		return NewToken{}, pluginapi.Invalid("/grants", "%v", err)
	}
	for i, g := range req.Grants {
		if !c.Access().Covers(g) {
			return NewToken{}, a.denied(ctx, c, op, "", audited,
				"grants/%d: %s is wider than the rights of %s; a token can only be given what its creator holds", i, g, c.Actor)
		}
	}
	var out NewToken
	err := a.audited(ctx, c, op, "", audited, func() (string, error) {
		secret, t, err := a.o.Store.CreateToken(ctx, identity.TokenInput{Name: req.Name, UserID: owner, Grants: req.Grants,
			ExpiresAt: req.ExpiresAt, CreatedBy: c.Actor})
		if err != nil {
			return "", a.storeErr(err)
		}
		out = NewToken{Token: t, Secret: secret}
		return t.ID, nil
	})
	return out, err
}

func lifetimeText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// Whose tokens or sessions Tokens and Sessions list.
const (
	Mine            = ""        // the caller's own
	ServiceAccounts = "service" // tokens of no user (owners)
	Everyone        = "all"     // everyone's (owners)
)

// Tokens lists tokens: the caller's own (whose Mine), service accounts',
// everyone's or a user's by id (the last three for owners, or a user's own).
func (a *Authenticator) Tokens(ctx context.Context, c ops.Caller, whose string) ([]identity.Token, error) {
	if whose == Mine || whose == c.UserID {
		if c.UserID == "" {
			if !c.Owner() {
				return []identity.Token{}, nil
			}
			whose = ServiceAccounts
		} else {
			whose = c.UserID
		}
	}
	if whose != c.UserID && !c.Owner() {
		return nil, pluginapi.Errorf(pluginapi.CodeForbidden, "listing the tokens of others needs the owner role; %s is not an owner", c.Actor)
	}
	var ts []identity.Token
	var err error
	switch whose {
	case ServiceAccounts:
		ts, err = a.o.Store.Tokens(ctx, "", false)
	case Everyone:
		ts, err = a.o.Store.Tokens(ctx, "", true)
	default:
		ts, err = a.o.Store.Tokens(ctx, whose, false)
	}
	if err != nil {
		return nil, a.storeErr(err)
	}
	return ts, nil
}

// mayManageToken reports whether c may revoke or rotate t: their own
// token, or any for an owner.
func mayManageToken(c ops.Caller, t identity.Token) bool {
	return c.Owner() || (t.UserID != "" && t.UserID == c.UserID)
}

// token finds a token c may manage; one they may not is not found (and
// the attempt is audited as denied).
func (a *Authenticator) token(ctx context.Context, c ops.Caller, op, id string) (identity.Token, error) {
	t, err := a.o.Store.Token(ctx, id)
	if err != nil {
		return identity.Token{}, a.storeErr(err)
	}
	if !mayManageToken(c, t) {
		a.record(ctx, c, op, id, map[string]any{"token": id},
			pluginapi.Errorf(pluginapi.CodeForbidden, "token %s is not %s's", id, c.Actor))
		return identity.Token{}, pluginapi.NotFound("token %s: %s", id, identity.ErrNotFound)
	}
	return t, nil
}

// RevokeToken revokes a token at once; its sessions end with it.
func (a *Authenticator) RevokeToken(ctx context.Context, c ops.Caller, id string) (identity.Token, error) {
	const op = "auth.token.revoke"
	t, err := a.token(ctx, c, op, id)
	if err != nil {
		return identity.Token{}, err
	}
	err = a.audited(ctx, c, op, id, map[string]any{"token": id, "name": t.Name, "user": t.UserID}, func() (string, error) {
		t, err = a.o.Store.RevokeToken(ctx, id)
		return "", a.wrap(err)
	})
	return t, err
}

// RotateToken gives a token a new secret (the old one stops working at
// once, with its sessions), keeping its name, grants and expiry.
func (a *Authenticator) RotateToken(ctx context.Context, c ops.Caller, id string) (NewToken, error) {
	const op = "auth.token.rotate"
	t, err := a.token(ctx, c, op, id)
	if err != nil {
		return NewToken{}, err
	}
	var out NewToken
	err = a.audited(ctx, c, op, id, map[string]any{"token": id, "name": t.Name, "user": t.UserID}, func() (string, error) {
		secret, t, err := a.o.Store.RotateToken(ctx, id)
		if err != nil {
			return "", a.storeErr(err)
		}
		out = NewToken{Token: t, Secret: secret}
		return "", nil
	})
	return out, err
}

// wrap maps a store error, keeping nil nil.
func (a *Authenticator) wrap(err error) error {
	if err == nil {
		return nil
	}
	return a.storeErr(err)
}

// requireOwner refuses a non-owner, auditing the refusal when what is a
// mutation (op not empty).
func (a *Authenticator) requireOwner(ctx context.Context, c ops.Caller, op, target string, request any, what string) error {
	if c.Owner() {
		return nil
	}
	if op == "" {
		return pluginapi.Errorf(pluginapi.CodeForbidden, "%s needs the owner role; %s is not an owner", what, c.Actor)
	}
	return a.denied(ctx, c, op, target, request, "%s needs the owner role; %s is not an owner", what, c.Actor)
}

// Bindings lists every role binding (owners).
func (a *Authenticator) Bindings(ctx context.Context, c ops.Caller) ([]access.Binding, error) {
	if err := a.requireOwner(ctx, c, "", "", nil, "listing role bindings"); err != nil {
		return nil, err
	}
	bs, err := a.o.Store.Bindings(ctx)
	return bs, a.wrap(err)
}

// CreateBinding adds a role binding (owners).
func (a *Authenticator) CreateBinding(ctx context.Context, c ops.Caller, b access.Binding) (access.Binding, error) {
	const op = "auth.binding.create"
	req := map[string]any{"subject": b.Subject, "role": b.Role, "scope": b.Scope}
	if err := a.requireOwner(ctx, c, op, string(b.Subject), req, "creating a role binding"); err != nil {
		return access.Binding{}, err
	}
	// Checked before the audit start, so a refused input is not logged as run.
	if _, err := access.ParseSubject(string(b.Subject)); err != nil {
		return access.Binding{}, pluginapi.Invalid("/subject", "%v", err)
	}
	if err := b.Grant.Check(); err != nil {
		field := "/scope"
		if !b.Role.Valid() {
			field = "/role"
		}
		return access.Binding{}, pluginapi.Invalid(field, "%v", err)
	}
	var out access.Binding
	err := a.audited(ctx, c, op, string(b.Subject), req, func() (string, error) {
		var err error
		out, err = a.o.Store.CreateBinding(ctx, b)
		return out.ID, a.wrap(err)
	})
	return out, err
}

// DeleteBinding removes a role binding made through the API (owners).
func (a *Authenticator) DeleteBinding(ctx context.Context, c ops.Caller, id string) (access.Binding, error) {
	const op = "auth.binding.delete"
	if err := a.requireOwner(ctx, c, op, id, map[string]any{"binding": id}, "deleting a role binding"); err != nil {
		return access.Binding{}, err
	}
	var out access.Binding
	err := a.audited(ctx, c, op, id, map[string]any{"binding": id}, func() (string, error) {
		var err error
		out, err = a.o.Store.DeleteBinding(ctx, id)
		return "", a.wrap(err)
	})
	return out, err
}

// Sessions lists live sessions: the caller's own (whose Mine), everyone's
// (Everyone) or a user's by id (owners).
func (a *Authenticator) Sessions(ctx context.Context, c ops.Caller, whose string) ([]identity.Session, error) {
	if whose == Mine || whose == c.UserID {
		if c.UserID == "" {
			return a.ownSession(ctx, c)
		}
		whose = c.UserID
	}
	if whose != c.UserID && !c.Owner() {
		return nil, pluginapi.Errorf(pluginapi.CodeForbidden, "listing the sessions of others needs the owner role; %s is not an owner", c.Actor)
	}
	if whose == Everyone {
		whose = ""
	}
	ss, err := a.o.Store.Sessions(ctx, whose)
	return ss, a.wrap(err)
}

// ownSession lists the one session of a caller who is not a user.
func (a *Authenticator) ownSession(ctx context.Context, c ops.Caller) ([]identity.Session, error) {
	if c.SessionID == "" {
		return []identity.Session{}, nil
	}
	s, err := a.o.Store.Session(ctx, c.SessionID)
	if err != nil {
		return nil, a.wrap(err)
	}
	return []identity.Session{s}, nil
}

// EndSession ends a session: one's own, or anyone's for an owner.
func (a *Authenticator) EndSession(ctx context.Context, c ops.Caller, id string) error {
	const op = "auth.session.end"
	s, err := a.o.Store.Session(ctx, id)
	if err != nil {
		return a.storeErr(err)
	}
	own := s.ID == c.SessionID || (c.UserID != "" && s.UserID == c.UserID)
	req := map[string]any{"session": id, "user": s.UserID, "principal": s.Principal, "by_owner": !own}
	if !own && !c.Owner() {
		a.record(ctx, c, op, id, req, pluginapi.Errorf(pluginapi.CodeForbidden, "session %s is not %s's", id, c.Actor))
		return pluginapi.NotFound("session %s: %s", id, identity.ErrNotFound)
	}
	return a.audited(ctx, c, op, id, req, func() (string, error) {
		return "", a.wrap(a.o.Store.DeleteSession(ctx, id))
	})
}

// Users lists the users who signed in (owners).
func (a *Authenticator) Users(ctx context.Context, c ops.Caller) ([]identity.User, error) {
	if err := a.requireOwner(ctx, c, "", "", nil, "listing users"); err != nil {
		return nil, err
	}
	us, err := a.o.Store.Users(ctx)
	return us, a.wrap(err)
}

// SetUserDisabled disables a user (ending their sessions; their tokens
// stop working) or enables them again (owners). An owner cannot disable
// themself: that would lock out the last owner as easily as any.
func (a *Authenticator) SetUserDisabled(ctx context.Context, c ops.Caller, id string, disabled bool) (identity.User, error) {
	op := "auth.user.enable"
	if disabled {
		op = "auth.user.disable"
	}
	req := map[string]any{"user": id, "disabled": disabled}
	if err := a.requireOwner(ctx, c, op, id, req, "disabling or enabling a user"); err != nil {
		return identity.User{}, err
	}
	if disabled && id == c.UserID {
		return identity.User{}, pluginapi.Errorf(pluginapi.CodeConflict, "you cannot disable yourself: ask another owner")
	}
	var out identity.User
	err := a.audited(ctx, c, op, id, req, func() (string, error) {
		if err := a.o.Store.SetUserDisabled(ctx, id, disabled); err != nil {
			return "", a.storeErr(err)
		}
		var err error
		out, err = a.o.Store.User(ctx, id)
		return "", a.wrap(err)
	})
	return out, err
}

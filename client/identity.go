package client

import (
	"context"
	"net/url"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/identity"
)

// Me says who the host takes the caller for and what they may do.
func (c *Client) Me(ctx context.Context, opts ...CallOption) (auth.Me, error) {
	var out auth.Me
	err := c.do(ctx, req{method: "GET", path: "/me", out: &out}, opts)
	return out, err
}

// Tokens are managed API tokens: scoped, expiring, revocable.
type Tokens struct{ c *Client }

// List lists tokens, never their secrets. whose is "" (the caller's), a
// user id, "service" (service accounts') or "all" (owners).
func (t *Tokens) List(ctx context.Context, whose string, opts ...CallOption) ([]identity.Token, error) {
	q := url.Values{}
	set(q, "user", whose)
	var out struct {
		Tokens []identity.Token `json:"tokens"`
	}
	err := t.c.do(ctx, req{method: "GET", path: "/tokens", query: q, out: &out}, opts)
	return out.Tokens, err
}

// Create creates a token no wider than the caller's rights; its Secret is
// in the answer only.
func (t *Tokens) Create(ctx context.Context, in auth.TokenRequest, opts ...CallOption) (auth.NewToken, error) {
	var out auth.NewToken
	body, err := encode(in)
	if err != nil {
		return out, err
	}
	err = t.c.do(ctx, req{method: "POST", path: "/tokens", body: body, out: &out}, opts)
	return out, err
}

// Revoke revokes a token at once.
func (t *Tokens) Revoke(ctx context.Context, id string, opts ...CallOption) (identity.Token, error) {
	var out identity.Token
	err := t.c.do(ctx, req{method: "DELETE", path: "/tokens/{id}", args: []string{id}, out: &out}, opts)
	return out, err
}

// Rotate replaces a token's secret (the old one stops working) and
// returns the new one.
func (t *Tokens) Rotate(ctx context.Context, id string, opts ...CallOption) (auth.NewToken, error) {
	var out auth.NewToken
	err := t.c.do(ctx, req{method: "POST", path: "/tokens/{id}/rotate", args: []string{id}, out: &out}, opts)
	return out, err
}

// Bindings give subjects (users, groups, tokens) roles on connections.
type Bindings struct{ c *Client }

// List lists the role bindings, the config file's included.
func (b *Bindings) List(ctx context.Context, opts ...CallOption) ([]access.Binding, error) {
	var out struct {
		Bindings []access.Binding `json:"bindings"`
	}
	err := b.c.do(ctx, req{method: "GET", path: "/bindings", out: &out}, opts)
	return out.Bindings, err
}

// Create creates a binding of in.Subject to in.Grant; the host gives it
// its ID and Source (those of in are not sent).
func (b *Bindings) Create(ctx context.Context, in access.Binding, opts ...CallOption) (access.Binding, error) {
	var out access.Binding
	body, err := encode(struct {
		Subject access.Subject `json:"subject"`
		Role    access.Role    `json:"role"`
		Scope   access.Scope   `json:"scope"`
	}{in.Subject, in.Role, in.Scope})
	if err != nil {
		return out, err
	}
	err = b.c.do(ctx, req{method: "POST", path: "/bindings", body: body, out: &out}, opts)
	return out, err
}

// Delete deletes a binding made through the API and returns it.
func (b *Bindings) Delete(ctx context.Context, id string, opts ...CallOption) (access.Binding, error) {
	var out access.Binding
	err := b.c.do(ctx, req{method: "DELETE", path: "/bindings/{id}", args: []string{id}, out: &out}, opts)
	return out, err
}

// Sessions are the portal's signed-in sessions.
type Sessions struct{ c *Client }

// List lists live sessions; whose is "" (the caller's), a user id or
// "all" (owners).
func (s *Sessions) List(ctx context.Context, whose string, opts ...CallOption) ([]identity.Session, error) {
	q := url.Values{}
	set(q, "user", whose)
	var out struct {
		Sessions []identity.Session `json:"sessions"`
	}
	err := s.c.do(ctx, req{method: "GET", path: "/sessions", query: q, out: &out}, opts)
	return out.Sessions, err
}

// End ends a session at once.
func (s *Sessions) End(ctx context.Context, id string, opts ...CallOption) error {
	return s.c.do(ctx, req{method: "DELETE", path: "/sessions/{id}", args: []string{id}}, opts)
}

// Users are the people who signed in through single sign-on.
type Users struct{ c *Client }

// List lists the users (owners).
func (u *Users) List(ctx context.Context, opts ...CallOption) ([]identity.User, error) {
	var out struct {
		Users []identity.User `json:"users"`
	}
	err := u.c.do(ctx, req{method: "GET", path: "/users", out: &out}, opts)
	return out.Users, err
}

// Disable disables a user: their sessions and tokens stop working at once.
func (u *Users) Disable(ctx context.Context, id string, opts ...CallOption) (identity.User, error) {
	var out identity.User
	err := u.c.do(ctx, req{method: "POST", path: "/users/{id}/disable", args: []string{id}, out: &out}, opts)
	return out, err
}

// Enable enables a disabled user again (their tokens work again; ended
// sessions stay ended).
func (u *Users) Enable(ctx context.Context, id string, opts ...CallOption) (identity.User, error) {
	var out identity.User
	err := u.c.do(ctx, req{method: "POST", path: "/users/{id}/enable", args: []string{id}, out: &out}, opts)
	return out, err
}

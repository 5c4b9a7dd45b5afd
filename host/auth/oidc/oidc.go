// Package oidc is the host's OpenID Connect relying party: one Provider per
// configured identity provider, signing users in with the authorization code
// flow and PKCE (S256). It knows nothing of HTTP handlers, cookies or the
// store: the host calls Begin to get the provider's URL and a State to keep
// for a few minutes (server side or in a tamper-proof cookie), and Finish with
// that State and the callback's query to get the user's Identity.
//
// Discovery, the code exchange and ID token verification (signature, issuer,
// audience, expiry) are github.com/coreos/go-oidc and golang.org/x/oauth2;
// this package adds the checks of the flow around them (state, age, nonce,
// the issuer of the response) and bounds on the claims it hands on.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// StateMaxAge is how long a sign-in may take, from Begin to Finish.
const StateMaxAge = 10 * time.Minute

// Bounds on what a provider sends.
const (
	maxBody     = 1 << 20 // discovery, keys and token responses
	maxCode     = 4096    // the authorization code in the callback
	maxDescribe = 200     // a provider's error_description, as shown
)

// DefaultTimeout bounds each request to the provider when New is given no
// client.
const DefaultTimeout = 10 * time.Second

// Provider is a configured identity provider, discovered and ready to sign
// users in. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	client   *http.Client
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
	issParam bool // the provider sends iss in its responses (RFC 9207)
	now      func() time.Time
}

// New checks c, applies its defaults and runs discovery at c.Issuer, bounded
// by ctx. client makes every request to the provider (discovery, keys, code
// exchange) and should have a timeout; nil means a client with
// DefaultTimeout. Response bodies are read up to 1 MiB.
func New(ctx context.Context, c Config, client *http.Client) (*Provider, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.RedirectURL == "" {
		return nil, fmt.Errorf("sso.%s.redirect_url: required (the host sets it)", c.Name)
	}
	c = c.withDefaults()
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	client = limitBodies(client)

	disc, err := gooidc.NewProvider(gooidc.ClientContext(ctx, client), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sso.%s.issuer: discovery at %s failed: %s", c.Name, c.Issuer, short(err.Error(), 300))
	}
	var meta struct {
		IssParam bool `json:"authorization_response_iss_parameter_supported"`
	}
	if err := disc.Claims(&meta); err != nil {
		return nil, fmt.Errorf("sso.%s.issuer: discovery at %s: %v", c.Name, c.Issuer, err)
	}

	p := &Provider{cfg: c, client: client, issParam: meta.IssParam, now: time.Now}
	p.oauth = oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     disc.Endpoint(),
		RedirectURL:  c.RedirectURL,
		Scopes:       c.Scopes,
	}
	// The key set fetches keys with the client; the context's cancellation
	// is not kept (go-oidc clones it).
	p.verifier = disc.VerifierContext(gooidc.ClientContext(context.Background(), client), &gooidc.Config{
		ClientID: c.ClientID,
		Now:      func() time.Time { return p.now() },
	})
	return p, nil
}

// Name is the provider's config key.
func (p *Provider) Name() string { return p.cfg.Name }

// Title is the sign-in button's text.
func (p *Provider) Title() string { return p.cfg.Title }

// State is a sign-in in progress: what Finish needs to check the callback.
// The host keeps it, for StateMaxAge at most, where the user cannot change it,
// and uses it once: it must be forgotten when Finish is called, whatever the
// outcome, so a replayed callback finds no State.
type State struct {
	State, Nonce, Verifier string
	Created                time.Time
}

// Begin starts a sign-in: it returns the provider's authorization URL to
// send the user to and the State to keep. The state and nonce are random;
// the PKCE challenge is S256 of a random verifier. The error is nil today:
// it is there for providers that will need a request of their own first
// (pushed authorization requests).
func (p *Provider) Begin() (authURL string, st State, err error) {
	st = State{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Created:  p.now(),
	}
	authURL = p.oauth.AuthCodeURL(st.State, gooidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return authURL, st, nil
}

// Identity is who signed in, as the provider says. Subject is the provider's
// sub claim; Username is the UsernameClaim, else the verified email, else
// Subject. Groups are the GroupsClaim's, possibly none.
type Identity struct {
	Provider, Subject, Username, Name, Email string
	EmailVerified                            bool
	Groups                                   []string
}

// The checks of Finish, as FailedCheck.Check names them.
const (
	CheckState         = "state"          // no sign-in in progress, or not this one
	CheckExpired       = "expired"        // the sign-in took longer than StateMaxAge
	CheckIssuer        = "issuer"         // the response names another issuer (RFC 9207)
	CheckProviderError = "provider_error" // the provider answered with an error
	CheckExchange      = "exchange"       // the code could not be exchanged for tokens
	CheckIDToken       = "id_token"       // no ID token, or it failed verification
	CheckNonce         = "nonce"          // the ID token is not for this sign-in
	CheckClaims        = "claims"         // the ID token's claims are malformed or too large
)

// FailedCheck is the error of Finish: which check failed and why, in words
// that may be shown to the user (no secrets; what the provider said is
// shortened). Cause, when there is one, is the underlying error, for logs.
type FailedCheck struct {
	Check, Detail string
	Cause         error
}

func (e *FailedCheck) Error() string { return e.Check + ": " + e.Detail }

// Unwrap returns Cause.
func (e *FailedCheck) Unwrap() error { return e.Cause }

func failed(check, detail string, cause error) error {
	return &FailedCheck{Check: check, Detail: detail, Cause: cause}
}

// Finish completes the sign-in that st began, with the query of the
// provider's redirect to the callback. The error is always a *FailedCheck.
func (p *Provider) Finish(ctx context.Context, st State, query url.Values) (Identity, error) {
	if st.State == "" || st.Verifier == "" || st.Nonce == "" {
		return Identity{}, failed(CheckState, "no sign-in is in progress (start again from the sign-in page)", nil)
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(st.State)) != 1 {
		return Identity{}, failed(CheckState, "the callback does not belong to the sign-in in progress (start again from the sign-in page)", nil)
	}
	if age := p.now().Sub(st.Created); age < 0 || age > StateMaxAge {
		return Identity{}, failed(CheckExpired, fmt.Sprintf("the sign-in took longer than %v (start again)", StateMaxAge), nil)
	}
	if iss, ok := query["iss"]; ok || p.issParam {
		if len(iss) != 1 || iss[0] != p.cfg.Issuer {
			return Identity{}, failed(CheckIssuer, fmt.Sprintf("the response does not come from %s", p.cfg.Issuer), nil)
		}
	}
	if code := query.Get("error"); code != "" {
		return Identity{}, providerError(code, query.Get("error_description"))
	}

	code := query.Get("code")
	if code == "" || len(code) > maxCode {
		return Identity{}, failed(CheckExchange, "the callback carries no valid authorization code", nil)
	}
	tok, err := p.oauth.Exchange(gooidc.ClientContext(ctx, p.client), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, exchangeError(err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, failed(CheckIDToken, "the provider sent no ID token (is the openid scope allowed for this client?)", nil)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, failed(CheckIDToken, "the ID token failed verification: "+short(err.Error(), maxDescribe), err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return Identity{}, failed(CheckNonce, "the ID token was issued for another sign-in", nil)
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, failed(CheckClaims, "the ID token's claims are not a JSON object", err)
	}
	id, err := p.identity(idt.Subject, claims)
	if err != nil {
		return Identity{}, failed(CheckClaims, err.Error(), err)
	}
	return id, nil
}

func providerError(code, description string) error {
	switch code {
	case "access_denied":
		return failed(CheckProviderError, "sign-in was cancelled at the provider", nil)
	case "login_required", "interaction_required", "consent_required":
		return failed(CheckProviderError, "the provider needs you to sign in or consent there first", nil)
	}
	detail := "the provider refused the sign-in: " + short(code, 64)
	if description != "" {
		detail += " (" + short(description, maxDescribe) + ")"
	}
	return failed(CheckProviderError, detail, nil)
}

func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		detail := "the provider refused the authorization code: " + short(re.ErrorCode, 64)
		if re.ErrorDescription != "" {
			detail += " (" + short(re.ErrorDescription, maxDescribe) + ")"
		}
		return failed(CheckExchange, detail, err)
	}
	return failed(CheckExchange, "the code exchange with the provider failed: "+short(err.Error(), maxDescribe), err)
}

// short keeps at most n bytes of s (whole runes), without control characters.
func short(s string, n int) string {
	out := make([]rune, 0, min(len(s), n))
	size := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		if size+len(string(r)) > n {
			return string(out) + "…"
		}
		out = append(out, r)
		size += len(string(r))
	}
	return string(out)
}

// limitBodies copies client so that every response body it reads stops at
// maxBody.
func limitBodies(client *http.Client) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base}
	return &c
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		resp.Body = limitedBody{io.LimitReader(resp.Body, maxBody), resp.Body}
	}
	return resp, err
}

type limitedBody struct {
	io.Reader
	io.Closer
}

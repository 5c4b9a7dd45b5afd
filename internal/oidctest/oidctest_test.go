package oidctest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/oidctest"
	"golang.org/x/oauth2"
)

// The callback is never requested: Login stops at it.
const callback = "http://127.0.0.1:1/callback"

var alice = oidctest.User{
	Sub: "alice-1", Password: "correct horse", Email: "alice@example.com", Name: "Alice Liddell",
	PreferredUsername: "alice", Groups: []string{"payments", "ops"},
}

func start(t *testing.T) (*oidctest.Provider, oauth2.Config) {
	t.Helper()
	p := oidctest.Start(t, oidctest.Options{Users: []oidctest.User{alice}, RedirectURLs: []string{callback}})
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != p.Issuer {
		t.Fatalf("discovery says issuer %q, Start said %q", d.Issuer, p.Issuer)
	}
	return p, oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: callback,
		Endpoint: oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint},
		Scopes:   []string{"openid", "profile", "email", "groups"},
	}
}

func newClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func TestLoginReturnsTheCallbackAndTheIDTokenCarriesProfileAndGroups(t *testing.T) {
	p, conf := start(t)
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-1"))

	cb := p.Login(t, nil, authURL, "alice", alice.Password)
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != callback {
		t.Fatalf("callback %s, want %s", cb, callback)
	}
	q := cb.Query()
	if q.Get("state") != "state-1" || q.Get("code") == "" || q.Get("iss") != p.Issuer {
		t.Fatalf("callback query %v: want state-1, a code and iss=%s", q, p.Issuer)
	}

	tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q is not a JWS", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub, Nonce, Email, Name string
		EmailVerified           bool   `json:"email_verified"`
		PreferredUsername       string `json:"preferred_username"`
		Groups                  []string
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != alice.Sub || claims.Nonce != "nonce-1" || claims.Email != alice.Email || !claims.EmailVerified ||
		claims.Name != alice.Name || claims.PreferredUsername != alice.PreferredUsername || !slices.Equal(claims.Groups, alice.Groups) {
		t.Fatalf("ID token claims %s do not match %+v", payload, alice)
	}
}

func TestWrongPasswordIsRefusedWithTheLoginPageMessage(t *testing.T) {
	p, conf := start(t)
	authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	_, err := p.TryLogin(t, nil, authURL, "alice", "wrong")
	if !errors.Is(err, oidctest.ErrLoginRefused) || !strings.Contains(err.Error(), "Invalid login or password") {
		t.Fatalf("err = %v, want ErrLoginRefused with the page's message", err)
	}
	_, err = p.TryLogin(t, nil, authURL, "nobody", alice.Password)
	if !errors.Is(err, oidctest.ErrLoginRefused) {
		t.Fatalf("unknown user: err = %v, want ErrLoginRefused", err)
	}
}

func TestLoginAcceptsSubAndEmailToo(t *testing.T) {
	p, conf := start(t)
	for _, login := range []string{alice.Sub, alice.Email} {
		authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		if cb := p.Login(t, nil, authURL, login, alice.Password); cb.Query().Get("code") == "" {
			t.Fatalf("login %q: callback %s has no code", login, cb)
		}
	}
}

func TestCancelSendsAccessDeniedToTheCallback(t *testing.T) {
	p, conf := start(t)
	authURL := conf.AuthCodeURL("s-cancel", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	q := p.Cancel(t, nil, authURL).Query()
	if q.Get("error") != "access_denied" || q.Get("state") != "s-cancel" || q.Get("code") != "" {
		t.Fatalf("callback query %v, want error=access_denied, the state and no code", q)
	}
}

func TestPKCEIsRequired(t *testing.T) {
	p, conf := start(t)
	q := p.Login(t, nil, conf.AuthCodeURL("s"), "alice", alice.Password).Query()
	if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "PKCE") {
		t.Fatalf("callback query %v, want invalid_request about PKCE", q)
	}
}

func TestASecondSignInWithTheSameCookiesSkipsTheLoginPage(t *testing.T) {
	p, conf := start(t)
	client := newClient(t)
	p.Login(t, client, conf.AuthCodeURL("a", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", alice.Password)
	// The password is not asked again: a wrong one still signs in.
	cb := p.Login(t, client, conf.AuthCodeURL("b", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", "unused")
	if cb.Query().Get("code") == "" || cb.Query().Get("state") != "b" {
		t.Fatalf("second sign-in: callback %s, want a code and state b", cb)
	}
}

func TestAnUnregisteredRedirectURLIsAnErrorPage(t *testing.T) {
	p, conf := start(t)
	conf.RedirectURL = "http://127.0.0.1:1/elsewhere"
	_, err := p.TryLogin(t, nil, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", alice.Password)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("err = %v, want the provider's 400 page", err)
	}
}

func TestAStoppedProviderRefusesConnections(t *testing.T) {
	p, _ := start(t)
	p.Stop()
	if resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		t.Fatalf("discovery answered %s after Stop", resp.Status)
	}
}

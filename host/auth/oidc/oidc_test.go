package oidc_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/internal/oidctest"
)

// Sign-ins against the real test provider (internal/oidctest). The callback
// URL is never requested: oidctest stops at it and the test hands its query
// to Finish, as the host's callback handler does.
const redirectURL = "http://127.0.0.1:1/auth/oidc/corp/callback"

var (
	alice = oidctest.User{
		Sub: "alice-1", Password: "correct horse", Email: "alice@example.com", Name: "Alice Liddell",
		PreferredUsername: "alice", Groups: []string{"payments", "ops"},
	}
	// bob has no preferred_username: his username is his (verified) email.
	bob = oidctest.User{Sub: "bob-2", Password: "battery staple", Email: "bob@example.com", Name: "Bob"}
)

type fixture struct {
	idp *oidctest.Provider
	rp  *oidc.Provider
}

func setup(t *testing.T, users ...oidctest.User) fixture {
	t.Helper()
	if len(users) == 0 {
		users = []oidctest.User{alice, bob}
	}
	idp := oidctest.Start(t, oidctest.Options{Users: users, RedirectURLs: []string{redirectURL}})
	rp, err := oidc.New(context.Background(), oidc.Config{
		Name: "corp", Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		RedirectURL: redirectURL,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{idp, rp}
}

// signIn begins a sign-in and logs in at the provider; it returns the State
// and the callback's query.
func (f fixture) signIn(t *testing.T, u oidctest.User) (oidc.State, url.Values) {
	t.Helper()
	authURL, st, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return st, f.idp.Login(t, nil, authURL, u.Email, u.Password).Query()
}

func wantCheck(t *testing.T, err error, check, detail string) {
	t.Helper()
	var fc *oidc.FailedCheck
	if !errors.As(err, &fc) || fc.Check != check || !strings.Contains(fc.Detail, detail) {
		t.Fatalf("err = %v, want the %s check failing with %q", err, check, detail)
	}
}

func TestFullSignInGivesTheIdentityWithGroups(t *testing.T) {
	f := setup(t)
	if f.rp.Name() != "corp" || f.rp.Title() != "Sign in with corp" {
		t.Fatalf("Name %q, Title %q", f.rp.Name(), f.rp.Title())
	}
	authURL, st, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	q := mustParse(t, authURL).Query()
	if q.Get("scope") != "openid profile email groups" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") != st.Nonce || q.Get("state") != st.State || q.Get("redirect_uri") != redirectURL {
		t.Fatalf("authorization URL %s lacks the expected scope, PKCE, nonce, state or redirect_uri", authURL)
	}
	cb := f.idp.Login(t, nil, authURL, "alice", alice.Password)
	id, err := f.rp.Finish(context.Background(), st, cb.Query())
	if err != nil {
		t.Fatal(err)
	}
	want := oidc.Identity{
		Provider: "corp", Subject: "alice-1", Username: "alice", Name: "Alice Liddell",
		Email: "alice@example.com", EmailVerified: true, Groups: []string{"payments", "ops"},
	}
	if id.Provider != want.Provider || id.Subject != want.Subject || id.Username != want.Username || id.Name != want.Name ||
		id.Email != want.Email || id.EmailVerified != want.EmailVerified || !slices.Equal(id.Groups, want.Groups) {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
}

func TestUsernameFallsBackToTheVerifiedEmail(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, bob)
	id, err := f.rp.Finish(context.Background(), st, q)
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "bob@example.com" || id.Subject != "bob-2" || len(id.Groups) != 0 {
		t.Fatalf("identity %+v, want username bob@example.com and no groups", id)
	}
}

func TestWrongStateIsRefused(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	q.Set("state", st.State+"x")
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckState, "does not belong to the sign-in in progress")

	// The callback of one sign-in with the State of another.
	_, st2, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	q.Set("state", st.State)
	_, err = f.rp.Finish(context.Background(), st2, q)
	wantCheck(t, err, oidc.CheckState, "does not belong")

	// No State at all (the host found none for this browser).
	_, err = f.rp.Finish(context.Background(), oidc.State{}, q)
	wantCheck(t, err, oidc.CheckState, "no sign-in is in progress")
}

func TestReplayedCallbackIsRefused(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	if _, err := f.rp.Finish(context.Background(), st, q); err != nil {
		t.Fatal(err)
	}
	// Even a host that kept the State: the provider takes each code once.
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExchange, "invalid_grant")
}

func TestExpiredStateIsRefused(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	f.rp.SetClock(func() time.Time { return st.Created.Add(oidc.StateMaxAge + time.Second) })
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExpired, "took longer than 10m0s")

	// A State from the future is no better.
	f.rp.SetClock(func() time.Time { return st.Created.Add(-time.Second) })
	_, err = f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExpired, "took longer")

	// Just inside the limit it still works.
	f.rp.SetClock(func() time.Time { return st.Created.Add(oidc.StateMaxAge) })
	if _, err := f.rp.Finish(context.Background(), st, q); err != nil {
		t.Fatalf("at StateMaxAge: %v", err)
	}
}

func TestTamperedCodeIsRefusedByTheProvider(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	q.Set("code", q.Get("code")+"x")
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExchange, "invalid_grant")

	q.Del("code")
	_, err = f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExchange, "no valid authorization code")
}

func TestWrongPKCEVerifierIsRefusedByTheProvider(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	st.Verifier = strings.Repeat("v", 43)
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckExchange, "invalid_grant")
}

func TestNonceMismatchIsRefused(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	st.Nonce = "another-sign-in"
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckNonce, "issued for another sign-in")
}

func TestResponseFromAnotherIssuerIsRefused(t *testing.T) {
	f := setup(t)
	st, q := f.signIn(t, alice)
	q.Set("iss", "https://attacker.example")
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckIssuer, "does not come from "+f.idp.Issuer)

	// The provider announces iss in its responses, so one without it is refused too.
	q.Del("iss")
	_, err = f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckIssuer, "does not come from")
}

func TestCancelAtTheProvider(t *testing.T) {
	f := setup(t)
	authURL, st, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	q := f.idp.Cancel(t, nil, authURL).Query()
	_, err = f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckProviderError, "sign-in was cancelled at the provider")
}

func TestOtherProviderErrorsAreShownShortened(t *testing.T) {
	f := setup(t)
	_, st, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"state": {st.State}, "iss": {f.idp.Issuer}, "error": {"server_error"},
		"error_description": {"boom\n" + strings.Repeat("x", 500)}}
	_, err = f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckProviderError, "the provider refused the sign-in: server_error (boom xxx")
	if len(err.Error()) > 300 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error not shortened to one line: %q", err)
	}
}

func TestWrongPasswordStaysOnTheLoginPage(t *testing.T) {
	f := setup(t)
	authURL, _, err := f.rp.Begin()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := f.idp.TryLogin(t, nil, authURL, "alice", "wrong password")
	if !errors.Is(err, oidctest.ErrLoginRefused) || !strings.Contains(err.Error(), "Invalid login or password") {
		t.Fatalf("TryLogin = %v, %v; want the login page again with its message", cb, err)
	}
}

func TestTooLongUsernameFailsTheSignIn(t *testing.T) {
	long := oidctest.User{Sub: "long-3", Password: "pw", Email: "l@example.com", PreferredUsername: strings.Repeat("l", oidc.MaxUsername+1)}
	f := setup(t, long)
	st, q := f.signIn(t, long)
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckClaims, "claim preferred_username: at most 256 bytes, got 257")
}

func TestTooManyGroupsFailTheSignIn(t *testing.T) {
	many := oidctest.User{Sub: "many-4", Password: "pw", Email: "m@example.com", PreferredUsername: "many"}
	for i := range oidc.MaxGroups + 1 {
		many.Groups = append(many.Groups, "g"+strings.Repeat("x", i%10)+string(rune('a'+i%26)))
	}
	f := setup(t, many)
	st, q := f.signIn(t, many)
	_, err := f.rp.Finish(context.Background(), st, q)
	wantCheck(t, err, oidc.CheckClaims, "claim groups: at most 256 groups, got 257")
}

func TestDiscoveryOfADeadIssuerFailsWithAClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	c := oidc.Config{Name: "corp", Issuer: issuer, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL}
	_, err = oidc.New(context.Background(), c, nil)
	if err == nil || !strings.Contains(err.Error(), "sso.corp.issuer: discovery at "+issuer+" failed") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("New() = %v, want a discovery error naming the issuer and the refusal", err)
	}
}

func TestDiscoveryIsBoundedByTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the caller gives up while the provider has not answered
		<-r.Context().Done()
	}))
	defer hung.Close()
	c := oidc.Config{Name: "corp", Issuer: hung.URL, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL}
	_, err := oidc.New(ctx, c, nil)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("New() = %v, want the context's cancellation", err)
	}
}

func TestDiscoveryRefusesAnIssuerMismatch(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{RedirectURLs: []string{redirectURL}})
	// The same provider under another name: its discovery names 127.0.0.1.
	issuer := strings.Replace(idp.Issuer, "127.0.0.1", "localhost", 1)
	c := oidc.Config{Name: "corp", Issuer: issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: redirectURL}
	_, err := oidc.New(context.Background(), c, nil)
	if err == nil || !strings.Contains(err.Error(), "sso.corp.issuer:") || !strings.Contains(err.Error(), idp.Issuer) {
		t.Fatalf("New() = %v, want an issuer mismatch naming both", err)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

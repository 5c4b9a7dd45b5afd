package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/oidctest"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// ssoEnv is a portal closed by single sign-on through the real test
// provider: swarm belongs to team payments, peak to team ml; the payments
// group operates what is labelled team=payments.
func ssoEnv(t *testing.T) (*webtest.Env, *oidctest.Provider) {
	t.Helper()
	return ssoEnvWith(t, nil)
}

// ssoEnvWith is ssoEnv with bootstrap tokens as well.
func ssoEnvWith(t *testing.T, tokens []ops.Token) (*webtest.Env, *oidctest.Provider) {
	t.Helper()
	var idp *oidctest.Provider
	selector, err := access.ParseSelector("team=payments")
	if err != nil {
		t.Fatal(err)
	}
	env := webtest.New(t, webtest.Options{
		Peak:   true,
		Tokens: tokens,
		Faces:  []server.Face{api.Face(api.Options{}), web.Face(web.Options{})},
		Labels: map[string]map[string]string{"swarm": {"team": "payments"}, "peak": {"team": "ml"}},
		Bindings: []access.Binding{
			{Subject: "group:corp/payments", Grant: access.Grant{Role: access.Operator, Scope: selector}},
		},
		SSO: func(base string) []oidc.Config {
			idp = oidctest.Start(t, oidctest.Options{
				RedirectURLs: []string{base + "/auth/oidc/corp/callback"},
				Users: []oidctest.User{
					{Sub: "u-alice", PreferredUsername: "alice", Password: "alice-pw", Email: "alice@example.com", Name: "Alice", Groups: []string{"payments"}},
					{Sub: "u-mallory", PreferredUsername: "mallory", Password: "mallory-pw", Groups: []string{"ml"}},
				},
			})
			return []oidc.Config{{Name: "corp", Title: "Sign in with Corp", Issuer: idp.Issuer,
				ClientID: idp.ClientID, ClientSecret: idp.ClientSecret}}
		},
	})
	return env, idp
}

// auditEntries are the entries of an operation, newest first.
func auditEntries(t *testing.T, env *webtest.Env, op string) []audit.Entry {
	t.Helper()
	es, err := env.Host.QueryAudit(context.Background(), ops.Caller{Actor: "test", Role: ops.RoleOwner}, audit.Filter{Operation: op})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestSingleSignOnInTheBrowser signs in through the real OpenID provider's
// login page in Chromium: the user's group gives them operator on their
// team's connection only; the cookie is an opaque HttpOnly session id; a
// copy of it stops working once the user signs out; a sign-in cancelled at
// the provider is shown and audited.
func TestSingleSignOnInTheBrowser(t *testing.T) {
	env, idp := ssoEnv(t)
	ctx := browser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// A closed portal sends the visitor to sign in, which offers the provider.
	do("open the portal",
		chromedp.Navigate(env.URL+"/services"),
		chromedp.WaitVisible(chromedp.CSS("#sso-corp")))
	if got := text("#sso-corp"); got != "Sign in with Corp" {
		t.Fatalf("sign-in button reads %q", got)
	}

	// Cancelled at the provider: back on the sign-in page with the reason.
	do("cancel at the provider",
		chromedp.Click(chromedp.CSS("#sso-corp")),
		chromedp.WaitVisible(chromedp.CSS("#cancel")),
		chromedp.Click(chromedp.CSS("#cancel")),
		chromedp.WaitVisible(chromedp.CSS("#signin-problem")))
	if got := text("#signin-problem"); !strings.Contains(got, "cancelled") {
		t.Errorf("after cancelling, the sign-in page says %q", got)
	}
	if es := auditEntries(t, env, "auth.signin"); len(es) != 1 || es[0].Outcome != audit.OutcomeError ||
		!strings.Contains(string(es[0].Request), `"oidc:corp"`) {
		t.Errorf("a cancelled sign-in is audited as one failed auth.signin with its method, got %+v", es)
	}

	// Signed in as alice: the login page of the provider, then the services.
	do("sign in as alice",
		chromedp.Click(chromedp.CSS("#sso-corp")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "alice-pw"),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS(".who")))
	if loc := location(); !strings.HasPrefix(loc, env.URL+"/services") {
		t.Fatalf("after signing in the browser is at %s", loc)
	}
	if who := text(".who"); !strings.Contains(who, "corp/alice") || !strings.Contains(who, "operator") {
		t.Errorf("the header says %q, want corp/alice and operator", who)
	}
	if conns := text("#f-connection"); !strings.Contains(conns, "swarm") || strings.Contains(conns, "peak") {
		t.Errorf("alice (operator on team=payments) should see the connection swarm and not peak; the filter offers %q", conns)
	}

	// The cookie holds an opaque session id only.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{env.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, ck := range cookies.Cookies {
		switch ck.Name {
		case "wharf_session":
			session = ck
		case "wharf_oidc", "wharf_token":
			t.Errorf("cookie %s is still set after the sign-in", ck.Name)
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax || len(session.Value) < 40 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, a long random value", session)
	}

	// An attacker who copied the cookie can use it while the session lives …
	stolen := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/services", nil)
		req.AddCookie(&http.Cookie{Name: "wharf_session", Value: session.Value})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := stolen(); got != http.StatusOK {
		t.Fatalf("a copy of a live session cookie: %d, want 200", got)
	}
	es := auditEntries(t, env, "auth.signin")
	if len(es) != 2 || es[0].Outcome != audit.OutcomeOK || es[0].Actor != "corp/alice" {
		t.Errorf("alice's sign-in is audited as the newest auth.signin by corp/alice, got %+v", es)
	}

	// … and not once she signed out: the session ended on the server.
	do("sign out",
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#sso-corp")))
	if got := stolen(); got != http.StatusSeeOther {
		t.Errorf("a copy of the cookie after sign-out: %d, want 303 to the sign-in page", got)
	}
	if es := auditEntries(t, env, "auth.signout"); len(es) != 1 || es[0].Actor != "corp/alice" {
		t.Errorf("sign-out audited: %+v", es)
	}
	_ = idp
}

// TestSingleSignOnGivesOnlyWhatTheGroupsBind signs in with a plain HTTP
// client: a user whose groups have no binding sees no connection, and a
// replayed callback (the same code and state again) opens no session.
func TestSingleSignOnGivesOnlyWhatTheGroupsBind(t *testing.T) {
	env, idp := ssoEnv(t)
	createService(t, env, "payments-api") // on swarm: a link mallory must not get
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	start := get(env.URL + "/auth/oidc/corp/start?next=/services")
	if start.StatusCode != http.StatusSeeOther || !strings.HasPrefix(start.Header.Get("Location"), idp.Issuer) {
		t.Fatalf("start: %d to %s, want 303 to the provider", start.StatusCode, start.Header.Get("Location"))
	}
	callback := idp.Login(t, nil, start.Header.Get("Location"), "mallory", "mallory-pw")
	done := get(callback.String())
	if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/services" {
		t.Fatalf("callback: %d to %q, want 303 to /services", done.StatusCode, done.Header.Get("Location"))
	}
	page := get(env.URL + "/services")
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "corp/mallory") {
		t.Fatalf("services for mallory: %d\n%s", page.StatusCode, body)
	}
	if strings.Contains(string(body), "/services/swarm/") || strings.Contains(string(body), "/services/peak/") ||
		strings.Contains(string(body), "New service") {
		t.Errorf("mallory, whose group has no binding, is shown connections or offered to create:\n%s", body)
	}
	if r := get(env.URL + "/services/new?connection=swarm"); r.StatusCode == http.StatusOK {
		t.Errorf("mallory may open the create form of swarm: %d", r.StatusCode)
	}

	// The same callback again: the one-use sign-in cookie is gone.
	fresh := &http.Client{CheckRedirect: noFollow.CheckRedirect}
	replay, err := fresh.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	replay.Body.Close()
	if replay.StatusCode != http.StatusUnauthorized {
		t.Errorf("a replayed callback: %d, want 401", replay.StatusCode)
	}
	for _, ck := range replay.Cookies() {
		if ck.Name == "wharf_session" && ck.Value != "" {
			t.Errorf("a replayed callback opened a session")
		}
	}
}

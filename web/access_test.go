package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// apiStatus calls the REST API with a bearer token.
func apiStatus(t *testing.T, env *webtest.Env, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Logf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

var secretOnPage = regexp.MustCompile(`id="new-token-secret"[^>]*>(wharf_pat_[A-Za-z0-9]+)<`)

// A user makes a token in the portal no wider than their own rights,
// sees its secret once, uses it with the API, and revokes it.
func TestPortalTokensAreBoundedByTheirCreator(t *testing.T) {
	env, idp := ssoEnv(t)
	c := webtest.NewClient(t, env.URL)
	c.SignInSSO("corp", idp, "alice", "alice-pw")

	r := c.Get("/account")
	expect(t, r, 200, "corp/alice", "operator on connections matching team=payments", "No tokens.")

	// Wider than alice: admin, or operator on everything.
	for _, f := range []url.Values{
		{"name": {"too-strong"}, "role": {"admin"}, "scope": {"selector: team=payments"}, "days": {"7"}},
		{"name": {"too-wide"}, "role": {"operator"}, "scope": {"all"}, "days": {"7"}},
	} {
		r = c.Post("/account/tokens", f)
		expect(t, r, 403, "wider than the rights of corp/alice")
	}
	r = c.Post("/account/tokens", url.Values{"name": {"ci"}, "role": {"operator"}, "scope": {"selector: team=payments"}, "days": {"100000"}})
	expect(t, r, 400, "longest this host allows")

	r = c.Post("/account/tokens", url.Values{"name": {"ci"}, "role": {"operator"}, "scope": {"selector: team=payments"}, "days": {"30"}})
	expect(t, r, 201, "Copy the secret now")
	m := secretOnPage.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", excerpt(r.Body))
	}
	secret := m[1]
	if got := apiStatus(t, env, secret, "/api/v1/connections/swarm/services"); got != 200 {
		t.Fatalf("the new token on its own connection: %d", got)
	}
	if got := apiStatus(t, env, secret, "/api/v1/connections/peak/services"); got != 404 {
		t.Errorf("the new token on a connection outside its scope: %d, want 404", got)
	}
	r = c.Get("/account")
	if strings.Contains(r.Body, secret) {
		t.Fatal("the secret is shown again")
	}
	id := regexp.MustCompile(`data-token="(tok_[^"]+)"`).FindStringSubmatch(r.Body)
	if id == nil {
		t.Fatalf("the token is not listed:\n%s", excerpt(r.Body))
	}
	r = c.Post("/account/tokens/"+id[1]+"/revoke", nil)
	expect(t, r, 303)
	if got := apiStatus(t, env, secret, "/api/v1/connections/swarm/services"); got != 401 {
		t.Errorf("a revoked token: %d, want 401", got)
	}
	expect(t, c.Get("/account"), 200, "revoked")
}

// Owners manage bindings in the portal; a binding added there gives a
// group's users their access on their next request; others cannot even
// see the page.
func TestPortalBindingsByAnOwner(t *testing.T) {
	const secret = "owner-owner-owner-owner-owner-owner"
	env, idp := ssoEnvWith(t, []ops.Token{{Name: "root", SHA256: ops.HashToken(secret), Role: ops.RoleOwner}})
	createService(t, env, "payments-api")

	mallory := webtest.NewClient(t, env.URL)
	mallory.SignInSSO("corp", idp, "mallory", "mallory-pw")
	if r := mallory.Get("/services"); strings.Contains(r.Body, "payments-api") {
		t.Fatal("mallory sees swarm's services before any binding")
	}
	expect(t, mallory.Get("/access"), 403)
	mallory.Get("/services")
	r := mallory.Post("/access/bindings", url.Values{"subject": {"group:corp/ml"}, "role": {"viewer"}, "scope": {"all"}})
	expect(t, r, 403)

	owner := webtest.NewClient(t, env.URL)
	owner.Get("/signin")
	expect(t, owner.Post("/signin", url.Values{"token": {secret}, "next": {"/access"}}), 303)
	r = owner.Get("/access")
	expect(t, r, 200, "group:corp/payments", "edit the config file", "corp/mallory")
	r = owner.Post("/access/bindings", url.Values{"subject": {"group:corp/ml"}, "role": {"viewer"}, "scope": {"swarm"}})
	expect(t, r, 303)
	expect(t, owner.Follow(r), 200, "group:corp/ml is now viewer on connection swarm")

	if r := mallory.Get("/services"); !strings.Contains(r.Body, "payments-api") {
		t.Errorf("mallory does not see swarm's services after the binding:\n%s", excerpt(r.Body))
	}
	r = owner.Post("/access/bindings", url.Values{"subject": {"nobody"}, "role": {"viewer"}, "scope": {"all"}})
	expect(t, r, 400, "subject")
}

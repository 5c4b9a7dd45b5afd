package webtest

import (
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/internal/oidctest"
)

// SignInSSO signs the client in through the identity provider named
// provider in the host's config, logging in at idp's login page as login.
func (c *Client) SignInSSO(provider string, idp *oidctest.Provider, login, password string) {
	c.t.Helper()
	r := c.Get("/auth/oidc/" + provider + "/start?next=/services")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), idp.Issuer) {
		c.t.Fatalf("sign-in start: %d to %q, want 303 to the provider", r.Status, r.Header.Get("Location"))
	}
	callback := idp.Login(c.t, nil, r.Header.Get("Location"), login, password)
	r = c.Get(callback.RequestURI())
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("sign-in callback: %d, want 303\n%s", r.Status, r.Body)
	}
}

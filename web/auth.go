package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/httpguard"
)

// signinPage asks for an API token; in open mode there is nothing to sign in to.
func (p *portal) signinPage(c echo.Context) error {
	if p.host.Open() {
		return c.Redirect(http.StatusFound, "/services")
	}
	return render(c, http.StatusOK, SigninPage(p.pageInfo(c, "Sign in", ""), safeNext(c.QueryParam("next")), ""))
}

// signin checks the token with the facade and keeps it in an HttpOnly cookie.
// Failures are rate limited per client address (httpguard.AuthGate).
func (p *portal) signin(c echo.Context) error {
	if err := httpguard.AuthGate(c); err != nil {
		return p.renderTooMany(c, err)
	}
	next := safeNext(c.FormValue("next"))
	token := strings.TrimSpace(c.FormValue("token"))
	if _, err := p.host.Authenticate(token, ""); err != nil || token == "" {
		httpguard.AuthFailed(c, "sign-in token refused")
		return render(c, http.StatusUnauthorized, SigninPage(p.pageInfo(c, "Sign in", ""), next,
			"That token was not accepted. Check it and try again."))
	}
	c.SetCookie(&http.Cookie{Name: tokenCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: p.opts.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 12 * 3600})
	return p.redirect(c, next, "Signed in.")
}

// signout forgets the token cookie.
func (p *portal) signout(c echo.Context) error {
	p.clearToken(c)
	return c.Redirect(http.StatusSeeOther, "/signin")
}

// clearToken tells the browser to forget the token cookie.
func (p *portal) clearToken(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: tokenCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: p.opts.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/services"
	}
	return next
}

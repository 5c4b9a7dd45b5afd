package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/pluginapi"
)

const (
	// sessionCookie holds only the session's opaque secret; the session
	// itself is on the server, so signing out ends it for every copy.
	sessionCookie = "wharf_session"
	// oidcCookie carries one sign-in in progress (state, nonce, PKCE
	// verifier) from /start to /callback of the same provider.
	oidcCookie = "wharf_oidc"
	// legacyTokenCookie is the raw-token cookie of earlier versions,
	// cleared when seen.
	legacyTokenCookie = "wharf_token"
)

// client is what auth records of the request's sender.
func client(c echo.Context) auth.Client {
	return auth.Client{Addr: c.RealIP(), UserAgent: c.Request().UserAgent(), RequestID: requestID(c)}
}

// secure reports whether cookies must be Secure: the public URL is https,
// or this request came over TLS or through a trusted proxy that says so.
func (p *portal) secure(c echo.Context) bool {
	return p.opts.SecureCookies || httpguard.IsHTTPS(c)
}

// signinPage offers the identity providers and the token form; an open
// host has nothing to sign in to.
func (p *portal) signinPage(c echo.Context) error {
	if p.host.Open() {
		return c.Redirect(http.StatusFound, under(c, "/services"))
	}
	return p.renderSignin(c, http.StatusOK, safeNext(c.QueryParam("next")), "")
}

func (p *portal) renderSignin(c echo.Context, status int, next, problem string) error {
	return render(c, status, SigninPage(p.pageInfo(c, "Sign in", ""), next, problem, p.authn.SSO().Providers()))
}

// signin opens a session with a pasted token (managed or bootstrap).
// Failures are rate limited per client address (httpguard.AuthGate).
func (p *portal) signin(c echo.Context) error {
	if err := httpguard.AuthGate(c); err != nil {
		return p.renderTooMany(c, err)
	}
	next := safeNext(c.FormValue("next"))
	secret, _, err := p.authn.SignInWithToken(c.Request().Context(), c.FormValue("token"), client(c))
	if err != nil {
		if pluginapi.AsError(err).Code != pluginapi.CodeUnauthorized {
			p.log.Error("web: token sign-in failed", "err", err)
			return p.renderSignin(c, http.StatusServiceUnavailable, next, "Signing in is not possible right now. Try again in a moment.")
		}
		httpguard.AuthFailed(c, "sign-in token refused")
		return p.renderSignin(c, http.StatusUnauthorized, next, "That token was not accepted. Check it and try again.")
	}
	p.setSession(c, secret)
	return p.redirect(c, next, "Signed in.")
}

// signout ends the session on the server and forgets the cookie.
func (p *portal) signout(c echo.Context) error {
	if ck, err := c.Request().Cookie(sessionCookie); err == nil && ck.Value != "" {
		if caller, err := p.authn.Session(c.Request().Context(), ck.Value, client(c)); err == nil {
			if err := p.authn.SignOut(c.Request().Context(), caller); err != nil {
				p.log.Error("web: sign-out failed", "err", err)
				return p.renderMessage(c, http.StatusServiceUnavailable, "Not signed out",
					"Your session could not be ended right now. Try again in a moment.")
			}
		}
	}
	p.clearCookie(c, sessionCookie, "/")
	return c.Redirect(http.StatusSeeOther, under(c, "/signin"))
}

func (p *portal) setSession(c echo.Context, secret string) {
	// No MaxAge: the server ends the session (idle and absolute expiry);
	// the cookie lives as long as the browser keeps it.
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: secret, Path: under(c, "/"), HttpOnly: true,
		Secure: p.secure(c), SameSite: http.SameSiteLaxMode})
}

// clearCookie tells the browser to forget a cookie.
func (p *portal) clearCookie(c echo.Context, name, path string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: under(c, path), HttpOnly: true,
		Secure: p.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// pendingSignIn is what oidcCookie holds between /start and /callback.
type pendingSignIn struct {
	State oidc.State `json:"s"`
	Next  string     `json:"n"`
}

func oidcPath(name string) string { return "/auth/oidc/" + name + "/" }

// oidcStart sends the browser to the identity provider.
func (p *portal) oidcStart(c echo.Context) error {
	name := c.Param("name")
	prov, err := p.authn.SSO().Provider(c.Request().Context(), name)
	if err != nil {
		return p.providerMissing(c, name, safeNext(c.QueryParam("next")), err)
	}
	authURL, st, err := prov.Begin()
	if err != nil {
		return err
	}
	b, err := json.Marshal(pendingSignIn{State: st, Next: safeNext(c.QueryParam("next"))})
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: under(c, oidcPath(name)),
		HttpOnly: true, Secure: p.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: int(oidc.StateMaxAge / time.Second)})
	return c.Redirect(http.StatusSeeOther, authURL)
}

// oidcCallback finishes a sign-in: the provider sent the browser back
// with a code (or an error).
func (p *portal) oidcCallback(c echo.Context) error {
	name := c.Param("name")
	ctx := c.Request().Context()
	if err := httpguard.AuthGate(c); err != nil {
		return p.renderTooMany(c, err)
	}
	var pending pendingSignIn
	if ck, err := c.Request().Cookie(oidcCookie); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil && len(b) < 4096 {
			_ = json.Unmarshal(b, &pending)
		}
	}
	// One use only: a replayed callback finds no sign-in in progress.
	p.clearCookie(c, oidcCookie, oidcPath(name))
	next := safeNext(pending.Next)
	prov, err := p.authn.SSO().Provider(ctx, name)
	if err != nil {
		return p.providerMissing(c, name, next, err)
	}
	id, err := prov.Finish(ctx, pending.State, c.QueryParams())
	if err != nil {
		var fc *oidc.FailedCheck
		check := "unknown"
		if errors.As(err, &fc) {
			check = fc.Check
		}
		p.authn.SignInFailed(ctx, "oidc:"+name, "", err.Error(), client(c))
		httpguard.AuthFailed(c, "single sign-on refused: "+check)
		p.log.Warn("web: single sign-on refused", "provider", name, "check", check, "err", err)
		return p.renderSignin(c, http.StatusUnauthorized, next, signinProblem(check))
	}
	secret, _, err := p.authn.SignIn(ctx, id, client(c))
	if err != nil {
		e := pluginapi.AsError(err)
		if e.Code == pluginapi.CodeForbidden {
			return p.renderSignin(c, http.StatusForbidden, next, e.Message)
		}
		p.log.Error("web: sign-in failed", "provider", name, "err", err)
		return p.renderSignin(c, http.StatusServiceUnavailable, next, "Signing in is not possible right now. Try again in a moment.")
	}
	p.setSession(c, secret)
	return p.redirect(c, next, "Signed in.")
}

// providerMissing answers a provider that is not configured (404) or
// cannot be reached (503, back on the sign-in page).
func (p *portal) providerMissing(c echo.Context, name, next string, err error) error {
	if pluginapi.AsError(err).Code == pluginapi.CodeNotFound {
		return p.renderMessage(c, http.StatusNotFound, "Not found", "No identity provider of that name is configured.")
	}
	p.log.Error("web: identity provider unreachable", "provider", name, "err", err)
	return p.renderSignin(c, http.StatusServiceUnavailable, next,
		"The identity provider cannot be reached right now. Try again in a moment.")
}

// signinProblem says in words why a single sign-on did not finish.
func signinProblem(check string) string {
	switch check {
	case oidc.CheckProviderError:
		return "Sign-in was cancelled or refused at the identity provider."
	case oidc.CheckState, oidc.CheckExpired:
		return "That sign-in was not started here or took too long. Start again."
	}
	return "The identity provider's answer could not be verified. Start again, or ask an administrator."
}

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/services"
	}
	return next
}

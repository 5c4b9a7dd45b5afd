package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/pluginapi"
)

// The account page (everyone: who am I, my tokens, my sessions) and the
// access page (owners: bindings, users, every session). They call the
// same host/auth operations as the REST API, which check the rights.

func (p *portal) accessRoutes(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/account", p.accountPage, page...)
	e.POST("/account/tokens", p.accountCreateToken, page...)
	e.POST("/account/tokens/:id/revoke", p.accountRevokeToken, page...)
	e.POST("/account/tokens/:id/rotate", p.accountRotateToken, page...)
	e.POST("/account/sessions/:id/end", p.accountEndSession, page...)
	e.GET("/access", p.accessPage, page...)
	e.POST("/access/bindings", p.accessCreateBinding, page...)
	e.POST("/access/bindings/:id/delete", p.accessDeleteBinding, page...)
	e.POST("/access/users/:id/disable", p.accessSetDisabled(true), page...)
	e.POST("/access/users/:id/enable", p.accessSetDisabled(false), page...)
}

// needAuthn refuses the pages of a portal embedded without host/auth.
func (p *portal) needAuthn(c echo.Context) error {
	if p.authn == nil {
		return p.renderMessage(c, http.StatusNotImplemented, "Not available", "This host manages no identities.")
	}
	return nil
}

func (p *portal) accountView(c echo.Context) (AccountView, error) {
	ctx, caller := c.Request().Context(), callerOf(c)
	me, err := p.authn.Me(ctx, caller)
	if err != nil {
		return AccountView{}, err
	}
	ts, err := p.authn.Tokens(ctx, caller, auth.Mine)
	if err != nil {
		return AccountView{}, err
	}
	ss, err := p.authn.Sessions(ctx, caller, auth.Mine)
	if err != nil {
		return AccountView{}, err
	}
	return AccountView{Me: me, Tokens: ts, Sessions: ss, MaxDays: int(p.authn.TokenMaxLifetime() / (24 * time.Hour)), Now: time.Now()}, nil
}

func (p *portal) accountPage(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	v, err := p.accountView(c)
	if err != nil {
		return p.renderError(c, err)
	}
	return render(c, http.StatusOK, AccountPage(p.pageInfo(c, "Your access", "account"), v))
}

// renderAccount shows the account page with a refusal or a new secret.
func (p *portal) renderAccount(c echo.Context, status int, problem string, nt *auth.NewToken) error {
	v, err := p.accountView(c)
	if err != nil {
		return p.renderError(c, err)
	}
	v.Problem, v.NewToken = problem, nt
	return render(c, status, AccountPage(p.pageInfo(c, "Your access", "account"), v))
}

func (p *portal) accountCreateToken(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	role, err := access.ParseRole(c.FormValue("role"))
	if err != nil {
		return p.renderAccount(c, http.StatusBadRequest, "Role: "+err.Error(), nil)
	}
	scope, err := parseScopeText(c.FormValue("scope"))
	if err != nil {
		return p.renderAccount(c, http.StatusBadRequest, "Connections: "+err.Error(), nil)
	}
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("days")))
	if err != nil || days < 1 || days > 100000 {
		return p.renderAccount(c, http.StatusBadRequest, "Expires in: give a whole number of days.", nil)
	}
	nt, err := p.authn.CreateToken(c.Request().Context(), callerOf(c), auth.TokenRequest{
		Name: c.FormValue("name"), Grants: access.Grants{{Role: role, Scope: scope}},
		ExpiresAt: time.Now().Add(time.Duration(days) * 24 * time.Hour), ServiceAccount: c.FormValue("service_account") == "yes"})
	if err != nil {
		pe := p.userError(c, err)
		return p.renderAccount(c, statusFor(pe.Code), pe.Message, nil)
	}
	return p.renderAccount(c, http.StatusCreated, "", &nt)
}

func (p *portal) accountRevokeToken(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	t, err := p.authn.RevokeToken(c.Request().Context(), callerOf(c), param(c, "id"))
	if err != nil {
		return p.renderError(c, err)
	}
	return p.redirect(c, "/account", "Token "+t.Name+" revoked.")
}

func (p *portal) accountRotateToken(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	nt, err := p.authn.RotateToken(c.Request().Context(), callerOf(c), param(c, "id"))
	if err != nil {
		return p.renderError(c, err)
	}
	return p.renderAccount(c, http.StatusOK, "", &nt)
}

func (p *portal) accountEndSession(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	if err := p.authn.EndSession(c.Request().Context(), callerOf(c), param(c, "id")); err != nil {
		return p.renderError(c, err)
	}
	back := "/account"
	if c.FormValue("back") == "/access" {
		back = "/access"
	}
	return p.redirect(c, back, "Session ended.")
}

func (p *portal) accessView(c echo.Context) (AccessView, error) {
	ctx, caller := c.Request().Context(), callerOf(c)
	bs, err := p.authn.Bindings(ctx, caller)
	if err != nil {
		return AccessView{}, err
	}
	us, err := p.authn.Users(ctx, caller)
	if err != nil {
		return AccessView{}, err
	}
	ss, err := p.authn.Sessions(ctx, caller, auth.Everyone)
	if err != nil {
		return AccessView{}, err
	}
	return AccessView{Bindings: bs, Users: us, Sessions: ss, Current: caller.SessionID}, nil
}

func (p *portal) accessPage(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	v, err := p.accessView(c)
	if err != nil {
		return p.renderError(c, err)
	}
	return render(c, http.StatusOK, AccessPage(p.pageInfo(c, "Access", "access"), v))
}

func (p *portal) accessCreateBinding(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	problem := func(status int, msg string) error {
		v, err := p.accessView(c)
		if err != nil {
			return p.renderError(c, err)
		}
		v.Problem = msg
		return render(c, status, AccessPage(p.pageInfo(c, "Access", "access"), v))
	}
	scope, err := parseScopeText(c.FormValue("scope"))
	if err != nil {
		return problem(http.StatusBadRequest, "Connections: "+err.Error())
	}
	b, err := p.authn.CreateBinding(c.Request().Context(), callerOf(c), access.Binding{
		Subject: access.Subject(strings.TrimSpace(c.FormValue("subject"))),
		Grant:   access.Grant{Role: access.Role(c.FormValue("role")), Scope: scope}})
	if err != nil {
		pe := p.userError(c, err)
		if pe.Code == pluginapi.CodeForbidden {
			return p.renderError(c, err)
		}
		return problem(statusFor(pe.Code), pe.Message)
	}
	return p.redirect(c, "/access", string(b.Subject)+" is now "+b.Grant.String()+".")
}

func (p *portal) accessDeleteBinding(c echo.Context) error {
	if err := p.needAuthn(c); err != nil {
		return err
	}
	b, err := p.authn.DeleteBinding(c.Request().Context(), callerOf(c), param(c, "id"))
	if err != nil {
		return p.renderError(c, err)
	}
	return p.redirect(c, "/access", "Binding of "+string(b.Subject)+" deleted.")
}

func (p *portal) accessSetDisabled(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := p.needAuthn(c); err != nil {
			return err
		}
		u, err := p.authn.SetUserDisabled(c.Request().Context(), callerOf(c), param(c, "id"), disabled)
		if err != nil {
			return p.renderError(c, err)
		}
		msg := u.Provider + "/" + u.Username + " enabled."
		if disabled {
			msg = u.Provider + "/" + u.Username + " disabled: their sessions ended and their tokens stopped working."
		}
		return p.redirect(c, "/access", msg)
	}
}

// parseScopeText reads a scope as people type it: empty or "all", a
// comma-separated list of connection names, or "selector: <selector>".
func parseScopeText(s string) (access.Scope, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return access.All(), nil
	}
	if sel, ok := strings.CutPrefix(s, "selector:"); ok {
		return access.ParseSelector(strings.TrimSpace(sel))
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return access.Names(names...)
}

func joinComma(vs []string) string {
	if len(vs) == 0 {
		return "—"
	}
	return strings.Join(vs, ", ")
}

func disableVerb(disabled bool) string {
	if disabled {
		return "enable"
	}
	return "disable"
}

func disableLabel(disabled bool) string {
	if disabled {
		return "Enable"
	}
	return "Disable"
}

// Package web is Wharf's self-service portal: server-rendered pages (templ)
// on top of the operations facade (host/ops). It never calls the REST API
// over HTTP; every page handler calls *ops.Host methods directly.
//
// Layers: components (*.templ) know nothing of HTTP; handlers (*.go, one
// file per feature) only translate HTTP to facade calls and back; the facade
// holds the logic. Static assets (one stylesheet, a small script) are
// embedded, so the portal works offline.
package web

//go:generate go tool templ generate -include-version=false

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/pluginapi"
)

//go:embed static
var staticFS embed.FS

// Options tune the portal. The zero value is ready to use.
type Options struct {
	// Logger receives the real errors behind the friendly messages.
	Logger *slog.Logger
	// SecureCookies marks cookies Secure (serve the portal over HTTPS).
	SecureCookies bool
	// PageSize is the number of services per page of the list (default 25).
	PageSize int
	// DeploymentsPageSize is the number of deployments per page of a
	// service's history (default 20).
	DeploymentsPageSize int
	// WSWriteTimeout bounds each websocket write (default 10s): a client that
	// does not read is dropped instead of holding server resources.
	WSWriteTimeout time.Duration
	// WSPingInterval is how often the server pings log viewers (default 20s);
	// a viewer that does not answer within two intervals is dropped.
	WSPingInterval time.Duration
	// LogBuffer is the number of log entries a viewer may have waiting on the
	// server before the oldest are skipped (default 1000).
	LogBuffer int
	// BodyLimit caps a form's body in bytes (default 1 MiB); a larger one is
	// refused before it is read.
	BodyLimit int64
	// ViewersPerClient caps the live log viewers (websockets) one client
	// address holds at once (default 16).
	ViewersPerClient int
	// Auth keeps sessions and signs users in; a host that is not open
	// needs it. Face sets it from the server's.
	Auth *auth.Authenticator
	// Webhooks serves the owners' webhooks page; default: the host's event
	// sink when it is the webhooks service, else the page lists none.
	Webhooks *webhooks.Service
	// PluginUploadMiB caps a plugin uploaded from the plugins page, in MiB
	// (default 64, as the API's).
	PluginUploadMiB int
}

// portal holds what the handlers share.
type portal struct {
	host    *ops.Host
	authn   *auth.Authenticator
	opts    Options
	log     *slog.Logger
	logs    *logStats
	viewers *perClient // live log viewers per client address
	// webhooks is the webhooks page's service; nil: none configured.
	webhooks *webhooks.Service
}

const (
	flashCookie = "wharf_flash"
	callerKey   = "wharf.caller"
	csrfField   = "_csrf"
)

// Register mounts the portal's pages at "/" on e. Routes carry their own
// middleware (auth, CSRF), so other faces on the same echo instance (the REST
// API under /api/v1) are untouched.
func Register(e *echo.Echo, h *ops.Host, opts Options) error {
	if e == nil || h == nil {
		return errors.New("web: echo instance and host are required")
	}
	if opts.Auth == nil && !h.Open() {
		return errors.New("web: a host that is not open needs an Authenticator (host/auth) for its sessions")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 25
	}
	if opts.DeploymentsPageSize <= 0 {
		opts.DeploymentsPageSize = 20
	}
	if opts.WSWriteTimeout <= 0 {
		opts.WSWriteTimeout = 10 * time.Second
	}
	if opts.WSPingInterval <= 0 {
		opts.WSPingInterval = 20 * time.Second
	}
	if opts.LogBuffer <= 0 {
		opts.LogBuffer = 1000
	}
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.ViewersPerClient <= 0 {
		opts.ViewersPerClient = 16
	}
	if e.IPExtractor == nil {
		// echo's fallback believes X-Forwarded-For from anyone.
		e.IPExtractor = echo.ExtractIPDirect()
	}
	p := &portal{host: h, authn: opts.Auth, opts: opts, log: opts.Logger, logs: &logStats{}, viewers: newPerClient(opts.ViewersPerClient),
		webhooks: webhooksOf(opts, h.Events())}
	p.routes(e)
	if registered != nil {
		registered(p)
	}
	return nil
}

// registered, set by tests, sees each portal Register builds.
var registered func(*portal)

// Face returns Register with opts bound, in the shape host/server mounts.
func Face(opts Options) func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error {
	return func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error {
		if opts.Auth == nil {
			opts.Auth = a
		}
		return Register(e, h, opts)
	}
}

func (p *portal) routes(e *echo.Echo) {
	csrf := p.csrf()
	noStore := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-store")
			c.Response().Header().Set("X-Frame-Options", "DENY")
			c.Response().Header().Set("X-Content-Type-Options", "nosniff")
			return next(c)
		}
	}
	// Forms are urlencoded and capped, checked before anything reads the
	// body; credentials are checked before the CSRF token (which parses the
	// form). Multipart is refused outright: no form here sends it, and its
	// parser spills large parts to disk.
	forms := func(next echo.HandlerFunc) echo.HandlerFunc {
		return httpguard.RequireContentType(echo.MIMEApplicationForm)(httpguard.BodyLimit(p.opts.BodyLimit)(next))
	}
	page := []echo.MiddlewareFunc{noStore, forms, p.auth, csrf}
	public := []echo.MiddlewareFunc{noStore, forms, csrf}

	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/", staticHandler())))
	e.GET("/signin", p.signinPage, public...)
	e.POST("/signin", p.signin, public...)
	e.POST("/signout", p.signout, public...)
	e.GET("/auth/oidc/:name/start", p.oidcStart, public...)
	e.GET("/auth/oidc/:name/callback", p.oidcCallback, public...)

	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, under(c, "/services")) }, page...)
	e.GET("/services", p.servicesList, page...)
	e.GET("/services/live", p.servicesLive, page...)
	e.GET("/services/new", p.createForm, page...)
	e.POST("/services/new", p.createSubmit, page...)
	e.GET("/services/:conn/:id", p.serviceDetail, page...)
	e.GET("/services/:conn/:id/status", p.serviceStatus, page...)
	e.GET("/services/:conn/:id/timeline", p.serviceTimeline, page...)
	e.POST("/services/:conn/:id/actions/:action", p.runAction, page...)
	e.POST("/services/:conn/:id/delete", p.deleteService, page...)
	e.GET("/services/:conn/:id/edit", p.editForm, page...)
	e.POST("/services/:conn/:id/edit", p.editPreview, page...)
	e.POST("/services/:conn/:id/update", p.editApply, page...)
	e.GET("/services/:conn/:id/invoke", p.invokePage, page...)
	e.POST("/services/:conn/:id/invoke", p.invokeSubmit, page...)
	e.GET("/logs", p.mergedLogsPage, page...)
	e.GET("/services/:conn/:id/logs", p.logsPage, page...)
	e.GET("/services/:conn/:id/logs/ws", p.logsSocket, page...)
	e.GET("/services/:conn/:id/logs/download", p.logsDownload, page...)
	e.GET("/audit", p.auditPage, page...)
	e.GET("/audit/export", p.auditExport, page...)
	e.GET("/plugins", p.pluginsPage, page...)
	e.GET("/plugins/:name", p.pluginDetail, page...)
	// Multipart, so not behind forms and csrf: pluginInstall bounds the
	// body and checks the CSRF token itself, before reading any file.
	e.POST("/plugins/install", p.pluginInstall, noStore, p.auth)
	e.GET("/plugins/install", func(c echo.Context) error {
		return c.Redirect(http.StatusSeeOther, under(c, "/plugins#install-plugin"))
	}, page...)
	e.GET("/connections/new", p.connectionForm, page...)
	e.POST("/connections/new", p.connectionCreate, page...)
	e.GET("/connections/:name/edit", p.connectionEditForm, page...)
	e.POST("/connections/:name/edit", p.connectionUpdate, page...)
	e.POST("/connections/:name/test", p.connectionTest, page...)
	e.POST("/connections/:name/delete", p.connectionDelete, page...)
	p.accessRoutes(e, page)
	p.webhookRoutes(e, page)
}

func staticHandler() http.Handler {
	fs := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fs.ServeHTTP(w, r)
	})
}

// auth resolves the caller: everyone in open mode, else the session
// cookie. A client refused too often is turned away (429) before its
// cookie is looked at; a refused cookie is counted and cleared.
func (p *portal) auth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if _, err := req.Cookie(legacyTokenCookie); err == nil {
			p.clearCookie(c, legacyTokenCookie, "/") // a raw token has no business in a cookie
		}
		var caller ops.Caller
		var err error
		if p.host.Open() {
			caller, err = p.host.Authenticate("", req.Header.Get("X-Wharf-Actor"))
			caller.ClientAddr, caller.RequestID = c.RealIP(), requestID(c)
		} else {
			secret := ""
			if ck, cerr := req.Cookie(sessionCookie); cerr == nil {
				secret = ck.Value
			}
			if caller, ok, perr := p.authn.Proxy(req.Context(), req, client(c)); ok {
				// The gateway in front signed the user in; no session here.
				if perr != nil {
					return p.renderError(c, perr)
				}
				c.Set(callerKey, caller)
				return next(c)
			}
			if secret != "" {
				if gerr := httpguard.AuthGate(c); gerr != nil {
					return p.renderTooMany(c, gerr)
				}
			}
			caller, err = p.authn.Session(req.Context(), secret, client(c))
			if err != nil && secret != "" {
				if pluginapi.AsError(err).Code != pluginapi.CodeUnauthorized {
					p.log.Error("web: session check failed", "err", err)
					return p.renderMessage(c, http.StatusServiceUnavailable, "Try again", "Your session cannot be checked right now. Try again in a moment.")
				}
				httpguard.AuthFailed(c, "session cookie refused")
				p.clearCookie(c, sessionCookie, "/")
			}
		}
		if err != nil {
			if req.Method == http.MethodGet && !strings.HasSuffix(req.URL.Path, "/ws") {
				return c.Redirect(http.StatusSeeOther, under(c, "/signin?next="+url.QueryEscape(req.URL.RequestURI())))
			}
			return p.renderMessage(c, http.StatusUnauthorized, "Sign in required", "Your session has ended. Sign in again.")
		}
		c.Set(callerKey, caller)
		return next(c)
	}
}

// requestID is the request's id: the one the API's middleware answers
// with when it is mounted, else the client's.
func requestID(c echo.Context) string {
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		return id
	}
	return c.Request().Header.Get(echo.HeaderXRequestID)
}

// renderTooMany shows httpguard's 429 refusal as a page.
func (p *portal) renderTooMany(c echo.Context, err error) error {
	msg := "Too many attempts with a wrong token came from your address. Wait a little and try again."
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok {
			msg = strings.ToUpper(m[:1]) + m[1:] + "."
		}
	}
	return p.renderMessage(c, http.StatusTooManyRequests, "Too many attempts", msg)
}

func callerOf(c echo.Context) ops.Caller {
	caller, _ := c.Get(callerKey).(ops.Caller)
	return caller
}

// render writes a templ component with a status: the one Render helper.
func render(c echo.Context, status int, comp templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return comp.Render(c.Request().Context(), c.Response())
}

// pageInfo gathers what the layout needs for one request.
func (p *portal) pageInfo(c echo.Context, title, nav string) Page {
	caller := callerOf(c)
	pg := Page{Title: title, Nav: nav, Actor: caller.Actor, Role: string(caller.Top()),
		Open: p.host.Open(), CSRF: csrfToken(c)}
	if ck, err := c.Request().Cookie(flashCookie); err == nil && ck.Value != "" {
		if v, err := url.QueryUnescape(ck.Value); err == nil {
			pg.Flash = v
		}
		c.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: under(c, "/"), MaxAge: -1, HttpOnly: true})
	}
	return pg
}

func csrfToken(c echo.Context) string {
	s, _ := c.Get("csrf").(string)
	return s
}

// redirect answers a POST with 303 See Other (Post/Redirect/Get) and a
// one-shot message for the next page.
func (p *portal) redirect(c echo.Context, to, flash string) error {
	if flash != "" {
		c.SetCookie(&http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: under(c, "/"),
			HttpOnly: true, Secure: p.secure(c), SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	return c.Redirect(http.StatusSeeOther, under(c, to))
}

// renderMessage shows a simple page with a title and a message.
func (p *portal) renderMessage(c echo.Context, status int, title, msg string) error {
	return render(c, status, MessagePage(p.pageInfo(c, title, ""), title, msg))
}

// userError turns err into something safe to show: structured plugin and
// facade errors keep their message; a plugin's own internal failure
// (marked with ops.PluginDetail) shows its first line, and administrators
// also get its whole message and the plugin's output (a wasm stack trace
// is for the people who run the host); the host's internal errors and
// anything else are logged and replaced by a generic sentence.
func (p *portal) userError(c echo.Context, err error) *pluginapi.Error {
	pe := pluginapi.AsError(err)
	if name, ok := pe.Detail[ops.PluginDetail].(string); ok && pe.Code == pluginapi.CodeInternal {
		rid := requestID(c)
		p.log.Warn("web: plugin failed", "path", c.Request().URL.Path, "plugin", name, "request_id", rid, "err", pe.Message, "detail", pe.Detail)
		if callerOf(c).Owner() {
			detail := map[string]any{ops.PluginDetail: name}
			if s, ok := pe.Detail["stderr"].(string); ok {
				detail["stderr"] = s
			}
			return &pluginapi.Error{Code: pe.Code, Message: "The " + name + " plugin failed: " + pe.Message, Detail: detail}
		}
		msg := "The " + name + " plugin failed: " + shortMessage(pe.Message) + " An administrator can find the details in the host's log"
		if rid != "" {
			msg += " under request id " + rid
		}
		return &pluginapi.Error{Code: pe.Code, Message: msg + ".", Detail: map[string]any{ops.PluginDetail: name}}
	}
	switch pe.Code {
	case pluginapi.CodeInternal, "":
		p.log.Error("web: internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		return &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: "Something went wrong on our side. The details were logged; try again, and tell an administrator if it keeps happening."}
	}
	p.log.Info("web: operation refused", "path", c.Request().URL.Path, "code", pe.Code, "err", pe.Message)
	return pe
}

// shortMessage is the first line of msg, at most 200 bytes, ending in a stop.
func shortMessage(msg string) string {
	msg, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// statusFor maps an error code to the page's HTTP status: the same as the
// REST API's (pluginapi.StatusForCode).
func statusFor(code pluginapi.Code) int { return pluginapi.StatusForCode(code) }

// renderError shows err as a full page.
func (p *portal) renderError(c echo.Context, err error) error {
	pe := p.userError(c, err)
	return render(c, statusFor(pe.Code), ErrorPage(p.pageInfo(c, errorTitle(pe.Code), ""), pe))
}

func errorTitle(code pluginapi.Code) string {
	switch code {
	case pluginapi.CodeNotFound:
		return "Not found"
	case pluginapi.CodeInvalid:
		return "Invalid request"
	case pluginapi.CodeConflict:
		return "Conflict"
	case pluginapi.CodeUnauthorized:
		return "Credentials rejected"
	case pluginapi.CodeForbidden:
		return "Not allowed"
	case pluginapi.CodeUnavailable:
		return "Platform unavailable"
	case pluginapi.CodeTimeout:
		return "Timed out"
	case pluginapi.CodeUnsupported:
		return "Not supported"
	}
	return "Error"
}

// can reports whether the caller holds need on some connection: what a
// page that spans connections may offer. Pages about one connection use
// the caller's role on it (ops.Connection.Role); the host checks again
// whatever is asked of it.
func can(c echo.Context, need ops.Role) bool { return callerOf(c).Top().Allows(need) }

func servicePath(conn, id string) string {
	return "/services/" + url.PathEscape(conn) + "/" + url.PathEscape(id)
}

// param returns an unescaped path parameter.
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// at is path under the base path the host is served from, for templates:
// every link, form action and script URL the portal writes goes through it.
func at(ctx context.Context, path string) templ.SafeURL {
	return templ.SafeURL(httpguard.BasePath(ctx) + path)
}

// under is path under the request's base path, for redirects and cookies.
func under(c echo.Context, path string) string {
	return httpguard.BasePath(c.Request().Context()) + path
}

// csrf checks forms' CSRF token. Its cookie is scoped to the base path the
// portal is served under, known at the first request: one middleware per
// base path (one in practice).
func (p *portal) csrf() echo.MiddlewareFunc {
	var byBase sync.Map // base path → echo.MiddlewareFunc
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			base := httpguard.BasePath(c.Request().Context())
			mw, ok := byBase.Load(base)
			if !ok {
				mw, _ = byBase.LoadOrStore(base, p.newCSRF(base+"/"))
			}
			return mw.(echo.MiddlewareFunc)(next)(c)
		}
	}
}

func (p *portal) newCSRF(cookiePath string) echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:" + csrfField + ",header:X-CSRF-Token",
		CookieName:     "wharf_csrf",
		CookiePath:     cookiePath,
		CookieHTTPOnly: true,
		CookieSecure:   p.opts.SecureCookies,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			p.log.Warn("web: csrf check failed", "path", c.Path(), "err", err)
			return p.renderMessage(c, http.StatusForbidden, "Form expired",
				"This form was not accepted because its security token is missing or out of date. Go back, reload the page and try again.")
		},
	})
}

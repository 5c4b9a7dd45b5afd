// Package api is Wharf's REST API: JSON over HTTP under /api/v1, a thin
// face on the operations facade (host/ops). It knows nothing of plugins,
// storage or the audit log beyond what ops offers.
//
// New returns a ready *echo.Echo; Register mounts the API on an existing
// one (the web portal shares the server). Errors travel as
// *pluginapi.Error and are turned into responses in one place,
// HandleError: {"error": {...}, "request_id": "..."} with the status of
// the error's code.
package api

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/httpguard"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/pluginapi"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// OpenAPI is the API's OpenAPI 3.1 document, served at Prefix+"/openapi.json".
//
//go:embed openapi.json
var OpenAPI []byte

// Options configure the API.
type Options struct {
	Logger *slog.Logger
	// BodyLimit caps request bodies, in echo's notation ("4M"); default 4M.
	BodyLimit string
	// Auth authenticates callers (managed tokens, bindings) and serves
	// /me, /tokens, /bindings, /sessions and /users. Without it only the
	// facade's own tokens work and those routes answer unsupported. Face
	// sets it from the server's.
	Auth *auth.Authenticator
	// Webhooks serves /webhooks; default: the host's event sink when it
	// is the webhooks service (host/server's wiring), else none.
	Webhooks *webhooks.Service
	// PluginUploadMiB caps the body of POST /plugins (a plugin's .wasm), in
	// MiB; default DefaultPluginUploadMiB.
	PluginUploadMiB int
}

// DefaultPluginUploadMiB is the default cap of a plugin upload.
const DefaultPluginUploadMiB = 64

// New returns an echo server with the API mounted, the request id
// middleware, the central error handler and JSON 404s, behind the default
// httpguard checks (loopback names only, no cross-site requests, client
// addresses from the socket). host/server installs its own configured guard.
func New(h *ops.Host, opts Options) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	g, _ := httpguard.New(httpguard.Config{Logger: opts.Logger}) // the zero Config is valid
	g.Install(e)
	_ = Face(opts)(e, h, opts.Auth)
	return e
}

// Face mounts the API on an existing echo the way New does — request ids,
// the central error handler, the routes — for host/server.
func Face(opts Options) func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error {
	return func(e *echo.Echo, h *ops.Host, a *auth.Authenticator) error {
		if opts.Auth == nil {
			opts.Auth = a
		}
		if e.IPExtractor == nil {
			// echo's fallback believes X-Forwarded-For from anyone.
			e.IPExtractor = echo.ExtractIPDirect()
		}
		e.Use(RequestID())
		e.HTTPErrorHandler = ErrorHandler(opts.Logger)
		Register(e, h, opts)
		return nil
	}
}

// Register mounts the API routes on e under Prefix. It expects the
// RequestID middleware and ErrorHandler to be installed on e (New does so).
func Register(e *echo.Echo, h *ops.Host, opts Options) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BodyLimit == "" {
		opts.BodyLimit = "4M"
	}
	s := &server{h: h, log: opts.Logger, auth: opts.Auth, webhooks: webhooksOf(opts, h.Events())}
	root := e.Group(Prefix)
	root.GET("/healthz", s.healthz, checkQuery)
	root.GET("/openapi.json", serveOpenAPI, checkQuery)

	// Bodies are JSON or nothing: a plain HTML form or a no-cors fetch
	// cannot send these types, so it cannot reach a handler. Checked, with
	// the size cap and the credentials, before any body is read.
	g := e.Group(Prefix, httpguard.RequireContentType(echo.MIMEApplicationJSON, MIMEMergePatch),
		middleware.BodyLimit(opts.BodyLimit), s.authenticate, checkQuery)
	g.GET("/plugins", s.listPlugins)
	g.GET("/plugins/:name", s.getPlugin)
	// A plugin upload is the module itself: application/wasm, which a form
	// or a no-cors fetch cannot send either, with a cap of its own.
	if opts.PluginUploadMiB <= 0 {
		opts.PluginUploadMiB = DefaultPluginUploadMiB
	}
	e.POST(Prefix+"/plugins", s.installPlugin, httpguard.RequireContentType(MIMEWasm),
		middleware.BodyLimit(fmt.Sprintf("%dM", opts.PluginUploadMiB)), s.authenticate, checkQuery)

	g.GET("/connections", s.listConnections)
	g.POST("/connections", s.createConnection)
	g.GET("/connections/:conn", s.getConnection)
	g.PUT("/connections/:conn", s.updateConnection)
	g.PATCH("/connections/:conn", s.patchConnection)
	g.DELETE("/connections/:conn", s.deleteConnection)
	g.POST("/connections/:conn/test", s.testConnection)

	g.GET("/services", s.listAllServices)
	g.GET("/connections/:conn/services", s.listServices)
	g.POST("/connections/:conn/services", s.createService)
	g.GET("/connections/:conn/services/:id", s.getService)
	g.PUT("/connections/:conn/services/:id", s.updateService)
	g.PATCH("/connections/:conn/services/:id", s.patchService)
	g.DELETE("/connections/:conn/services/:id", s.deleteService)
	g.POST("/connections/:conn/services/:id/actions/:action", s.runAction)
	g.GET("/connections/:conn/services/:id/logs", s.logs)
	g.GET("/connections/:conn/instances", s.listConnectionInstances)
	g.GET("/connections/:conn/choices", s.listChoices)
	g.GET("/connections/:conn/services/:id/instances", s.listInstances)
	g.GET("/connections/:conn/services/:id/instances/:iid", s.getInstance)
	g.GET("/connections/:conn/services/:id/deployments", s.listDeployments)
	g.GET("/connections/:conn/services/:id/deployments/:did", s.getDeployment)
	g.GET("/connections/:conn/services/:id/timeline", s.timeline)
	g.POST("/connections/:conn/services/:id/invoke", s.invoke)

	g.GET("/audit", s.queryAudit)
	g.GET("/audit/export", s.exportAudit)
	g.GET("/audit/verify", s.verifyAudit)

	s.registerIdentity(g)
	s.registerWebhooks(g)
}

// MIMEMergePatch is the media type of a JSON merge patch (RFC 7386).
const MIMEMergePatch = "application/merge-patch+json"

type server struct {
	h        *ops.Host
	log      *slog.Logger
	auth     *auth.Authenticator
	webhooks *webhooks.Service // nil: none
}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestID keeps a sane incoming X-Request-Id or makes one, and echoes it
// in the response.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(RequestIDHeader)
			if !saneID(id) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(RequestIDHeader, id)
			return next(c)
		}
	}
}

const (
	requestIDKey = "wharf.request_id"
	callerKey    = "wharf.caller"
)

func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// RequestIDOf returns the request id the RequestID middleware set.
func RequestIDOf(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// CallerOf returns the caller the API's authentication set.
func CallerOf(c echo.Context) ops.Caller {
	caller, _ := c.Get(callerKey).(ops.Caller)
	return caller
}

// ActorHeader names the actor in open (tokenless) mode.
const ActorHeader = "X-Wharf-Actor"

// authenticate turns the Authorization header into an ops.Caller. A client
// that presented wrong credentials too often is refused (429) before its
// next ones are even looked at.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := httpguard.AuthGate(c); err != nil {
			return err
		}
		caller, err := s.authenticateRequest(c)
		if err != nil {
			if c.Request().Header.Get("Authorization") != "" {
				httpguard.AuthFailed(c, "bearer token refused")
			}
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="wharf"`)
			return err
		}
		c.Set(callerKey, caller)
		return next(c)
	}
}

// authenticateRequest builds the Caller of a request: bearer token (or
// the X-Wharf-Actor header in open mode), client address and request id.
func (s *server) authenticateRequest(c echo.Context) (ops.Caller, error) {
	bearer := ""
	if a := c.Request().Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ops.Caller{}, pluginapi.Errorf(pluginapi.CodeUnauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		bearer = strings.TrimSpace(tok)
	}
	actor := c.Request().Header.Get(ActorHeader)
	if s.auth != nil {
		cl := auth.Client{Addr: c.RealIP(), UserAgent: c.Request().UserAgent(), RequestID: RequestIDOf(c)}
		if bearer == "" { // an explicit token wins over a gateway's headers
			if caller, ok, err := s.auth.Proxy(c.Request().Context(), c.Request(), cl); ok {
				return caller, err
			}
		}
		return s.auth.Bearer(c.Request().Context(), bearer, actor, cl)
	}
	caller, err := s.h.Authenticate(bearer, actor)
	if err != nil {
		return ops.Caller{}, err
	}
	caller.ClientAddr = c.RealIP()
	caller.RequestID = RequestIDOf(c)
	return caller, nil
}

// StatusOf maps an error code to its HTTP status: pluginapi.StatusForCode,
// the one mapping the portal, the client and the plugins share.
func StatusOf(code pluginapi.Code) int { return pluginapi.StatusForCode(code) }

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error     *pluginapi.Error `json:"error"`
	RequestID string           `json:"request_id,omitempty"`
}

// ErrorHandler returns the central error handler: *pluginapi.Error (and
// echo's own errors) become {"error": ..., "request_id": ...} with the
// matching status. The host's own internal errors are logged and shown as
// a generic message, since their text may reveal the host's insides; a
// plugin's keep a short message, and only administrators see their
// details (see Public).
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, e := Classify(err)
		rid := RequestIDOf(c)
		if e.Code == pluginapi.CodeInternal {
			log.Error("internal error", "request_id", rid, "method", c.Request().Method, "path", c.Request().URL.Path, "err", err, "detail", e.Detail)
		}
		setRetryAfter(c, e)
		e = Public(e, rid, CallerOf(c).Owner())
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, ErrorBody{Error: e, RequestID: rid})
		}
		if werr != nil {
			log.Warn("could not write error answer", "request_id", rid, "err", werr)
		}
	}
}

// Public is what a caller sees of an error.
//
// The host's own internal failures are replaced by a pointer to the log.
// A plugin's errors (marked with ops.PluginDetail) are about the plugin,
// not the host, but their details — a wasm stack trace, the plugin's
// stderr, the platform's raw answer — are for the people who run the host
// (plugins are the owners' business, and a plugin's stderr may speak of
// any connection it serves): owners get everything, other callers the first line of the
// message (cut to 200 bytes), the plugin's name and the request id under
// which the log has the rest. Other errors pass unchanged.
func Public(e *pluginapi.Error, rid string, owner bool) *pluginapi.Error {
	name, fromPlugin := e.Detail[ops.PluginDetail].(string)
	switch {
	case !fromPlugin && e.Code == pluginapi.CodeInternal:
		return &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "internal error; the host's log has the details under request id " + rid}
	case !fromPlugin:
		return e
	case owner:
		out := *e
		out.Detail = make(map[string]any, len(e.Detail)+1)
		for k, v := range e.Detail {
			out.Detail[k] = v
		}
		out.Detail["request_id"] = rid
		return &out
	}
	out := *e
	out.Detail = map[string]any{ops.PluginDetail: name, "request_id": rid}
	for _, k := range []string{ops.RetryAtDetail, ops.RetryAfterDetail} {
		if v, ok := e.Detail[k]; ok {
			out.Detail[k] = v // when a failing connection is tried again
		}
	}
	if e.Code == pluginapi.CodeInternal {
		out.Message = ShortMessage(e.Message) + " (details in the host's log under request id " + rid + ")"
	}
	return &out
}

// setRetryAfter tells a client when to come back from an error that says
// (ops.RetryAfterDetail: a failing connection's next try, in seconds).
func setRetryAfter(c echo.Context, e *pluginapi.Error) {
	if secs, ok := e.Detail[ops.RetryAfterDetail].(int64); ok && e.Retryable {
		c.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
}

// ShortMessage is the first line of msg, at most 200 bytes of valid UTF-8.
func ShortMessage(msg string) string {
	msg, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	return msg
}

// Classify turns any error into a status and a structured error.
func Classify(err error) (int, *pluginapi.Error) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		switch he.Code {
		case http.StatusNotFound:
			msg = "no such route"
		case http.StatusMethodNotAllowed:
			msg = "no such route for this method"
		case http.StatusRequestEntityTooLarge:
			msg = "request body too large"
		}
		if msg == "" {
			msg = "request failed"
		}
		return he.Code, &pluginapi.Error{Code: pluginapi.CodeForStatus(he.Code), Message: strings.ToLower(msg[:1]) + msg[1:]}
	}
	e := pluginapi.AsError(err)
	return StatusOf(e.Code), e
}

// serveOpenAPI serves the document, its server URL under the base path the
// host is served from, so clients generated from it reach an embedded host.
func serveOpenAPI(c echo.Context) error {
	doc := OpenAPI
	if base := httpguard.BasePath(c.Request().Context()); base != "" {
		doc = bytes.Replace(doc, []byte(`"url": "`+Prefix+`"`), []byte(`"url": "`+base+Prefix+`"`), 1)
	}
	return c.Blob(http.StatusOK, "application/json", doc)
}

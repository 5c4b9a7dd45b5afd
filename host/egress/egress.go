// Package egress implements the "wharf_http" host function: every network
// request a plugin makes goes through Handler.Do, which resolves the
// plugin's endpoint, enforces the allowed hosts (on every redirect hop too),
// adds the connection's credentials, applies timeouts and size caps, and
// reaches unix sockets. A plugin never sees a secret and cannot reach a host
// its connection does not name.
//
// Two kinds of host are reachable. The hosts of the connection's endpoint
// values (chosen by an administrator) get credentials. Host patterns the
// plugin declares get none, and are reachable at all only once an
// administrator approved them for the connection (Target.ApprovedHosts): a
// plugin is untrusted code and must not be able to send a secret to a host
// of its own choosing, which could echo it back.
package egress

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxTimeout   = 5 * time.Minute
	DefaultMaxBodyBytes = 32 << 20
	DefaultMaxRedirects = 5
)

// Options configure a Client. Zero fields take the defaults above.
type Options struct {
	// DefaultTimeout applies when the plugin asks for none.
	DefaultTimeout time.Duration
	// MaxTimeout caps the timeout a plugin may ask for.
	MaxTimeout time.Duration
	// MaxBodyBytes caps a response body; a plugin may ask for less.
	MaxBodyBytes int64
	// MaxRedirects is how many redirects are followed; negative means none
	// (the 3xx answer goes back to the plugin).
	MaxRedirects int
	// Logger receives one debug record per request; never secrets.
	Logger *slog.Logger
	// Metrics, if set, observes every request (host/metrics implements it).
	Metrics Metrics
}

// Metrics observes the requests plugins make. host is where a request
// went: host:port of its first hop, "unix:<path>" for a socket endpoint,
// or "" when it was refused before an allowed destination was known (so
// a plugin cannot make up label values). status is the answer's HTTP
// status, or 0 with code saying why there was none.
type Metrics interface {
	EgressRequest(host string, status int, code pluginapi.Code, took time.Duration)
}

// Client sends plugin requests. It keeps one http.Transport for the network
// and one per unix socket, so connections are reused across calls. It is
// safe for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger

	mu         sync.Mutex
	transports map[string]*http.Transport // "" = network, else a socket path
}

// New returns a Client with opts, zero fields defaulted.
func New(opts Options) *Client {
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = DefaultMaxTimeout
	}
	opts.DefaultTimeout = min(opts.DefaultTimeout, opts.MaxTimeout)
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{opts: opts, log: log, transports: map[string]*http.Transport{}}
}

// Close closes idle connections. The Client stays usable.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transports {
		t.CloseIdleConnections()
	}
}

// transport returns the cached transport for a unix socket, or for the
// network when socket is "".
func (c *Client) transport(socket string) *http.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.transports[socket]; ok {
		return t
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if socket != "" {
		t.Proxy = nil
		t.ForceAttemptHTTP2 = false
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	c.transports[socket] = t
	return t
}

// Target is the connection a plugin call runs for.
type Target struct {
	// Connection is the connection's name, for messages and logs.
	Connection string
	// Config is the full connection config, secrets included.
	Config map[string]any
	// SecretFields are the config properties marked "x-secret".
	SecretFields []string
	// EndpointFields are the config properties marked "x-endpoint". Their
	// values in Config (an endpoint default already filled in) are the only
	// destinations that get credentials.
	EndpointFields []string
	// ApprovedHosts are the host patterns from the plugin's describe that an
	// administrator approved for this connection: reachable, without
	// credentials.
	ApprovedHosts []string
	// PendingHosts are the patterns the plugin declares that are not
	// approved; they are not reachable, and only make refusals clearer.
	PendingHosts []string
}

// Handler serves the "wharf_http" requests of one plugin call.
type Handler struct {
	c         *Client
	t         Target
	allowed   []hostPattern // endpoint hosts, then approved patterns
	endpoints []string      // scheme://host:port of each http(s) endpoint value
	pending   []hostPattern
}

// For returns the Handler for calls on behalf of t. The allowed hosts are
// the hosts (with ports) of t's endpoint values plus t.ApprovedHosts;
// malformed patterns and endpoint values allow nothing.
func (c *Client) For(t Target) *Handler {
	h := &Handler{c: c, t: t}
	for _, f := range t.EndpointFields {
		b, err := h.base(f)
		if err == nil && b.socket == "" {
			h.allowed = append(h.allowed, exactPattern(b.url.Hostname(), portOf(b.url)))
			h.endpoints = append(h.endpoints, originOf(b.url))
		}
	}
	for _, p := range t.ApprovedHosts {
		if hp, ok := parsePattern(p); ok {
			h.allowed = append(h.allowed, hp)
		}
	}
	for _, p := range t.PendingHosts {
		if hp, ok := parsePattern(p); ok {
			h.pending = append(h.pending, hp)
		}
	}
	return h
}

// originOf is scheme://host:port with the default port filled in.
func originOf(u *url.URL) string { return u.Scheme + "://" + hostKey(u) }

// credentialed reports whether credentials may go to u: only to the exact
// scheme, host and port of one of the connection's endpoint values.
func (h *Handler) credentialed(u *url.URL) bool {
	return slices.Contains(h.endpoints, originOf(u))
}

// Do sends req and answers the response, or a response whose Error says
// what went wrong. It implements the runtime's HTTPHandler.
func (h *Handler) Do(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	start := time.Now()
	dest, resp := h.do(ctx, req)
	took := time.Since(start)
	h.logRequest(req, dest, resp, took)
	if m := h.c.opts.Metrics; m != nil {
		host := ""
		if dest != nil {
			host = dest.first
		}
		var code pluginapi.Code
		if resp.Error != nil {
			code = resp.Error.Code
		}
		m.EgressRequest(host, resp.Status, code, took)
	}
	return resp
}

// destination is where a request goes.
type destination struct {
	url      *url.URL
	socket   string // dial this unix socket for host "localhost"
	name     string // for messages: never holds secrets
	endpoint bool   // an endpoint of the connection: credentials may go here
	first    string // the first hop, for metrics: host:port or unix:<path>
}

func (h *Handler) do(ctx context.Context, preq *pluginapi.HTTPRequest) (*destination, *pluginapi.HTTPResponse) {
	if preq == nil {
		return nil, fail(pluginapi.Errorf(pluginapi.CodeInvalid, "empty HTTP request"))
	}
	dest, perr := h.resolve(preq)
	if perr != nil {
		return dest, fail(perr)
	}
	dest.first = hostKey(dest.url)
	if dest.socket != "" {
		dest.first = "unix:" + dest.socket
	}
	if preq.Auth != nil && !dest.endpoint {
		return dest, fail(pluginapi.Errorf(pluginapi.CodeForbidden,
			"credentials are only sent to the endpoints of connection %s (%s), not to host %s: send the request without auth, or through an endpoint",
			h.t.Connection, listOrNone(h.endpoints), hostKey(dest.url)))
	}
	auth, perr := h.credentials(preq.Auth)
	if perr != nil {
		return dest, fail(perr)
	}

	timeout := h.c.opts.DefaultTimeout
	if preq.TimeoutMS > 0 {
		timeout = min(time.Duration(preq.TimeoutMS)*time.Millisecond, h.c.opts.MaxTimeout)
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	method := preq.Method
	if method == "" {
		method = http.MethodGet
	}
	hreq, err := http.NewRequestWithContext(callCtx, method, dest.url.String(), bytes.NewReader(preq.Body))
	if err != nil {
		return dest, fail(pluginapi.Errorf(pluginapi.CodeInvalid, "cannot build the request: method %q or URL is not valid", method))
	}
	if len(preq.Body) == 0 {
		hreq.Body, hreq.GetBody, hreq.ContentLength = http.NoBody, nil, 0
	}
	if perr := setHeaders(hreq, preq.Headers, auth); perr != nil {
		return dest, fail(perr)
	}
	if err := auth.apply(ctx, hreq, preq.Body); err != nil {
		return dest, fail(pluginapi.Errorf(pluginapi.CodeInternal, "cannot sign the request to %s: %v", dest.name, err))
	}

	client := &http.Client{
		Transport:     router{c: h.c, socket: dest.socket},
		CheckRedirect: h.checkRedirect(dest, auth, preq.Body),
	}
	hresp, err := client.Do(hreq)
	if err != nil {
		return dest, fail(h.transportError(err, ctx, callCtx, dest, timeout))
	}
	defer hresp.Body.Close()

	limit := h.c.opts.MaxBodyBytes
	if preq.MaxBodyBytes > 0 {
		limit = min(limit, int64(preq.MaxBodyBytes))
	}
	body, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return dest, fail(h.transportError(err, ctx, callCtx, dest, timeout))
	}
	out := &pluginapi.HTTPResponse{Status: hresp.StatusCode, Headers: hresp.Header, Body: body}
	if int64(len(body)) > limit {
		out.Body, out.Truncated = body[:limit], true
	}
	if hresp.Request != nil && hresp.Request.URL != nil {
		dest.url = hresp.Request.URL // the last hop, for the log
	}
	return dest, out
}

// Handler is what the runtime's HTTPHandler asks for; declared here to keep
// this package free of the runtime's imports.
var _ interface {
	Do(context.Context, *pluginapi.HTTPRequest) *pluginapi.HTTPResponse
} = (*Handler)(nil)

func fail(e *pluginapi.Error) *pluginapi.HTTPResponse { return &pluginapi.HTTPResponse{Error: e} }

// router sends requests for "localhost" to the endpoint's unix socket when
// there is one, and everything else to the network.
type router struct {
	c      *Client
	socket string
}

func (r router) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.socket != "" && isSocketHost(req.URL) {
		return r.c.transport(r.socket).RoundTrip(req)
	}
	return r.c.transport("").RoundTrip(req)
}

// isSocketHost reports whether u addresses the unix socket: plain http to
// "localhost" on the default port, the URL the host builds for sockets.
func isSocketHost(u *url.URL) bool {
	return u.Scheme == "http" && hostKey(u) == "localhost:80"
}

// checkRedirect checks each hop against the allowed hosts, caps the number
// of hops, drops credentials when the host changes or TLS is lost, and
// re-signs AWS requests that stay on the same host.
func (h *Handler) checkRedirect(dest *destination, auth *authPlan, body []byte) func(*http.Request, []*http.Request) error {
	return func(next *http.Request, via []*http.Request) error {
		max := h.c.opts.MaxRedirects
		if max < 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > max {
			e := pluginapi.Errorf(pluginapi.CodeUnavailable, "%s redirected more than %d times", dest.name, max)
			e.Retryable = false
			return e
		}
		if !(dest.socket != "" && isSocketHost(next.URL)) && !h.allowedURL(next.URL) {
			return h.forbidden(next.URL, "redirect to ", dest.socket != "")
		}
		first := via[0].URL
		if hostKey(next.URL) != hostKey(first) || (first.Scheme == "https" && next.URL.Scheme != "https") {
			auth.strip(next.Header)
			return nil
		}
		if auth != nil && auth.scheme == pluginapi.AuthAWSSigV4 {
			var b []byte
			if next.Body != nil && next.Body != http.NoBody {
				b = body // 307 and 308 resend the body
			}
			if err := auth.apply(next.Context(), next, b); err != nil {
				return pluginapi.Errorf(pluginapi.CodeInternal, "cannot sign the redirected request: %v", err)
			}
		}
		return nil
	}
}

func (h *Handler) allowedURL(u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	return slices.ContainsFunc(h.allowed, func(p hostPattern) bool { return p.matches(u) })
}

func (h *Handler) forbidden(u *url.URL, what string, socket bool) *pluginapi.Error {
	if i := slices.IndexFunc(h.pending, func(p hostPattern) bool { return p.matches(u) }); i >= 0 {
		return pluginapi.Errorf(pluginapi.CodeForbidden, "%shost %s matches %s, which plugin declares but an administrator has not approved for connection %s",
			what, hostKey(u), h.pending[i].text, h.t.Connection)
	}
	return pluginapi.Errorf(pluginapi.CodeForbidden, "%shost %s is not allowed for connection %s (allowed: %s)",
		what, hostKey(u), h.t.Connection, describeAllowed(h.allowed, socket))
}

func (h *Handler) logRequest(req *pluginapi.HTTPRequest, dest *destination, resp *pluginapi.HTTPResponse, took time.Duration) {
	if !h.c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{slog.String("connection", h.t.Connection), slog.Duration("duration", took)}
	if req != nil {
		method := req.Method
		if method == "" {
			method = http.MethodGet
		}
		attrs = append(attrs, slog.String("method", method))
	}
	if dest != nil && dest.url != nil {
		attrs = append(attrs, slog.String("host", dest.url.Host), slog.String("path", dest.url.Path))
		if dest.socket != "" {
			attrs = append(attrs, slog.String("socket", dest.socket))
		}
	}
	if resp.Error != nil {
		attrs = append(attrs, slog.String("error", string(resp.Error.Code)), slog.String("message", resp.Error.Message))
	} else {
		attrs = append(attrs, slog.Int("status", resp.Status), slog.Int("bytes", len(resp.Body)))
	}
	h.c.log.Debug("wharf_http", attrs...)
}

// Package client is a typed Go client for Wharf's REST API (host/api): the
// one the wharf command line itself uses.
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithToken(os.Getenv("WHARF_TOKEN")))
//	if err != nil { ... }
//	page, err := c.Services.List(ctx, "prod", ops.ListOptions{})
//
// Methods are grouped by resource (c.Plugins, c.Connections, c.Services,
// c.Instances, c.Deployments, c.Logs, c.Audit, c.Tokens, c.Bindings,
// c.Sessions, c.Users, c.Webhooks) and mirror the host's Go facade (host/ops,
// host/auth) without its Caller: the same option and result types, so a
// program can move between an embedded host and a remote one. Those types
// are the host's own, which means importing this package compiles the
// host's packages too.
//
// Every failure is a *pluginapi.Error: the structured error the API
// answered, with its request id in Detail["request_id"] (RequestIDOf), or
// one made here (unreachable host, a bad argument, an unexpected answer).
//
// Everything is bounded: an answer is read up to WithMaxBody (32 MiB by
// default) and an error body up to 1 MiB; a log stream's lines up to
// WithMaxLogLine (4 MiB); every call honours its context. The package
// keeps no global state: each Client has its own settings.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/pluginapi"
)

// Default bounds.
const (
	DefaultMaxBody    = 32 << 20
	DefaultMaxLogLine = 4 << 20
	// maxErrorBody caps the body of an error answer.
	maxErrorBody = 1 << 20
)

// Client talks to one Wharf host. It is safe for concurrent use.
type Client struct {
	base    string // the base URL as given, for messages
	api     string // where the API lives: base + api.Prefix
	token   string
	actor   string
	hc      *http.Client
	maxBody int64
	maxLine int

	Plugins     *Plugins
	Connections *Connections
	Services    *Services
	Instances   *Instances
	Deployments *Deployments
	Logs        *Logs
	Audit       *Audit
	Tokens      *Tokens
	Bindings    *Bindings
	Sessions    *Sessions
	Users       *Users
	Webhooks    *Webhooks
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends the bearer token t with every request (empty: none).
func WithToken(t string) Option { return func(c *Client) { c.token = t } }

// WithHTTPClient makes requests with hc instead of a client of the
// default transport. hc's Timeout, if any, also cuts log streams.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithActor names the actor of a host in open (tokenless) mode, for its
// audit log (the X-Wharf-Actor header); a host with tokens ignores it.
func WithActor(name string) Option { return func(c *Client) { c.actor = name } }

// WithMaxBody caps the answers read whole (every call but Logs.Stream and
// Audit.Export), in bytes.
func WithMaxBody(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithMaxLogLine caps one line of a log stream, in bytes.
func WithMaxLogLine(n int) Option { return func(c *Client) { c.maxLine = n } }

// New returns a client of the host at baseURL: its root, such as
// "http://127.0.0.1:8080", or the prefix it is mounted under in another
// program ("https://idp.example.com/wharf"); the API is under /api/v1 there.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return nil, pluginapi.Invalid("baseURL", "base URL %q: %v", baseURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, pluginapi.Invalid("baseURL", "base URL %q: the scheme must be http or https", baseURL)
	case u.Host == "":
		return nil, pluginapi.Invalid("baseURL", "base URL %q names no host", baseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, pluginapi.Invalid("baseURL", "base URL %q: no query or fragment, please", baseURL)
	}
	c := &Client{base: baseURL, api: strings.TrimSuffix(baseURL, "/") + api.Prefix,
		maxBody: DefaultMaxBody, maxLine: DefaultMaxLogLine}
	for _, o := range opts {
		o(c)
	}
	switch {
	case c.maxBody <= 0:
		return nil, pluginapi.Invalid("WithMaxBody", "the answer cap must be positive, not %d", c.maxBody)
	case c.maxLine <= 0:
		return nil, pluginapi.Invalid("WithMaxLogLine", "the log line cap must be positive, not %d", c.maxLine)
	case strings.ContainsAny(c.token, "\r\n"):
		return nil, pluginapi.Invalid("WithToken", "the token holds a line break")
	case strings.ContainsAny(c.actor, "\r\n"):
		return nil, pluginapi.Invalid("WithActor", "the actor holds a line break")
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.Plugins, c.Connections, c.Services = &Plugins{c}, &Connections{c}, &Services{c}
	c.Instances, c.Deployments, c.Logs = &Instances{c}, &Deployments{c}, &Logs{c}
	c.Audit, c.Tokens, c.Bindings, c.Sessions, c.Users = &Audit{c}, &Tokens{c}, &Bindings{c}, &Sessions{c}, &Users{c}
	c.Webhooks = &Webhooks{c}
	return c, nil
}

// CallOption adjusts one call.
type CallOption func(*call)

type call struct {
	ifMatch   string
	raw       *[]byte
	requestID string
}

// IfMatch makes a change conditional on the version it was based on: a
// service's version, or a connection's as a decimal number. The host
// answers conflict if the stored one differs.
func IfMatch(version string) CallOption { return func(o *call) { o.ifMatch = version } }

// RawJSON stores the answer's body, as the host sent it, in *dst (besides
// decoding it): for programs that pass the JSON on.
func RawJSON(dst *[]byte) CallOption { return func(o *call) { o.raw = dst } }

// RequestID sends id as the request's X-Request-Id, under which the host
// logs and audits it (an id of up to 128 printable ASCII characters; the
// host makes its own otherwise).
func RequestID(id string) CallOption { return func(o *call) { o.requestID = id } }

// RequestIDOf returns the request id an error of this package carries, or "".
func RequestIDOf(err error) string {
	var e *pluginapi.Error
	if !errors.As(err, &e) {
		return ""
	}
	id, _ := e.Detail["request_id"].(string)
	return id
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"`
	// Open says the host takes requests without credentials (local mode).
	Open bool `json:"open"`
}

// Health asks whether the host answers, and whether it is open.
func (c *Client) Health(ctx context.Context, opts ...CallOption) (Health, error) {
	var h Health
	err := c.do(ctx, req{method: "GET", path: "/healthz", out: &h}, opts)
	return h, err
}

// OpenAPI returns the host's OpenAPI document as it sent it.
func (c *Client) OpenAPI(ctx context.Context, opts ...CallOption) (json.RawMessage, error) {
	var raw []byte
	err := c.do(ctx, req{method: "GET", path: "/openapi.json", whole: &raw}, opts)
	return raw, err
}

// req is one API request. path is the route in the OpenAPI document's
// notation ("/connections/{conn}"); args fill its parameters in order.
type req struct {
	method string
	path   string
	args   []string
	query  url.Values
	body   []byte      // JSON, or nil for none
	ctype  string      // of body; default application/json
	header http.Header // more headers, if any
	out    any         // decoded from a 2xx answer, if not nil
	// whole, if not nil, receives the answer's body undecoded.
	whole *[]byte
}

// do sends r and decodes the answer into r.out.
func (c *Client) do(ctx context.Context, r req, opts []CallOption) error {
	var o call
	for _, f := range opts {
		f(&o)
	}
	resp, err := c.send(ctx, r, &o)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "reading the answer: %v", err)
	}
	if int64(len(b)) > c.maxBody {
		return pluginapi.Errorf(pluginapi.CodeInternal, "the answer to %s %s is larger than this client's limit of %d bytes", r.method, r.path, c.maxBody)
	}
	if o.raw != nil {
		*o.raw = b
	}
	if r.whole != nil {
		*r.whole = b
	}
	if r.out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, r.out); err != nil {
			return pluginapi.Errorf(pluginapi.CodeInternal, "the server answered something that is not the expected JSON: %v", err)
		}
	}
	return nil
}

// send sends r and returns a 2xx answer, whose body the caller closes;
// any other answer becomes its *pluginapi.Error.
func (c *Client) send(ctx context.Context, r req, o *call) (*http.Response, error) {
	path, err := expand(r.path, r.args)
	if err != nil {
		return nil, err
	}
	u := c.api + path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, pluginapi.Invalid("", "bad request to %s: %v", c.base, err)
	}
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.actor != "" {
		hr.Header.Set(api.ActorHeader, c.actor)
	}
	if o.ifMatch != "" {
		hr.Header.Set("If-Match", `"`+o.ifMatch+`"`)
	}
	if o.requestID != "" {
		hr.Header.Set(api.RequestIDHeader, o.requestID)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			code := pluginapi.CodeUnavailable
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				code = pluginapi.CodeTimeout
			}
			return nil, pluginapi.Errorf(code, "%s %s to %s stopped: %v", r.method, r.path, c.base, ctx.Err())
		}
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "cannot reach %s: %v", c.base, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, c.errorOf(resp)
	}
	return resp, nil
}

// errorOf turns an error answer into its *pluginapi.Error.
func (c *Client) errorOf(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	rid := resp.Header.Get(api.RequestIDHeader)
	var eb api.ErrorBody
	var e *pluginapi.Error
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
		e = eb.Error
		if eb.RequestID != "" {
			rid = eb.RequestID
		}
	} else {
		// A proxy in between, or not a Wharf host.
		e = pluginapi.ErrorForStatus(resp.StatusCode, fmt.Sprintf("%s answered %s", c.base, resp.Status))
	}
	if _, ok := e.Detail["request_id"]; !ok && rid != "" {
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail["request_id"] = rid
	}
	return e
}

// expand fills the {name} parameters of path with args, escaped; an empty
// one is refused, naming the parameter.
func expand(path string, args []string) (string, error) {
	var b strings.Builder
	i := 0
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		b.WriteByte('/')
		if !strings.HasPrefix(seg, "{") {
			b.WriteString(seg)
			continue
		}
		name := strings.Trim(seg, "{}")
		if i >= len(args) {
			return "", pluginapi.Errorf(pluginapi.CodeInternal, "client bug: no value for %s in %s", name, path)
		}
		if args[i] == "" {
			return "", pluginapi.Invalid(name, "%s is empty", name)
		}
		b.WriteString(url.PathEscape(args[i]))
		i++
	}
	return b.String(), nil
}

// jsonBody checks a JSON document given by the caller, naming it when bad.
func jsonBody(field string, doc json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, pluginapi.Invalid(field, "%s is empty: a JSON document is required", field)
	}
	if !json.Valid(doc) {
		return nil, pluginapi.Invalid(field, "%s is not valid JSON", field)
	}
	return doc, nil
}

// encode marshals a value of the host's own types.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, pluginapi.Invalid("", "cannot encode the request: %v", err)
	}
	return b, nil
}

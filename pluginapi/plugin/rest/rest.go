// Package rest is the SDK's REST/JSON client for provider plugins: it sends
// requests through the host's HTTP function (plugin.HTTP), turns transport
// failures and HTTP error statuses into pluginapi errors, and decodes JSON
// answers. It also holds the small helpers most REST plugins need: config
// and spec decoding that names the bad field, page tokens for platforms that
// page by number or not at all, filter checks and partial-update bodies.
//
// It lives beside pluginapi/plugin rather than inside it because it is
// optional: a plugin speaking another protocol (or a hand-tuned one, like
// Docker's fast paths) needs only plugin.HTTP, and the plugin package stays
// the ABI glue alone. It has no platform knowledge; a platform's quirks go
// in the hooks of Client.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// Client sends requests to one platform through the host. The zero value
// works with absolute URLs; set Endpoint for requests by path. A Client is
// not changed by its methods and may be shared by concurrent calls.
type Client struct {
	// Endpoint is the config property holding the base URL (marked
	// "x-endpoint" in the config schema).
	Endpoint string
	// PathPrefix is put before every Request.Path sent to an endpoint, for
	// example Docker's "/v1.47".
	PathPrefix string
	// Auth asks the host to add credentials to every request.
	Auth *pluginapi.Auth
	// Headers are added to every request (non-secret ones such as TenxCloud's
	// username). Accept is application/json unless set here or per request.
	Headers map[string]string
	// Timeout is the wish for each call (Request.Timeout overrides it); the
	// host may lower it. Zero leaves the host's default.
	Timeout time.Duration
	// MaxBodyBytes caps each answer body (Request.MaxBodyBytes overrides it);
	// the host may lower it. Zero leaves the host's cap.
	MaxBodyBytes int
	// ErrorMessage extracts a human message (and optionally the field it
	// names) from a platform's error body for the default status mapping.
	// Nil uses Message.
	ErrorMessage func(body []byte) (message, field string)
	// MapStatus, when set, replaces the default mapping of a non-2xx answer
	// (StatusError) for platforms whose errors need more than the status and
	// a message, such as AWS's error types. It must return a non-nil error.
	MapStatus func(r Request, resp *pluginapi.HTTPResponse) error
	// Unreachable, when set, rewrites a transport failure (nothing received:
	// refused connection, blocked host, timeout) after the default handling,
	// for example to name the platform in the message.
	Unreachable func(r Request, e *pluginapi.Error) error
}

// Request is one call: Path is appended to the endpoint (after the client's
// PathPrefix), or URL is absolute.
type Request struct {
	Method string
	// Endpoint overrides Client.Endpoint for this call.
	Endpoint string
	Path     string
	URL      string
	Query    map[string][]string
	Headers  map[string]string
	// JSON is marshalled as the body when non-nil; Body is sent as is otherwise.
	JSON any
	Body []byte
	// Auth overrides Client.Auth for this call.
	Auth *pluginapi.Auth
	// Timeout and MaxBodyBytes override the client's when non-zero.
	Timeout      time.Duration
	MaxBodyBytes int
	// Op names the call in error messages ("CreateService: ..."); empty
	// names it by method and path.
	Op string
}

// name is how error messages refer to r.
func (r Request) name() string {
	if r.Op != "" {
		return r.Op
	}
	p := r.Path
	if r.URL != "" {
		p = r.URL
	}
	return r.Method + " " + p
}

// Send sends r and returns the raw answer whatever its status; only
// transport failures (blocked host, refused connection) are errors.
func (c *Client) Send(ctx context.Context, r Request) (*pluginapi.HTTPResponse, error) {
	hr := &pluginapi.HTTPRequest{
		Method:       r.Method,
		URL:          r.URL,
		Query:        r.Query,
		Headers:      map[string]string{"Accept": "application/json"},
		Body:         r.Body,
		Auth:         c.Auth,
		TimeoutMS:    int(c.Timeout / time.Millisecond),
		MaxBodyBytes: c.MaxBodyBytes,
	}
	if r.URL == "" {
		hr.Endpoint, hr.Path = c.Endpoint, c.PathPrefix+r.Path
		if r.Endpoint != "" {
			hr.Endpoint = r.Endpoint
		}
	}
	if r.Auth != nil {
		hr.Auth = r.Auth
	}
	if r.Timeout > 0 {
		hr.TimeoutMS = int(r.Timeout / time.Millisecond)
	}
	if r.MaxBodyBytes > 0 {
		hr.MaxBodyBytes = r.MaxBodyBytes
	}
	for k, v := range c.Headers {
		hr.Headers[k] = v
	}
	if r.JSON != nil {
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "%s: encode request body: %v", r.name(), err)
		}
		hr.Body = b
		hr.Headers["Content-Type"] = "application/json"
	}
	for k, v := range r.Headers {
		hr.Headers[k] = v
	}
	resp := plugin.HTTP(ctx).Do(hr)
	if resp == nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "%s: no answer from the host", r.name())
	}
	if resp.Error != nil {
		e := *resp.Error
		if e.Code == "" || e.Code == pluginapi.CodeInternal {
			e.Code = pluginapi.CodeUnavailable
			e.Retryable = true
		}
		if r.Op != "" {
			e.Message = r.Op + ": " + e.Message
		}
		if c.Unreachable != nil {
			return nil, c.Unreachable(r, &e)
		}
		return nil, &e
	}
	return resp, nil
}

// Fetch sends r and maps a non-2xx answer to an error; the 2xx answer is
// returned raw, for plugins that decode bodies themselves.
func (c *Client) Fetch(ctx context.Context, r Request) (*pluginapi.HTTPResponse, error) {
	resp, err := c.Send(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		if c.MapStatus != nil {
			return nil, c.MapStatus(r, resp)
		}
		return nil, c.StatusError(resp)
	}
	return resp, nil
}

// Do sends r, maps a non-2xx answer to an error and decodes a 2xx JSON body
// into out (when out is non-nil and the body is not empty).
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	resp, err := c.Fetch(ctx, r)
	if err != nil {
		return err
	}
	return Decode(r, resp, out)
}

// Decode decodes the JSON body of resp, the answer to r, into out; nil out
// or an empty body decode nothing.
func Decode(r Request, resp *pluginapi.HTTPResponse, out any) error {
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "decode answer of %s: %v", r.name(), err)
	}
	return nil
}

// StatusError turns a non-2xx answer into an error with the platform's
// message, its status and body in Detail.
func (c *Client) StatusError(resp *pluginapi.HTTPResponse) *pluginapi.Error {
	msg, field := "", ""
	if c.ErrorMessage != nil {
		msg, field = c.ErrorMessage(resp.Body)
	} else {
		msg = Message(resp.Body)
	}
	e := ErrorFromStatus(resp.Status, msg)
	if e.Code == pluginapi.CodeInvalid {
		e.Field = field
	}
	e.Detail = map[string]any{"status": resp.Status}
	if body := strings.TrimSpace(string(resp.Body)); body != "" {
		if len(body) > 2048 {
			body = strings.ToValidUTF8(body[:2048], "")
		}
		e.Detail["body"] = body
	}
	return e
}

// ErrorFromStatus maps an HTTP status to a pluginapi error with the SDK's
// one mapping (pluginapi.ErrorForStatus): 429 and the 5xx are unavailable
// and retryable.
func ErrorFromStatus(status int, message string) *pluginapi.Error {
	return pluginapi.ErrorForStatus(status, message)
}

// Message returns the first non-empty string among the usual message keys
// of a JSON error body, or the body itself when it is short plain text.
func Message(body []byte, keys ...string) string {
	if len(keys) == 0 {
		keys = []string{"message", "error_description", "detail", "error", "msg"}
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		for _, k := range keys {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 || strings.ContainsAny(text, "<{") {
		return ""
	}
	return text
}

// DecodeConfig decodes a connection config (secrets already stripped).
func DecodeConfig(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return pluginapi.Invalid("/config", "the connection config is missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return pluginapi.Invalid("/config", "the connection config is not valid: %v", err)
	}
	return nil
}

// DecodeSpec decodes a service spec, naming the offending field when a
// value has the wrong type.
func DecodeSpec(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return pluginapi.Invalid("", "the spec is missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return pluginapi.Invalid("/"+strings.ReplaceAll(te.Field, ".", "/"), "%s must be a %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return pluginapi.Invalid("", "the spec is not valid JSON for this plugin: %v", err)
	}
	return nil
}

// OffsetToken encodes a position in a list as a page token.
func OffsetToken(n int) string { return strconv.Itoa(n) }

// ParseOffsetToken reads a token made by OffsetToken; "" is the start.
func ParseOffsetToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 {
		return 0, pluginapi.Invalid("/page_token", "page token %q was not made by this plugin", tok)
	}
	return n, nil
}

// Page cuts one page out of items, which must be in a stable order, and
// returns the token of the next page ("" on the last).
func Page[T any](items []T, pageSize, defaultSize int, token string) ([]T, string, error) {
	off, err := ParseOffsetToken(token)
	if err != nil {
		return nil, "", err
	}
	if pageSize <= 0 {
		pageSize = defaultSize
	}
	if off >= len(items) {
		return []T{}, "", nil
	}
	end := min(off+pageSize, len(items))
	next := ""
	if end < len(items) {
		next = OffsetToken(end)
	}
	return items[off:end], next, nil
}

// CheckFilters answers invalid for a filter key not in known.
func CheckFilters(filters map[string][]string, known ...string) error {
	for k := range filters {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return pluginapi.Invalid("/filters/"+k, "unknown filter %q: this plugin understands %s", k, strings.Join(known, ", "))
		}
	}
	return nil
}

// Contains reports whether list holds s, case-insensitively.
func Contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// MustJSON marshals v for Raw and Spec fields; it cannot fail for the plain
// structs and maps plugins pass it.
func MustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Changes is the body of a partial update (a PATCH that changes only what
// it is sent): the members of want whose JSON differs from cur's. Members
// the plugin does not model are absent from want and so never sent.
func Changes(cur, want map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range want {
		if string(MustJSON(v)) != string(MustJSON(cur[k])) {
			out[k] = v
		}
	}
	return out
}

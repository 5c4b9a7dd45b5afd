package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
)

// Plugins are the host's loaded plugins.
type Plugins struct{ c *Client }

// List lists the loaded plugins.
func (p *Plugins) List(ctx context.Context, opts ...CallOption) ([]ops.PluginInfo, error) {
	var out struct {
		Plugins []ops.PluginInfo `json:"plugins"`
	}
	err := p.c.do(ctx, req{method: "GET", path: "/plugins", out: &out}, opts)
	return out.Plugins, err
}

// Problems lists the plugin files that did not load, or did not replace
// the version serving.
func (p *Plugins) Problems(ctx context.Context, opts ...CallOption) ([]ops.PluginProblem, error) {
	var out struct {
		Problems []ops.PluginProblem `json:"problems"`
	}
	err := p.c.do(ctx, req{method: "GET", path: "/plugins", out: &out}, opts)
	return out.Problems, err
}

// Install uploads a plugin (owner): its module, and optionally its
// signature and manifest. The host checks it all, writes it into its
// plugins folder and swaps it in; the answer says what changed.
func (p *Plugins) Install(ctx context.Context, up ops.PluginUpload, opts ...CallOption) (ops.PluginChange, error) {
	var out ops.PluginChange
	h := http.Header{}
	if len(up.Signature) > 0 {
		h.Set(api.HeaderPluginSignature, base64.StdEncoding.EncodeToString(up.Signature))
	}
	if len(up.Manifest) > 0 {
		h.Set(api.HeaderPluginManifest, base64.StdEncoding.EncodeToString(up.Manifest))
	}
	body := up.Wasm
	if body == nil {
		body = []byte{}
	}
	err := p.c.do(ctx, req{method: "POST", path: "/plugins", body: body, ctype: api.MIMEWasm, header: h, out: &out}, opts)
	return out, err
}

// Get describes one plugin: its schemas, actions and capabilities.
func (p *Plugins) Get(ctx context.Context, name string, opts ...CallOption) (ops.PluginInfo, error) {
	var out ops.PluginInfo
	err := p.c.do(ctx, req{method: "GET", path: "/plugins/{name}", args: []string{name}, out: &out}, opts)
	return out, err
}

// Connections are a plugin plus its config and credentials; secrets come
// back as ops.Redacted.
type Connections struct{ c *Client }

// List lists the connections the caller may see.
func (cs *Connections) List(ctx context.Context, opts ...CallOption) ([]ops.Connection, error) {
	var out struct {
		Connections []ops.Connection `json:"connections"`
	}
	err := cs.c.do(ctx, req{method: "GET", path: "/connections", out: &out}, opts)
	return out.Connections, err
}

// Get reads one connection.
func (cs *Connections) Get(ctx context.Context, name string, opts ...CallOption) (ops.Connection, error) {
	var out ops.Connection
	err := cs.c.do(ctx, req{method: "GET", path: "/connections/{conn}", args: []string{name}, out: &out}, opts)
	return out, err
}

// Create creates a connection.
func (cs *Connections) Create(ctx context.Context, in ops.ConnectionInput, opts ...CallOption) (ops.Connection, error) {
	var out ops.Connection
	body, err := encode(in)
	if err != nil {
		return out, err
	}
	err = cs.c.do(ctx, req{method: "POST", path: "/connections", body: body, out: &out}, opts)
	return out, err
}

// Update replaces a connection's config (secrets sent as ops.Redacted, or
// left out, keep their stored values). in.Version, or IfMatch, makes it
// conditional.
func (cs *Connections) Update(ctx context.Context, name string, in ops.ConnectionInput, opts ...CallOption) (ops.Connection, error) {
	var out ops.Connection
	body, err := encode(in)
	if err != nil {
		return out, err
	}
	err = cs.c.do(ctx, req{method: "PUT", path: "/connections/{conn}", args: []string{name}, body: body, out: &out}, opts)
	return out, err
}

// Patch merges patch (a JSON merge patch of the config) into a
// connection's config; IfMatch with the version makes it conditional.
func (cs *Connections) Patch(ctx context.Context, name string, patch json.RawMessage, opts ...CallOption) (ops.Connection, error) {
	var out ops.Connection
	body, err := jsonBody("patch", patch)
	if err != nil {
		return out, err
	}
	err = cs.c.do(ctx, req{method: "PATCH", path: "/connections/{conn}", args: []string{name}, body: body,
		ctype: api.MIMEMergePatch, out: &out}, opts)
	return out, err
}

// Delete deletes a connection; its services stay on the platform.
func (cs *Connections) Delete(ctx context.Context, name string, opts ...CallOption) error {
	return cs.c.do(ctx, req{method: "DELETE", path: "/connections/{conn}", args: []string{name}}, opts)
}

// Test checks that a connection works. A connection that does not is no
// error of the call: the result says so, with the platform's error.
func (cs *Connections) Test(ctx context.Context, name string, opts ...CallOption) (ops.TestResult, error) {
	var out ops.TestResult
	err := cs.c.do(ctx, req{method: "POST", path: "/connections/{conn}/test", args: []string{name}, out: &out}, opts)
	return out, err
}

// Choices lists the values a spec field may take on the connection's
// platform; field is its JSON pointer with "*" for any index or key
// ("/secrets/*/name").
func (cs *Connections) Choices(ctx context.Context, name, field string, o ops.ChoicesOptions, opts ...CallOption) (*ops.ChoicesResult, error) {
	q := url.Values{}
	set(q, "field", field)
	set(q, "prefix", o.Prefix)
	setInt(q, "limit", o.Limit)
	var out ops.ChoicesResult
	if err := cs.c.do(ctx, req{method: "GET", path: "/connections/{conn}/choices", args: []string{name}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// query helpers: a zero value is left out, as the host reads it.

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, n int) {
	if n > 0 {
		q.Set(k, strconv.Itoa(n))
	}
}

func setBool(q url.Values, k string, b bool) {
	if b {
		q.Set(k, "true")
	}
}

func addAll(q url.Values, k string, vs []string) {
	for _, v := range vs {
		q.Add(k, v)
	}
}

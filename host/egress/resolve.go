package egress

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// endpointBase is a parsed endpoint value.
type endpointBase struct {
	url    *url.URL // http(s) base; for a socket http://localhost
	socket string   // unix socket path, or ""
	name   string   // scheme://host or unix://path, without credentials
}

// base parses the value of the endpoint property field.
func (h *Handler) base(field string) (*endpointBase, *pluginapi.Error) {
	v, ok := h.t.Config[field]
	s, isString := v.(string)
	if !ok || v == nil || (isString && strings.TrimSpace(s) == "") {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/" + field,
			Message: fmt.Sprintf("connection %s has no value for endpoint %s", h.t.Connection, field)}
	}
	if !isString {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/" + field,
			Message: fmt.Sprintf("endpoint %s of connection %s must be a URL string", field, h.t.Connection)}
	}
	bad := func(why string) *pluginapi.Error {
		return &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/" + field,
			Message: fmt.Sprintf("endpoint %s of connection %s %s", field, h.t.Connection, why)}
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, bad("is not a valid URL")
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, bad("must be unix:///absolute/path/to.sock")
		}
		return &endpointBase{url: &url.URL{Scheme: "http", Host: "localhost"}, socket: u.Path, name: "unix://" + u.Path}, nil
	case "http", "https":
	default:
		// A platform's own schemes (Docker's tcp://) are rewritten by the
		// host from the plugin's "x-endpoint-schemes" before this point.
		return nil, bad("must be an http://, https:// or unix:// URL")
	}
	if u.Hostname() == "" {
		return nil, bad("has no host")
	}
	u.Fragment, u.RawFragment = "", ""
	return &endpointBase{url: u, name: u.Scheme + "://" + u.Host}, nil
}

// resolve turns the plugin's request into a destination, checking that it
// may go there.
func (h *Handler) resolve(req *pluginapi.HTTPRequest) (*destination, *pluginapi.Error) {
	switch {
	case req.Endpoint != "" && req.URL != "":
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "set either endpoint or url, not both")
	case req.Endpoint != "":
		return h.resolveEndpoint(req)
	case req.URL != "":
		return h.resolveURL(req)
	default:
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "the request names neither an endpoint nor a url")
	}
}

func (h *Handler) resolveEndpoint(req *pluginapi.HTTPRequest) (*destination, *pluginapi.Error) {
	if !slices.Contains(h.t.EndpointFields, req.Endpoint) {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "%q is not an endpoint of connection %s (endpoints: %s)",
			req.Endpoint, h.t.Connection, listOrNone(h.t.EndpointFields))
	}
	b, perr := h.base(req.Endpoint)
	if perr != nil {
		return nil, perr
	}
	ref, err := url.Parse(req.Path)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "path %q is not a valid URL path", req.Path)
	}
	if ref.Scheme != "" || ref.Host != "" || ref.User != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "path %q must be relative to the endpoint; use url for absolute URLs", req.Path)
	}
	u := *b.url
	escaped := joinPath(b.url.EscapedPath(), ref.EscapedPath())
	if u.Path, err = url.PathUnescape(escaped); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "path %q is not a valid URL path", req.Path)
	}
	u.RawPath = escaped
	u.RawQuery = mergeQuery(b.url.Query(), ref.Query(), req.Query)
	name := fmt.Sprintf("endpoint %s (%s)", req.Endpoint, b.name)
	return &destination{url: &u, socket: b.socket, name: name, endpoint: true}, nil
}

func (h *Handler) resolveURL(req *pluginapi.HTTPRequest) (*destination, *pluginapi.Error) {
	u, err := url.Parse(req.URL)
	if err != nil || u.Host == "" {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "url must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "url must be http or https, not %q", u.Scheme)
	}
	if u.User != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "url must not carry credentials; use auth")
	}
	if !h.allowedURL(u) {
		return nil, h.forbidden(u, "", false)
	}
	u.Fragment, u.RawFragment = "", ""
	if len(req.Query) > 0 {
		u.RawQuery = mergeQuery(u.Query(), req.Query)
	}
	return &destination{url: u, name: "host " + hostKey(u), endpoint: h.credentialed(u)}, nil
}

// joinPath appends an escaped path to an escaped base path with one slash.
func joinPath(base, p string) string {
	switch {
	case p == "":
		if base == "" {
			return "/"
		}
		return base
	case base == "" || base == "/":
		return "/" + strings.TrimPrefix(p, "/")
	default:
		return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/")
	}
}

func mergeQuery(parts ...url.Values) string {
	all := url.Values{}
	for _, p := range parts {
		for k, vs := range p {
			all[k] = append(all[k], vs...)
		}
	}
	return all.Encode()
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

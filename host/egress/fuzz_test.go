package egress

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// patternOracle is an independent reading of a host pattern: a regexp over
// the lowercase hostname where "*" is any run of non-dot characters.
func patternOracle(p hostPattern) *regexp.Regexp {
	parts := make([]string, len(p.labels))
	for i, l := range p.labels {
		if p.exact {
			parts[i] = regexp.QuoteMeta(l)
			continue
		}
		pieces := strings.Split(l, "*")
		for j := range pieces {
			pieces[j] = regexp.QuoteMeta(pieces[j])
		}
		parts[i] = strings.Join(pieces, `[^.]*`)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `\.`) + `$`)
}

// FuzzHostPattern checks that a URL a pattern allows really goes to a host
// of that shape and port: by an independent oracle, and after the round
// trip through the URL's text that http.NewRequest makes.
func FuzzHostPattern(f *testing.F) {
	for _, s := range [][2]string{
		{"ecs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com/"},
		{"ecs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com.evil.com/"},
		{"ecs.*.amazonaws.com", "https://evil.com\\@ecs.x.amazonaws.com/"},
		{"ecs.*.amazonaws.com", "https://ecs.x%2eevil.amazonaws.com/"},
		{"*.example.com", "https://a.example.com:443/"},
		{"api.example.com:8443", "https://api.example.com:8443/x"},
		{"[::1]:9000", "http://[::1]:9000/"},
		{"127.0.0.1:9000", "http://127.0.0.1:9000@evil.com/"},
		{"a*b.example.com", "http://axxb.example.com./"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, raw string) {
		if len(pattern) > 200 || len(raw) > 400 {
			return // bounded inputs: globLabel backtracks
		}
		p, ok := parsePattern(pattern)
		if !ok {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		h := &Handler{allowed: []hostPattern{p}}
		if !h.allowedURL(u) {
			return
		}
		host := normalizeHost(u.Hostname())
		if !patternOracle(p).MatchString(host) {
			t.Fatalf("pattern %q allowed %q (host %q) against the oracle", pattern, raw, host)
		}
		if got, want := portOf(u), p.port; want != "" && got != want || want == "" && got != defaultPort(u.Scheme) {
			t.Fatalf("pattern %q allowed %q on port %s", pattern, raw, got)
		}
		again, err := url.Parse(u.String())
		if err != nil || hostKey(again) != hostKey(u) || again.User != nil && u.User == nil {
			t.Fatalf("%q re-parses to another host: %v %v", raw, again, err)
		}
	})
}

// FuzzEndpointPath checks that whatever path and query a plugin sends with
// an endpoint, the request stays on the endpoint's scheme, host and port,
// under its path prefix.
func FuzzEndpointPath(f *testing.F) {
	for _, s := range []string{"/services", "//evil.com/x", "http://evil.com/", "/../../x", "@evil.com", "/a%2f..%2fb?x=1#f", "\\\\evil.com", "/%00", ":80/x"} {
		f.Add(s, "k", "v")
	}
	c := New(Options{})
	h := c.For(Target{Connection: "c", Config: map[string]any{"e": "https://api.example.com/prefix"}, EndpointFields: []string{"e"}})
	f.Fuzz(func(t *testing.T, path, qk, qv string) {
		dest, perr := h.resolve(&pluginapi.HTTPRequest{Endpoint: "e", Path: path, Query: map[string][]string{qk: {qv}}})
		if perr != nil {
			return
		}
		again, err := url.Parse(dest.url.String())
		if err != nil {
			t.Fatalf("path %q: resolved URL %q does not parse: %v", path, dest.url, err)
		}
		for _, u := range []*url.URL{dest.url, again} {
			if u.Scheme != "https" || hostKey(u) != "api.example.com:443" || u.User != nil || !dest.endpoint {
				t.Fatalf("path %q left the endpoint: %q", path, u)
			}
			if !strings.HasPrefix(u.EscapedPath(), "/prefix") {
				t.Fatalf("path %q left the prefix: %q", path, u.EscapedPath())
			}
		}
	})
}

// FuzzExpandEndpoint checks that no config value can move an endpoint
// default to another host, port, scheme or user.
func FuzzExpandEndpoint(f *testing.F) {
	for _, s := range []string{"us-east-1", "evil.com/", "evil.com#", "a@b", "x:1", "", "-a", "a_b", "%2e", "123", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		out, err := ExpandEndpoint("https://ecs.{region}.amazonaws.com", map[string]any{"region": v})
		if err == nil {
			u, perr := url.Parse(out)
			if perr != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || u.Path != "" ||
				u.Hostname() != "ecs."+v+".amazonaws.com" || len(strings.Split(u.Hostname(), ".")) != 4 {
				t.Fatalf("region %q expanded to %q", v, out)
			}
		}
		out, err = ExpandEndpoint("https://api.example.com/orgs/{org}", map[string]any{"org": v})
		if err == nil {
			u, perr := url.Parse(out)
			if perr != nil || hostKey(u) != "api.example.com:443" || u.User != nil || u.Path != "/orgs/"+v || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("org %q expanded to %q", v, out)
			}
		}
	})
}

func TestExpandEndpoint(t *testing.T) {
	cases := []struct {
		tmpl   string
		values map[string]any
		want   string
		err    string
	}{
		{"https://ecs.{region}.amazonaws.com", map[string]any{"region": "eu-west-1"}, "https://ecs.eu-west-1.amazonaws.com", ""},
		{"https://{organization_id}.api.abeja.io", map[string]any{"organization_id": "1234567890"}, "https://1234567890.api.abeja.io", ""},
		{"https://{org}.example.com", map[string]any{"org": float64(42)}, "https://42.example.com", ""},
		{"https://ecs.{region}.amazonaws.com", map[string]any{"region": "evil.com/"}, "", "region must be one DNS label"},
		{"https://ecs.{region}.amazonaws.com", map[string]any{"region": "evil.com"}, "", "region must be one DNS label"},
		{"https://ecs.{region}.amazonaws.com", map[string]any{"region": "x@y"}, "", "region must be one DNS label"},
		{"https://ecs.{region}.amazonaws.com", map[string]any{}, "", "region is needed"},
		{"https://ecs.{region}.amazonaws.com", map[string]any{"region": true}, "", "region must be a string"},
		{"https://{a b}.example.com", nil, "", "not a config property name"},
		{"https://{x.example.com", nil, "", "unbalanced"},
		{"ftp://{x}.example.com", map[string]any{"x": "a"}, "", "http:// or https://"},
		{"https://u@{x}.example.com", map[string]any{"x": "a"}, "", "user info"},
	}
	for _, tc := range cases {
		got, err := ExpandEndpoint(tc.tmpl, tc.values)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%s: got %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s with %v: error %v, want one containing %q", tc.tmpl, tc.values, err, tc.err)
		}
	}
}

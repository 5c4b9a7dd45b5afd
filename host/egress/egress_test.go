package egress

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

func TestEndpointResolution(t *testing.T) {
	rec := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	cases := []struct {
		name      string
		base      string
		path      string
		query     map[string][]string
		wantPath  string
		wantQuery string
	}{
		{"plain", rec.URL, "/services", nil, "/services", ""},
		{"prefix kept", rec.URL + "/api/v1", "/services/web", nil, "/api/v1/services/web", ""},
		{"prefix with slash, path without", rec.URL + "/api/", "items", nil, "/api/items", ""},
		{"empty path", rec.URL + "/api", "", nil, "/api", ""},
		{"empty everything", rec.URL, "", nil, "/", ""},
		{"query from path and request", rec.URL, "/containers/json?all=1", map[string][]string{"filters": {`{"label":["a=b"]}`}},
			"/containers/json", "all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"},
		{"base query merged", rec.URL + "/v2?api-version=3", "/x", map[string][]string{"n": {"1", "2"}}, "/v2/x", "api-version=3&n=1&n=2"},
		{"escaped segment kept", rec.URL + "/api", "/images/library%2Fnginx/json", nil, "/api/images/library%2Fnginx/json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := c.For(Target{Connection: "c1", Config: map[string]any{"host": tc.base}, EndpointFields: []string{"host"}})
			resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Method: "GET", Endpoint: "host", Path: tc.path, Query: tc.query})
			wantOK(t, resp)
			got := rec.last(t)
			if got.Path != tc.wantPath || got.Query != tc.wantQuery {
				t.Errorf("server saw %q ? %q, want %q ? %q", got.Path, got.Query, tc.wantPath, tc.wantQuery)
			}
			if resp.Status != 200 || string(resp.Body) != "ok" || resp.Headers["X-Answer"][0] != "yes" {
				t.Errorf("response = %d %q %v", resp.Status, resp.Body, resp.Headers)
			}
		})
	}
}

func TestRequestPassesMethodHeadersBody(t *testing.T) {
	rec := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	h := c.For(Target{Connection: "c1", Config: map[string]any{"host": rec.URL}, EndpointFields: []string{"host"}})
	resp := h.Do(context.Background(), &pluginapi.HTTPRequest{
		Method: "POST", Endpoint: "host", Path: "/services/create",
		Headers: map[string]string{"content-type": "application/json", "Host": "evil.example", "X-Registry-Auth": "abc"},
		Body:    []byte(`{"Name":"web"}`),
	})
	wantOK(t, resp)
	got := rec.last(t)
	if got.Method != "POST" || string(got.Body) != `{"Name":"web"}` || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get("X-Registry-Auth") != "abc" {
		t.Errorf("server saw %+v", got)
	}
	if got.Host != rec.hostport() {
		t.Errorf("Host = %q: the plugin must not choose it", got.Host)
	}
}

func TestBadRequests(t *testing.T) {
	c, _ := newClient(t, Options{})
	h := c.For(Target{
		Connection:     "c1",
		Config:         map[string]any{"host": "http://127.0.0.1:1", "ftp": "ftp://x", "num": 5, "rel": "unix://rel.sock", "tcp": "tcp://127.0.0.1"},
		EndpointFields: []string{"host", "ftp", "num", "missing", "rel", "tcp"},
	})
	cases := []struct {
		name  string
		req   pluginapi.HTTPRequest
		field string
		msg   string
	}{
		{"no destination", pluginapi.HTTPRequest{}, "", "neither an endpoint nor a url"},
		{"both", pluginapi.HTTPRequest{Endpoint: "host", URL: "http://127.0.0.1:1/"}, "", "not both"},
		{"unknown endpoint", pluginapi.HTTPRequest{Endpoint: "other"}, "", `"other" is not an endpoint of connection c1 (endpoints: host, ftp, num, missing, rel, tcp)`},
		{"endpoint without value", pluginapi.HTTPRequest{Endpoint: "missing"}, "/missing", "connection c1 has no value for endpoint missing"},
		{"endpoint not a string", pluginapi.HTTPRequest{Endpoint: "num"}, "/num", "must be a URL string"},
		{"endpoint scheme", pluginapi.HTTPRequest{Endpoint: "ftp"}, "/ftp", "must be an http://, https:// or unix:// URL"},
		// tcp:// is Docker's word: the docker plugin declares what it means
		// (x-endpoint-schemes) and the host rewrites it before egress.
		{"platform scheme", pluginapi.HTTPRequest{Endpoint: "tcp"}, "/tcp", "must be an http://, https:// or unix:// URL"},
		{"relative socket", pluginapi.HTTPRequest{Endpoint: "rel"}, "/rel", "unix:///absolute/path"},
		{"absolute path", pluginapi.HTTPRequest{Endpoint: "host", Path: "http://evil.example/x"}, "", "must be relative"},
		{"scheme-relative path", pluginapi.HTTPRequest{Endpoint: "host", Path: "//evil.example/x"}, "", "must be relative"},
		{"url scheme", pluginapi.HTTPRequest{URL: "file:///etc/passwd"}, "", "url must be an absolute http or https URL"},
		{"url credentials", pluginapi.HTTPRequest{URL: "http://u:p@127.0.0.1:1/"}, "", "must not carry credentials"},
		{"bad header", pluginapi.HTTPRequest{Endpoint: "host", Headers: map[string]string{"X-A": "a\r\nX-B: b"}}, "", "not a valid HTTP header"},
		{"bad method", pluginapi.HTTPRequest{Endpoint: "host", Method: "GE T"}, "", "cannot build the request"},
		{"unknown auth", pluginapi.HTTPRequest{Endpoint: "host", Auth: &pluginapi.Auth{Scheme: "magic"}}, "", `unknown auth scheme "magic"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, h.Do(context.Background(), &tc.req), pluginapi.CodeInvalid)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got field %q message %q; want field %q message containing %q", e.Field, e.Message, tc.field, tc.msg)
			}
		})
	}
	if e := wantError(t, h.Do(context.Background(), nil), pluginapi.CodeInvalid); e.Message == "" {
		t.Error("empty message")
	}
}

func TestAbsoluteURL(t *testing.T) {
	api := newRecorder(t, nil)
	other := newRecorder(t, nil)
	logs := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	h := c.For(Target{
		Connection:     "c1",
		Config:         map[string]any{"host": api.URL + "/prefix"},
		EndpointFields: []string{"host"},
		ApprovedHosts:  []string{"ecs.*.amazonaws.com", logs.hostport()},
	})

	// The endpoint's own host, any path.
	wantOK(t, h.Do(context.Background(), &pluginapi.HTTPRequest{URL: api.URL + "/elsewhere?a=1", Query: map[string][]string{"b": {"2"}}}))
	if got := api.last(t); got.Path != "/elsewhere" || got.Query != "a=1&b=2" {
		t.Errorf("api saw %+v", got)
	}
	// A host from the plugin's patterns.
	wantOK(t, h.Do(context.Background(), &pluginapi.HTTPRequest{URL: logs.URL + "/logs"}))
	if got := logs.last(t); got.Path != "/logs" {
		t.Errorf("logs saw %+v", got)
	}
	// Anything else is refused before any connection is made.
	e := wantError(t, h.Do(context.Background(), &pluginapi.HTTPRequest{URL: other.URL + "/steal"}), pluginapi.CodeForbidden)
	for _, want := range []string{"host " + other.hostport() + " is not allowed for connection c1", api.hostport(), "ecs.*.amazonaws.com", logs.hostport()} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q lacks %q", e.Message, want)
		}
	}
	if e.Retryable {
		t.Error("forbidden is not retryable")
	}
	if n := len(other.all()); n != 0 {
		t.Errorf("blocked host received %d requests", n)
	}
}

func TestPatternMatching(t *testing.T) {
	cases := []struct {
		pattern, url string
		want         bool
	}{
		{"ecs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com/", true},
		{"ecs.*.amazonaws.com", "https://ECS.eu-west-1.AmazonAWS.com./", true},
		{"ecs.*.amazonaws.com", "https://ecs.a.b.amazonaws.com/", false}, // one label only
		{"ecs.*.amazonaws.com", "https://ecs..amazonaws.com/", false},
		{"ecs.*.amazonaws.com", "https://ecs.amazonaws.com/", false},
		{"ecs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com.evil.com/", false},
		{"ecs.*.amazonaws.com", "https://evil.com/ecs.x.amazonaws.com", false},
		{"ecs.*.amazonaws.com", "http://ecs.us-east-1.amazonaws.com/", true},        // port 80 is http's default
		{"ecs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com:8443/", false}, // not a default port
		{"ecs.*.amazonaws.com", "http://ecs.us-east-1.amazonaws.com:443/", false},   // 443 is not http's default
		{"ecs-*.example.com", "https://ecs-fips.example.com/", true},
		{"ecs-*.example.com", "https://ecs.example.com/", false},
		{"*.example.com", "https://a.example.com/", true},
		{"*.example.com", "https://example.com/", false},
		{"*.example.com", "https://a.b.example.com/", false},
		{"api.example.com:8443", "https://api.example.com:8443/", true},
		{"api.example.com:8443", "https://api.example.com/", false},
		{"api.example.com", "https://api.example.com:443/", true},
		{"127.0.0.1:9000", "http://127.0.0.1:9000/", true},
		{"127.0.0.1:9000", "http://127.0.0.1:9001/", false},
		{"[::1]:9000", "http://[::1]:9000/", true},
		{"[::1]", "http://[::1]/", true},
		{"logs.*.amazonaws.com", "https://ecs.us-east-1.amazonaws.com/", false},
		{"bad/pattern", "https://bad/", false},
	}
	for _, tc := range cases {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		h := (&Client{}).For(Target{ApprovedHosts: []string{tc.pattern}})
		if got := h.allowedURL(u); got != tc.want {
			t.Errorf("pattern %q, url %q: allowed = %v, want %v", tc.pattern, tc.url, got, tc.want)
		}
	}
	// Endpoint hosts are exact: a "*" in a config value is not a wildcard.
	h := (&Client{}).For(Target{Config: map[string]any{"e": "https://*.example.com"}, EndpointFields: []string{"e"}})
	if u, _ := url.Parse("https://a.example.com/"); h.allowedURL(u) {
		t.Error("endpoint value acted as a pattern")
	}
}

func TestRedirects(t *testing.T) {
	blocked := newRecorder(t, nil)
	allowed := newRecorder(t, nil)
	api := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	h := c.For(Target{
		Connection:     "c1",
		Config:         map[string]any{"host": api.URL, "token": "s3cr3t-token", "key": "k3y-value"},
		SecretFields:   []string{"token", "key"},
		EndpointFields: []string{"host"},
		ApprovedHosts:  []string{allowed.hostport()},
	})
	do := func(to string, auth *pluginapi.Auth) *pluginapi.HTTPResponse {
		return h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", Path: "/redirect", Query: map[string][]string{"to": {to}}, Auth: auth})
	}
	bearer := &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}

	t.Run("to a blocked host is refused", func(t *testing.T) {
		e := wantError(t, do(blocked.URL+"/x", bearer), pluginapi.CodeForbidden)
		if !strings.Contains(e.Message, "redirect to host "+blocked.hostport()+" is not allowed") {
			t.Errorf("message %q", e.Message)
		}
		if n := len(blocked.all()); n != 0 {
			t.Errorf("blocked host received %d requests", n)
		}
	})
	t.Run("same host keeps credentials", func(t *testing.T) {
		wantOK(t, do("/landing", bearer))
		if got := api.last(t); got.Path != "/landing" || got.Header.Get("Authorization") != "Bearer s3cr3t-token" {
			t.Errorf("api saw %+v", got)
		}
	})
	t.Run("another allowed host gets no credentials", func(t *testing.T) {
		for _, auth := range []*pluginapi.Auth{bearer, {Scheme: pluginapi.AuthHeader, Header: "X-Api-Key", Secret: "key"}} {
			resp := do(allowed.URL+"/landing", auth)
			wantOK(t, resp)
			got := allowed.last(t)
			if got.Path != "/landing" {
				t.Errorf("allowed saw %+v", got)
			}
			for k, v := range got.Header {
				if strings.Contains(strings.Join(v, ","), "s3cr3t") || strings.Contains(strings.Join(v, ","), "k3y") {
					t.Errorf("%s scheme: credentials forwarded in %s", auth.Scheme, k)
				}
			}
		}
		// The first hop did carry them.
		if got := api.all(); !strings.HasPrefix(got[len(got)-2].Header.Get("Authorization"), "Bearer ") {
			t.Errorf("first hop lacked Authorization: %+v", got[len(got)-2])
		}
	})
	t.Run("307 resends the body", func(t *testing.T) {
		resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Method: "POST", Endpoint: "host", Path: "/redirect",
			Query: map[string][]string{"to": {"/target"}, "code": {"307"}}, Body: []byte("payload")})
		wantOK(t, resp)
		if got := api.last(t); got.Method != "POST" || string(got.Body) != "payload" {
			t.Errorf("api saw %+v", got)
		}
	})
}

func TestRedirectCap(t *testing.T) {
	loop := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	})
	c, _ := newClient(t, Options{MaxRedirects: 3})
	h := c.For(Target{Connection: "c1", Config: map[string]any{"host": loop.URL}, EndpointFields: []string{"host"}})
	e := wantError(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", Path: "/start"}), pluginapi.CodeUnavailable)
	if !strings.Contains(e.Message, "redirected more than 3 times") {
		t.Errorf("message %q", e.Message)
	}
	if n := len(loop.all()); n != 4 {
		t.Errorf("server saw %d requests, want 4 (1 + 3 redirects)", n)
	}

	c2, _ := newClient(t, Options{MaxRedirects: -1})
	resp := c2.For(Target{Connection: "c1", Config: map[string]any{"host": loop.URL}, EndpointFields: []string{"host"}}).
		Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", Path: "/start"})
	wantOK(t, resp)
	if resp.Status != http.StatusFound || resp.Header("Location") != "/again" {
		t.Errorf("got %d %v, want the 302 itself", resp.Status, resp.Headers)
	}
}

func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	target := Target{Connection: "c1", Config: map[string]any{"host": slow.URL}, EndpointFields: []string{"host"}}

	t.Run("plugin's wish", func(t *testing.T) {
		c, _ := newClient(t, Options{})
		e := wantError(t, c.For(target).Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", TimeoutMS: 100}), pluginapi.CodeTimeout)
		if !e.Retryable || !strings.Contains(e.Message, "did not answer within 100ms") {
			t.Errorf("error %+v", e)
		}
	})
	t.Run("capped by MaxTimeout", func(t *testing.T) {
		c, _ := newClient(t, Options{MaxTimeout: 100 * time.Millisecond})
		e := wantError(t, c.For(target).Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", TimeoutMS: 600000}), pluginapi.CodeTimeout)
		if !strings.Contains(e.Message, "within 100ms") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("default", func(t *testing.T) {
		c, _ := newClient(t, Options{DefaultTimeout: 100 * time.Millisecond})
		wantError(t, c.For(target).Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host"}), pluginapi.CodeTimeout)
	})
	t.Run("the call's own deadline", func(t *testing.T) {
		c, _ := newClient(t, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		e := wantError(t, c.For(target).Do(ctx, &pluginapi.HTTPRequest{Endpoint: "host"}), pluginapi.CodeTimeout)
		if !e.Retryable {
			t.Error("not retryable")
		}
	})
}

func TestBodyCap(t *testing.T) {
	big := strings.Repeat("0123456789", 100) // 1000 bytes
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) })
	target := Target{Connection: "c1", Config: map[string]any{"host": srv.URL}, EndpointFields: []string{"host"}}
	cases := []struct {
		name      string
		hostMax   int64
		pluginMax int
		wantLen   int
		truncated bool
	}{
		{"no caps hit", 0, 0, 1000, false},
		{"plugin cap", 0, 100, 100, true},
		{"host cap wins", 50, 100, 50, true},
		{"plugin cap above host cap", 50, 5000, 50, true},
		{"exactly the cap", 0, 1000, 1000, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newClient(t, Options{MaxBodyBytes: tc.hostMax})
			resp := c.For(target).Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", MaxBodyBytes: tc.pluginMax})
			wantOK(t, resp)
			if len(resp.Body) != tc.wantLen || resp.Truncated != tc.truncated || string(resp.Body) != big[:tc.wantLen] {
				t.Errorf("got %d bytes, truncated %v; want %d, %v", len(resp.Body), resp.Truncated, tc.wantLen, tc.truncated)
			}
		})
	}
}

func TestUnixSocket(t *testing.T) {
	rec, sock := newUnixRecorder(t, nil)
	c, logs := newClient(t, Options{})
	h := c.For(Target{Connection: "docker", Config: map[string]any{"docker_host": "unix://" + sock}, EndpointFields: []string{"docker_host"}})
	for i := 0; i < 3; i++ {
		resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Method: "GET", Endpoint: "docker_host", Path: "/v1.47/containers/json?all=1"})
		wantOK(t, resp)
		if resp.Status != 200 || string(resp.Body) != "ok" {
			t.Fatalf("response %d %q", resp.Status, resp.Body)
		}
	}
	got := rec.last(t)
	if got.Host != "localhost" || got.Path != "/v1.47/containers/json" || got.Query != "all=1" {
		t.Errorf("server saw %+v", got)
	}
	// A second Handler for the same socket shares the transport too.
	h2 := c.For(Target{Connection: "docker", Config: map[string]any{"docker_host": "unix://" + sock}, EndpointFields: []string{"docker_host"}})
	wantOK(t, h2.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "docker_host", Path: "/_ping"}))
	if n := rec.connections(); n != 1 {
		t.Errorf("%d connections for 4 sequential requests; want 1 reused", n)
	}
	// A relative redirect stays on the socket.
	wantOK(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "docker_host", Path: "/redirect?to=/v1.47/info"}))
	if got := rec.last(t); got.Path != "/v1.47/info" {
		t.Errorf("redirect went to %+v", got)
	}
	if !strings.Contains(logs.String(), "socket="+sock) {
		t.Errorf("log lacks the socket: %s", logs)
	}
}

func TestTCPConnectionsReused(t *testing.T) {
	rec := newRecorder(t, nil)
	c, _ := newClient(t, Options{})
	for i := 0; i < 3; i++ {
		h := c.For(Target{Connection: "c1", Config: map[string]any{"host": rec.URL}, EndpointFields: []string{"host"}})
		wantOK(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", Path: "/x"}))
	}
	if n := rec.connections(); n != 1 {
		t.Errorf("%d connections for 3 sequential requests; want 1 reused", n)
	}
}

func TestUnavailable(t *testing.T) {
	// A port nothing listens on: listen, note the port, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	missing := "unix://" + t.TempDir() + "/no.sock"

	c, _ := newClient(t, Options{})
	cases := []struct {
		name, value string
		want        []string
	}{
		{"connection refused", closed, []string{"endpoint host (" + closed + ")", "connection refused"}},
		{"socket missing", missing, []string{"endpoint host (" + missing + ")", "does not exist"}},
		{"unknown host", "http://wharf-test-no-such-host.invalid", []string{"endpoint host (http://wharf-test-no-such-host.invalid)", "cannot resolve wharf-test-no-such-host.invalid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := c.For(Target{Connection: "c1", Config: map[string]any{"host": tc.value, "token": "s3cr3t"},
				SecretFields: []string{"token"}, EndpointFields: []string{"host"}})
			e := wantError(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host", Path: "/x", TimeoutMS: 10000,
				Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}}), pluginapi.CodeUnavailable)
			if !e.Retryable {
				t.Error("not retryable")
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q lacks %q", e.Message, w)
				}
			}
			if strings.Contains(e.Message, "s3cr3t") {
				t.Errorf("message leaks the secret: %q", e.Message)
			}
		})
	}
}

func TestResponseHeadersCanonical(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["x-lower-case"] = []string{"a", "b"} // written as is, read back canonical
		w.WriteHeader(http.StatusTeapot)
	})
	c, _ := newClient(t, Options{})
	resp := c.For(Target{Connection: "c1", Config: map[string]any{"host": srv.URL}, EndpointFields: []string{"host"}}).
		Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "host"})
	wantOK(t, resp)
	if resp.Status != http.StatusTeapot {
		t.Errorf("status %d", resp.Status)
	}
	if got := resp.Headers["X-Lower-Case"]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("headers %v", resp.Headers)
	}
	// The answer survives the JSON trip to the plugin.
	b, _ := json.Marshal(resp)
	var back pluginapi.HTTPResponse
	if err := json.Unmarshal(b, &back); err != nil || back.Header("x-lower-case") != "a" {
		t.Errorf("round trip: %v %v", err, back.Headers)
	}
}

func TestDebugLog(t *testing.T) {
	rec := newRecorder(t, nil)
	c, logs := newClient(t, Options{})
	h := c.For(Target{Connection: "c9", Config: map[string]any{"host": rec.URL}, EndpointFields: []string{"host"}})
	wantOK(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Method: "DELETE", Endpoint: "host", Path: "/services/web"}))
	line := logs.String()
	for _, want := range []string{"wharf_http", "connection=c9", "method=DELETE", "host=" + rec.hostport(), "path=/services/web", "status=200", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
}

func TestConcurrentCalls(t *testing.T) {
	tcp := newRecorder(t, nil)
	unix, sock := newUnixRecorder(t, nil)
	c, _ := newClient(t, Options{})
	target := Target{Connection: "c1", Config: map[string]any{"api": tcp.URL, "docker": "unix://" + sock},
		EndpointFields: []string{"api", "docker"}}
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		go func() {
			h := c.For(target)
			for _, ep := range []string{"api", "docker"} {
				resp := h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: ep, Path: "/ping"})
				if resp.Error != nil || resp.Status != 200 {
					errs <- fmt.Errorf("%s: %v %d", ep, resp.Error, resp.Status)
					continue
				}
				errs <- nil
			}
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if len(tcp.all()) != 8 || len(unix.all()) != 8 {
		t.Errorf("tcp got %d, unix got %d; want 8 each", len(tcp.all()), len(unix.all()))
	}
}

package httpguard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// serve runs one request through a guarded echo whose only handler says ok.
func serve(t *testing.T, cfg Config, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	g.Install(e)
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ran") }
	e.Any("/*", ok)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, r)
	return rec
}

func req(method, host string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, "http://"+host+"/api/v1/connections", strings.NewReader(""))
	r.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func TestHostAllowList(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		host string
		want int
	}{
		{"loopback name", Config{}, "localhost:8080", 200},
		{"loopback v4", Config{}, "127.0.0.1:8080", 200},
		{"loopback v6", Config{}, "[::1]:8080", 200},
		{"other loopback v4", Config{}, "127.0.0.2", 200},
		{"rebinding name", Config{}, "attacker.example:8080", 421},
		{"rebinding name without port", Config{}, "attacker.example", 421},
		{"lan address not configured", Config{}, "10.0.0.5:8080", 421},
		{"empty host", Config{}, "", 421},
		{"configured name", Config{AllowedHosts: []string{"Wharf.Internal"}}, "wharf.internal.:8080", 200},
		{"public url host", Config{PublicURL: "https://wharf.example.com/"}, "wharf.example.com", 200},
		{"public url elsewhere", Config{PublicURL: "https://wharf.example.com/"}, "evil.example.com", 421},
		{"suffix is not a match", Config{AllowedHosts: []string{"example.com"}}, "evil-example.com", 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, tt.cfg, req("GET", tt.host))
			if rec.Code != tt.want {
				t.Fatalf("Host %q: %d, want %d: %s", tt.host, rec.Code, tt.want, rec.Body)
			}
			if tt.want != 200 && strings.Contains(rec.Body.String(), "ran") {
				t.Fatal("the handler ran")
			}
		})
	}
}

func TestOriginChecks(t *testing.T) {
	const host = "127.0.0.1:8080"
	tests := []struct {
		name   string
		cfg    Config
		method string
		h      []string
		want   int
	}{
		{"cli: no origin, no fetch metadata", Config{}, "POST", nil, 200},
		{"own origin", Config{}, "POST", []string{"Origin", "http://127.0.0.1:8080", "Sec-Fetch-Site", "same-origin"}, 200},
		{"foreign origin", Config{}, "POST", []string{"Origin", "http://evil.example"}, 403},
		{"foreign origin, GET (CORS read or websocket)", Config{}, "GET", []string{"Origin", "http://evil.example"}, 403},
		{"null origin", Config{}, "POST", []string{"Origin", "null"}, 403},
		{"same host other port", Config{}, "POST", []string{"Origin", "http://127.0.0.1:9999"}, 403},
		{"same host other scheme", Config{}, "POST", []string{"Origin", "https://127.0.0.1:8080"}, 403},
		{"cross-site without origin", Config{}, "POST", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site without origin", Config{}, "DELETE", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"cross-site no-cors GET", Config{}, "GET", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}, 403},
		{"cross-site iframe", Config{}, "GET", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"}, 403},
		{"followed link", Config{}, "GET", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}, 200},
		{"typed url", Config{}, "GET", []string{"Sec-Fetch-Site", "none"}, 200},
		{"allowed origin", Config{AllowedOrigins: []string{"https://idp.example.com"}}, "POST",
			[]string{"Origin", "https://idp.example.com", "Sec-Fetch-Site", "cross-site"}, 200},
		{"public url origin", Config{PublicURL: "https://127.0.0.1:8080"}, "POST", []string{"Origin", "https://127.0.0.1:8080"}, 200},
		{"forwarded proto from untrusted peer", Config{}, "POST", []string{"Origin", "https://127.0.0.1:8080", "X-Forwarded-Proto", "https"}, 403},
		{"forwarded proto from trusted proxy", Config{TrustedProxies: []string{"192.0.2.0/24"}}, "POST",
			[]string{"Origin", "https://127.0.0.1:8080", "X-Forwarded-Proto", "https"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, tt.cfg, req(tt.method, host, tt.h...)) // httptest's peer is 192.0.2.1
			if rec.Code != tt.want {
				t.Fatalf("%d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

func TestCORSOnlyForAllowedOrigins(t *testing.T) {
	pre := func(cfg Config, origin string) *httptest.ResponseRecorder {
		return serve(t, cfg, req("OPTIONS", "127.0.0.1:8080", "Origin", origin, "Access-Control-Request-Method", "POST"))
	}
	if rec := pre(Config{}, "http://evil.example"); rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Code != 403 {
		t.Fatalf("preflight from a foreign origin: %d %v", rec.Code, rec.Header())
	}
	rec := pre(Config{AllowedOrigins: []string{"https://idp.example.com"}}, "https://idp.example.com")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://idp.example.com" {
		t.Fatalf("preflight from an allowed origin: %d %v", rec.Code, rec.Header())
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{PublicURL: "wharf.example.com"}, "PublicURL"},
		{Config{AllowedHosts: []string{"http://x"}}, "AllowedHosts[0]"},
		{Config{AllowedHosts: []string{"ok", "*.example.com"}}, "AllowedHosts[1]"},
		{Config{AllowedOrigins: []string{"https://x.example/path"}}, "AllowedOrigins[0]"},
		{Config{TrustedProxies: []string{"10.0.0/8"}}, "TrustedProxies[0]"},
	} {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
}

func TestClientAddressFromSocketUnlessTrustedProxy(t *testing.T) {
	spoof := func(cfg Config, peer string) string {
		g, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", "203.0.113.66")
		r.Header.Set("X-Real-IP", "203.0.113.77")
		return g.IPExtractor()(r)
	}
	if got := spoof(Config{}, "127.0.0.1:5555"); got != "127.0.0.1" {
		t.Errorf("untrusted loopback peer: %s", got)
	}
	if got := spoof(Config{}, "10.1.2.3:5555"); got != "10.1.2.3" {
		t.Errorf("untrusted private peer: %s", got)
	}
	if got := spoof(Config{TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3:5555"); got != "203.0.113.66" {
		t.Errorf("trusted proxy: %s", got)
	}
	if got := spoof(Config{TrustedProxies: []string{"10.9.9.9"}}, "10.1.2.3:5555"); got != "10.1.2.3" {
		t.Errorf("peer outside the trusted range: %s", got)
	}
}

func TestContentTypeAndBodyLimit(t *testing.T) {
	e := echo.New()
	e.Use(RequireContentType("application/json", "application/merge-patch+json"), BodyLimit(10))
	e.Any("/*", func(c echo.Context) error {
		b := make([]byte, 100)
		n, err := c.Request().Body.Read(b)
		if err != nil && n == 0 && err.Error() != "EOF" {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, err.Error())
		}
		return c.String(200, "ran")
	})
	do := func(method, ct, body string) int {
		r := httptest.NewRequest(method, "/x", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, tt := range []struct {
		method, ct, body string
		want             int
	}{
		{"POST", "application/json", `{}`, 200},
		{"PATCH", "application/merge-patch+json; charset=utf-8", `{}`, 200},
		{"POST", "text/plain", `{}`, 415},
		{"POST", "application/x-www-form-urlencoded", `a=1`, 415},
		{"POST", "multipart/form-data; boundary=x", `--x--`, 415},
		{"POST", "", `{}`, 415},
		{"POST", "text/plain", ``, 415},
		{"POST", "", ``, 200},
		{"DELETE", "", ``, 200},
		{"GET", "text/plain", `x`, 200},
		{"POST", "application/json", `{"long":"0123456789"}`, 413},
	} {
		if got := do(tt.method, tt.ct, tt.body); got != tt.want {
			t.Errorf("%s %q %q: %d, want %d", tt.method, tt.ct, tt.body, got, tt.want)
		}
	}
}

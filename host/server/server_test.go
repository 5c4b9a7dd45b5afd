package server_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/web"
)

// host is a whole host (REST API and portal on one echo) on a real socket,
// with the fake plugin and a connection "fake1" to its platform.
type host struct {
	t   *testing.T
	srv *server.Server
	url string // http://127.0.0.1:port
}

func newHost(t *testing.T, cfg server.Config, extraPlugins ...string) *host {
	t.Helper()
	plat := httptest.NewServer(fakeplatform.New(opstest.PlatformToken))
	t.Cleanup(plat.Close)
	cfg.PluginFiles = []string{opstest.PluginPath(t)}
	for _, p := range extraPlugins {
		cfg.PluginFiles = append(cfg.PluginFiles, wasmbuild.Build(t, p))
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Runtime.CacheDir = opstest.CacheDir()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Connections = append(cfg.Connections, connstore.Connection{Name: "fake1", Plugin: "fake",
		Config: json.RawMessage(`{"endpoint":"` + plat.URL + `","token":"` + opstest.PlatformToken + `"}`)})
	cfg.Faces = []server.Face{api.Face(api.Options{Logger: cfg.Logger}), web.Face(web.Options{Logger: cfg.Logger})}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.LoadErrors) > 0 {
		t.Fatal(s.LoadErrors)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); _ = s.Close(context.Background()) })
	return &host{t: t, srv: s, url: hs.URL}
}

// answer is a read response.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends one request; headers are name, value pairs, and "Host" sets the
// Host header (what a DNS-rebinding page sends).
func (h *host) do(method, path, body string, headers ...string) answer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// origin is the host's own origin, as a browser on its pages sends it.
func (h *host) origin() string { return h.url }

// auditCount is the number of operations in the audit log.
func (h *host) auditCount(headers ...string) int {
	h.t.Helper()
	a := h.do("GET", "/api/v1/audit?limit=1000", "", headers...)
	var out struct{ Entries []json.RawMessage }
	if a.status != 200 || json.Unmarshal([]byte(a.body), &out) != nil {
		h.t.Fatalf("audit: %d %s", a.status, a.body)
	}
	return len(out.Entries)
}

const spec = `{"name":"web","image":"nginx:1","replicas":2}`

// attacks are the requests a hostile web page can make the operator's
// browser send; each must be refused before anything runs.
func attacks(h *host, formType string) []struct {
	name    string
	ctype   string
	headers []string
} {
	u, _ := url.Parse(h.url)
	rebound := "attacker.example:" + u.Port()
	return []struct {
		name    string
		ctype   string
		headers []string
	}{
		{"cross-site simple POST", formType, []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"}},
		{"text/plain body (form enctype=text/plain)", "text/plain", []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"text/plain body, no fetch metadata", "text/plain", nil},
		{"foreign Origin", formType, []string{"Origin", "http://evil.example"}},
		{"cross-site fetch metadata without Origin", formType, []string{"Sec-Fetch-Site", "cross-site"}},
		{"DNS rebinding Host", formType, []string{"Host", rebound, "Origin", "http://" + rebound, "Sec-Fetch-Site", "same-origin"}},
		{"null Origin (sandboxed frame)", formType, []string{"Origin", "null"}},
	}
}

func refused(status int) bool {
	return status == http.StatusForbidden || status == http.StatusMisdirectedRequest || status == http.StatusUnsupportedMediaType
}

func TestRESTRefusesCrossSiteRequests(t *testing.T) {
	h := newHost(t, server.Config{}) // open mode, the default of run.sh
	for _, a := range attacks(h, "application/x-www-form-urlencoded") {
		t.Run(a.name, func(t *testing.T) {
			before := h.auditCount()
			for _, path := range []string{"/api/v1/connections/fake1/services", "/api/v1/connections",
				"/api/v1/connections/fake1/services/x/actions/stop"} {
				got := h.do("POST", path, spec, append([]string{"Content-Type", a.ctype}, a.headers...)...)
				if !refused(got.status) {
					t.Fatalf("POST %s: %d, want 403, 415 or 421\n%s", path, got.status, got.body)
				}
			}
			if n := h.auditCount(); n != before {
				t.Fatalf("an operation ran: audit %d -> %d", before, n)
			}
		})
	}
	// Reads are refused to a rebinding page too.
	u, _ := url.Parse(h.url)
	if got := h.do("GET", "/api/v1/connections", "", "Host", "attacker.example:"+u.Port()); got.status != http.StatusMisdirectedRequest {
		t.Fatalf("rebinding GET: %d %s", got.status, got.body)
	}
	// The host's own pages, and the CLI, still work.
	got := h.do("POST", "/api/v1/connections/fake1/services", spec, "Content-Type", "application/json",
		"Origin", h.origin(), "Sec-Fetch-Site", "same-origin")
	if got.status != http.StatusCreated {
		t.Fatalf("same-origin create: %d %s", got.status, got.body)
	}
	if got := h.do("PATCH", "/api/v1/connections/fake1/services/"+serviceID(t, got.body), `{"replicas":3}`, "Content-Type", "application/merge-patch+json"); got.status != http.StatusOK {
		t.Fatalf("CLI-style merge patch: %d %s", got.status, got.body)
	}
}

// serviceID reads the id of a created service from the API's answer.
func serviceID(t *testing.T, body string) string {
	t.Helper()
	var out struct{ Service struct{ ID string } }
	if json.Unmarshal([]byte(body), &out) != nil || out.Service.ID == "" {
		t.Fatalf("no service id in %s", body)
	}
	return out.Service.ID
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)

func TestEveryPortalFormRefusesCrossSiteRequests(t *testing.T) {
	h := newHost(t, server.Config{})
	created := h.do("POST", "/api/v1/connections/fake1/services", spec, "Content-Type", "application/json")
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	id := serviceID(t, created.body)
	// A CSRF cookie and token, as the operator's browser holds them: the
	// origin checks must hold even when the token is right.
	page := h.do("GET", "/services/new", "")
	m := csrfMeta.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no csrf token on the page:\n%s", page.body)
	}
	token := html.UnescapeString(m[1])
	var cookie string
	for _, c := range page.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "wharf_csrf=") {
			cookie, _, _ = strings.Cut(c, ";")
		}
	}
	form := url.Values{"_csrf": {token}, "confirm": {"yes"}, "connection": {"fake1"}, "f.name": {"x"}, "f.image": {"y"},
		"token": {"guess"}}.Encode()

	params := strings.NewReplacer(":conn", "fake1", ":id", id, ":action", "stop", ":name", "fake1")
	forms := 0
	for _, r := range h.srv.Echo.Routes() {
		if r.Method != http.MethodPost || strings.HasPrefix(r.Path, api.Prefix) {
			continue
		}
		forms++
		path := params.Replace(r.Path)
		for _, a := range attacks(h, "application/x-www-form-urlencoded") {
			before := h.auditCount()
			got := h.do("POST", path, form, append([]string{"Content-Type", a.ctype, "Cookie", cookie}, a.headers...)...)
			if !refused(got.status) {
				t.Errorf("POST %s, %s: %d, want 403, 415 or 421", path, a.name, got.status)
			}
			if n := h.auditCount(); n != before {
				t.Fatalf("POST %s, %s: an operation ran", path, a.name)
			}
		}
	}
	if forms < 10 {
		t.Fatalf("only %d portal forms found", forms)
	}
	// The same form from the host's own page works.
	got := h.do("POST", "/services/fake1/"+id+"/actions/stop", form, "Content-Type", "application/x-www-form-urlencoded",
		"Cookie", cookie, "Origin", h.origin(), "Sec-Fetch-Site", "same-origin")
	if got.status != http.StatusSeeOther {
		t.Fatalf("same-origin action: %d\n%s", got.status, got.body)
	}
}

func TestOpenModeBanner(t *testing.T) {
	h := newHost(t, server.Config{})
	if got := h.do("GET", "/services", ""); !strings.Contains(got.body, "Open mode: anyone who can reach this page is an administrator.") {
		t.Fatalf("no open-mode banner:\n%s", got.body)
	}
}

// lastAuditAddr is the client address of the newest audit entry.
func (h *host) lastAuditAddr(headers ...string) string {
	h.t.Helper()
	a := h.do("GET", "/api/v1/audit?limit=1", "", headers...)
	var out struct {
		Entries []struct {
			ClientAddr string `json:"client_addr"`
		}
	}
	if json.Unmarshal([]byte(a.body), &out) != nil || len(out.Entries) == 0 {
		h.t.Fatalf("audit: %d %s", a.status, a.body)
	}
	return out.Entries[0].ClientAddr
}

func TestSpoofedForwardedForIsNotRecorded(t *testing.T) {
	spoof := []string{"Content-Type", "application/json", "X-Forwarded-For", "203.0.113.66", "X-Real-IP", "203.0.113.77"}
	h := newHost(t, server.Config{})
	created := h.do("POST", "/api/v1/connections/fake1/services", spec, spoof...)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	if addr := h.lastAuditAddr(); addr != "127.0.0.1" {
		t.Fatalf("audit records client %q for a request from 127.0.0.1 with a spoofed X-Forwarded-For", addr)
	}
	page := h.do("GET", "/services/new", "")
	token := html.UnescapeString(csrfMeta.FindStringSubmatch(page.body)[1])
	cookie, _, _ := strings.Cut(page.header.Get("Set-Cookie"), ";")
	form := url.Values{"_csrf": {token}, "confirm": {"yes"}}.Encode()
	id := serviceID(t, created.body)
	n := h.auditCount()
	if got := h.do("POST", "/services/fake1/"+id+"/actions/stop", form, "Content-Type", "application/x-www-form-urlencoded",
		"Cookie", cookie, "X-Forwarded-For", "203.0.113.66"); got.status != http.StatusSeeOther || h.auditCount() != n+1 {
		t.Fatalf("portal action: %d", got.status)
	}
	if addr := h.lastAuditAddr(); addr != "127.0.0.1" {
		t.Fatalf("portal: audit records client %q for a spoofed X-Forwarded-For", addr)
	}

	// Behind a configured proxy, its X-Forwarded-For is believed.
	p := newHost(t, server.Config{TrustedProxies: []string{"127.0.0.1/32"}})
	if got := p.do("POST", "/api/v1/connections/fake1/services", spec, spoof...); got.status != http.StatusCreated {
		t.Fatalf("create: %d %s", got.status, got.body)
	}
	if addr := p.lastAuditAddr(); addr != "203.0.113.66" {
		t.Fatalf("behind a trusted proxy the audit records %q", addr)
	}
}

package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
)

const embedPrefix = "/idp/wharf"

// embedded is a host mounted under embedPrefix in another program's mux,
// whose every other path answers 418: a link, redirect or cookie that
// escapes the prefix lands there.
type embedded struct {
	t      *testing.T
	base   string // http://127.0.0.1:port
	client *http.Client
}

func newEmbedded(t *testing.T) *embedded {
	t.Helper()
	h := newHost(t, server.Config{PathPrefix: embedPrefix + "/",
		Tokens: []ops.Token{{Name: "root", Role: ops.RoleOwner, SHA256: ops.HashToken(rootSecret)}}})
	if h.srv.BasePath() != embedPrefix {
		t.Fatalf("BasePath %q, want %q (trailing slash dropped)", h.srv.BasePath(), embedPrefix)
	}
	mux := http.NewServeMux()
	mux.Handle(embedPrefix+"/", h.srv.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the embedding program's own page: "+r.URL.Path, http.StatusTeapot)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	return &embedded{t: t, base: hs.URL, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

const rootSecret = "root-secret-of-the-embedded-host-0123456789"

func (e *embedded) get(path string) (status int, body string, finalPath string) {
	e.t.Helper()
	resp, err := e.client.Get(e.base + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL.RequestURI()
}

// urls are the app URLs a page names: links, form actions, scripts,
// styles, polled and websocket URLs.
var pageURLs = regexp.MustCompile(`\s(?:href|action|src|data-poll|data-ws)="([^"#][^"]*)"`)

// checkLinks fails on any same-site URL of body outside the prefix and
// returns those inside it.
func (e *embedded) checkLinks(page, body string) []string {
	e.t.Helper()
	var in []string
	for _, m := range pageURLs.FindAllStringSubmatch(body, -1) {
		u, _, _ := strings.Cut(strings.ReplaceAll(m[1], "&amp;", "&"), "#")
		switch {
		case strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "tcp://"):
			continue // a service's own endpoint
		case strings.HasPrefix(u, embedPrefix+"/"):
			in = append(in, u)
		default:
			e.t.Errorf("%s names %q, outside %s", page, u, embedPrefix)
		}
	}
	return in
}

// The whole host works under a path prefix of another program: the
// API's Location headers and OpenAPI server, the portal's redirects,
// sign-in and its cookies, every link and form of every page, the live
// status and the log websocket.
func TestHostEmbeddedUnderAPathPrefix(t *testing.T) {
	e := newEmbedded(t)

	// REST API: create a service with the bootstrap token.
	req, _ := http.NewRequest("POST", e.base+embedPrefix+"/api/v1/connections/fake1/services", strings.NewReader(spec))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+rootSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), embedPrefix+"/api/v1/connections/fake1/services/") {
		t.Fatalf("create under the prefix: %d, Location %q: %s", resp.StatusCode, resp.Header.Get("Location"), created)
	}
	id := serviceID(t, string(created))
	if status, body, _ := e.get(embedPrefix + "/api/v1/openapi.json"); status != 200 || !strings.Contains(body, `"url": "`+embedPrefix+`/api/v1"`) {
		t.Fatalf("openapi.json under the prefix: %d, want its server URL under the prefix", status)
	}
	if status, _, _ := e.get("/api/v1/healthz"); status != http.StatusTeapot {
		t.Fatalf("the host answered outside its prefix: %d", status)
	}

	// Portal: the prefix alone and / lead to the sign-in page, under the prefix.
	status, body, final := e.get(embedPrefix)
	if status != 200 || !strings.HasPrefix(final, embedPrefix+"/signin?next=") {
		t.Fatalf("GET %s ended at %s (%d), want the sign-in page under the prefix", embedPrefix, final, status)
	}
	e.checkLinks("sign-in page", body)
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	resp, err = e.client.PostForm(e.base+embedPrefix+"/signin", url.Values{"_csrf": {csrf[1]}, "token": {rootSecret}, "next": {"/services"}})
	if err != nil {
		t.Fatal(err)
	}
	signedIn, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != embedPrefix+"/services" {
		t.Fatalf("sign-in ended at %s (%d): %.300s", resp.Request.URL, resp.StatusCode, signedIn)
	}
	u, _ := url.Parse(e.base + embedPrefix + "/")
	for _, c := range e.client.Jar.Cookies(u) {
		if c.Name == "wharf_session" {
			goto cookieOK
		}
	}
	t.Fatal("no session cookie under the prefix")
cookieOK:
	if outside, _ := url.Parse(e.base + "/"); len(e.client.Jar.Cookies(outside)) != 0 {
		t.Fatalf("cookies reach the embedding program's pages: %v", e.client.Jar.Cookies(outside))
	}

	// Every page reachable from the services list by GET links stays under
	// the prefix and answers.
	queue := e.checkLinks("services", string(signedIn))
	visited := map[string]bool{}
	for len(queue) > 0 && len(visited) < 60 {
		link := queue[0]
		queue = queue[1:]
		if visited[link] || strings.Contains(link, "/logs/ws") || strings.Contains(link, "/export") || strings.Contains(link, "/download") {
			continue
		}
		visited[link] = true
		status, body, final := e.get(link)
		if status == http.StatusTeapot || status == http.StatusNotFound || !strings.HasPrefix(final, embedPrefix+"/") {
			t.Errorf("GET %s: %d at %s", link, status, final)
			continue
		}
		queue = append(queue, e.checkLinks(link, body)...)
	}
	servicePage := embedPrefix + "/services/fake1/" + id
	if !visited[servicePage] {
		t.Fatalf("the crawl never reached the service page %s (visited %v)", servicePage, visited)
	}

	// The log viewer's websocket, under the prefix, with the session cookie.
	_, logs, _ := e.get(servicePage + "/logs")
	ws := regexp.MustCompile(`data-ws="([^"]+)"`).FindStringSubmatch(logs)
	if ws == nil || !strings.HasPrefix(ws[1], embedPrefix+"/") {
		t.Fatalf("log page websocket URL %v, want one under the prefix", ws)
	}
	wsURL := "ws" + strings.TrimPrefix(e.base, "http") + ws[1]
	hdr := http.Header{"Origin": {e.base}}
	for _, c := range e.client.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, wsResp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, hdr)
	if err != nil {
		status := 0
		if wsResp != nil {
			status = wsResp.StatusCode
		}
		t.Fatalf("websocket %s: %v (%d)", wsURL, err, status)
	}
	conn.Close()
}

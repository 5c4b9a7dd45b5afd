// Package oidctest starts a real OpenID provider for tests — panva's
// oidc-provider on Node, from scripts/oidc-provider — and signs in through its
// login page with a plain HTTP client, so relying-party code is tested against
// the protocol as a real provider speaks it, never a fake.
//
// The provider needs Node and scripts/oidc-provider/node_modules (run
// scripts/oidc-provider/install.sh; ./test.sh does). Without them a test is
// skipped, unless WHARF_REQUIRE_OIDC=1, which makes it fail.
//
// The provider accepts only the redirect URLs given to Start: a test that
// needs its own callback server listens first (for example with
// httptest.NewServer) and passes that server's URL in Options.RedirectURLs.
package oidctest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// User is an account of the test provider. Login accepts its Sub,
// PreferredUsername or Email with its Password. The provider reports its email
// as verified whenever it has one.
type User struct {
	Sub, Password, Email, Name, PreferredUsername string
	Groups                                        []string
}

// Options configures the provider. It has one client, ClientID (default
// "wharf-test") with ClientSecret (default: random), whose only redirect URLs
// are RedirectURLs; they cannot be changed after Start.
type Options struct {
	Users                  []User
	RedirectURLs           []string
	ClientID, ClientSecret string
}

// Provider is a running test provider. Issuer is its base URL
// (http://127.0.0.1:PORT), where discovery starts.
type Provider struct {
	Issuer, ClientID, ClientSecret string
	RedirectURLs                   []string

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *tailBuffer
	stopOnce sync.Once
	exited   chan struct{}
}

// How long the provider may take to start, and to stop before it is killed:
// bounds on waiting, not timings the tests depend on.
const (
	startWait = 60 * time.Second
	stopWait  = 10 * time.Second
)

// Start runs the provider for the test and stops it in t.Cleanup.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "scripts", "oidc-provider")
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		unavailable(t, "scripts/oidc-provider/node_modules is missing (run scripts/oidc-provider/install.sh)")
	}

	p := &Provider{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		RedirectURLs: append([]string(nil), o.RedirectURLs...),
		stderr:       &tailBuffer{max: 64 << 10},
		exited:       make(chan struct{}),
	}
	if p.ClientID == "" {
		p.ClientID = "wharf-test"
	}
	if p.ClientSecret == "" {
		p.ClientSecret = rand.Text()
	}
	cfg, err := json.Marshal(p.config(o.Users))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}

	p.cmd = exec.Command(node, "provider.mjs")
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "WHARF_OIDC_CONFIG="+string(cfg))
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	// The provider exits when its stdin closes: at Stop, or when this test
	// process dies, so no provider outlives its test.
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("oidctest: starting node: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("oidctest: provider stderr:\n%s", p.stderr.String())
		}
	})

	issuer := make(chan string, 1)
	go func() {
		// The first line is {"issuer":"…"}; the rest of stdout is drained.
		sc := bufio.NewScanner(stdout)
		var line struct{ Issuer string }
		if sc.Scan() && json.Unmarshal(sc.Bytes(), &line) == nil {
			issuer <- line.Issuer
		}
		close(issuer)
		_, _ = io.Copy(io.Discard, stdout)
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.Issuer = <-issuer:
	case <-time.After(startWait):
	}
	if p.Issuer == "" {
		p.Stop()
		t.Fatalf("oidctest: the provider did not start; stderr:\n%s", p.stderr.String())
	}
	return p
}

// Stop ends the provider (idempotent); sign-ins and discovery fail after it,
// as with a provider that is down.
func (p *Provider) Stop() {
	p.stopOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(stopWait):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// config is what provider.mjs reads.
func (p *Provider) config(users []User) any {
	type user struct {
		Sub               string   `json:"sub"`
		Password          string   `json:"password"`
		Email             string   `json:"email,omitempty"`
		Name              string   `json:"name,omitempty"`
		PreferredUsername string   `json:"preferred_username,omitempty"`
		Groups            []string `json:"groups"`
	}
	type client struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	us := make([]user, 0, len(users))
	for _, u := range users {
		groups := u.Groups
		if groups == nil {
			groups = []string{}
		}
		us = append(us, user{u.Sub, u.Password, u.Email, u.Name, u.PreferredUsername, groups})
	}
	return struct {
		Port    int      `json:"port"`
		Clients []client `json:"clients"`
		Users   []user   `json:"users"`
	}{0, []client{{p.ClientID, p.ClientSecret, p.RedirectURLs}}, us}
}

// Login signs in at authURL (the relying party's authorization URL) as login
// with password, following redirects until one of RedirectURLs, and returns
// that callback URL without requesting it, so the test can hand it to the
// relying party. If client's cookie jar already holds a session at the
// provider, no login page is shown and the password is not used. A nil client
// is a fresh one with its own cookie jar. The test fails if no callback comes.
func (p *Provider) Login(t testing.TB, client *http.Client, authURL, login, password string) (callbackURL *url.URL) {
	t.Helper()
	u, err := p.TryLogin(t, client, authURL, login, password)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	return u
}

// ErrLoginRefused is wrapped by TryLogin's error when the provider shows its
// login page again (a wrong password); the message includes the page's error.
var ErrLoginRefused = errors.New("the provider refused the login")

// TryLogin is Login with an error instead of failing the test.
func (p *Provider) TryLogin(t testing.TB, client *http.Client, authURL, login, password string) (*url.URL, error) {
	t.Helper()
	return p.walk(client, authURL, func(pg *page) (*http.Request, error) {
		if pg.submitted {
			return nil, fmt.Errorf("%w: %s", ErrLoginRefused, pg.errorText())
		}
		return pg.post("submit", url.Values{"login": {login}, "password": {password}})
	})
}

// Cancel goes to the login page from authURL, presses Cancel and returns the
// callback URL, which carries error=access_denied. A nil client is a fresh one.
func (p *Provider) Cancel(t testing.TB, client *http.Client, authURL string) *url.URL {
	t.Helper()
	u, err := p.walk(client, authURL, func(pg *page) (*http.Request, error) {
		if pg.submitted {
			return nil, errors.New("the login page came back after Cancel")
		}
		return pg.post("cancel", nil)
	})
	if err != nil {
		t.Fatalf("oidctest: cancel: %v", err)
	}
	return u
}

// maxSteps bounds the requests of one sign-in: a handful of redirects and one
// form.
const maxSteps = 20

// walk requests authURL and follows the provider's redirects; at each HTML
// page it asks onPage for the next request (a form post). It stops at the
// first redirect to one of RedirectURLs.
func (p *Provider) walk(client *http.Client, authURL string, onPage func(*page) (*http.Request, error)) (*url.URL, error) {
	c, err := noRedirects(client)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	submitted := false
	for range maxSteps {
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			next, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("redirect from %s: %v", req.URL, err)
			}
			if p.isRedirectURL(next) {
				return next, nil
			}
			if !sameOrigin(next, p.Issuer) {
				return nil, fmt.Errorf("redirected to %s, neither the provider nor a redirect URL", next)
			}
			if req, err = http.NewRequest(http.MethodGet, next.String(), nil); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"):
			doc, err := html.Parse(bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("page %s: %v", req.URL, err)
			}
			if req, err = onPage(&page{url: req.URL, doc: doc, submitted: submitted}); err != nil {
				return nil, err
			}
			submitted = true
		default:
			return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, snippet(body))
		}
	}
	return nil, fmt.Errorf("no redirect to the callback after %d requests", maxSteps)
}

func (p *Provider) isRedirectURL(u *url.URL) bool {
	bare := *u
	bare.RawQuery, bare.Fragment = "", ""
	for _, r := range p.RedirectURLs {
		if bare.String() == r {
			return true
		}
	}
	return false
}

// noRedirects copies client (or makes one with a cookie jar) so that it
// returns redirects instead of following them.
func noRedirects(client *http.Client) (*http.Client, error) {
	var c http.Client
	if client != nil {
		c = *client
	} else {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, err
		}
		c = http.Client{Jar: jar, Timeout: 30 * time.Second}
	}
	if c.Jar == nil {
		return nil, errors.New("the client needs a cookie jar: the provider keeps the sign-in in cookies")
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c, nil
}

func sameOrigin(u *url.URL, base string) bool {
	b, err := url.Parse(base)
	return err == nil && u.Scheme == b.Scheme && u.Host == b.Host
}

// page is an HTML page of the provider: its login page.
type page struct {
	url       *url.URL
	doc       *html.Node
	submitted bool // the walk already posted a form
}

// post builds the submission of the form holding the button with that id.
func (pg *page) post(buttonID string, fields url.Values) (*http.Request, error) {
	button := pg.byID(buttonID)
	if button == nil {
		return nil, fmt.Errorf("%s: no button #%s: %s", pg.url, buttonID, snippet([]byte(text(pg.doc))))
	}
	for form := range button.Ancestors() {
		if form.Type == html.ElementNode && form.Data == "form" {
			action, err := pg.url.Parse(attr(form, "action"))
			if err != nil {
				return nil, err
			}
			req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(fields.Encode()))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req, nil
		}
	}
	return nil, fmt.Errorf("%s: button #%s is in no form", pg.url, buttonID)
}

func (pg *page) errorText() string {
	if n := pg.byID("error"); n != nil {
		return strings.TrimSpace(text(n))
	}
	return "the login page came back without a message"
}

func (pg *page) byID(id string) *html.Node {
	for n := range pg.doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			return n
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// unavailable skips the test, or fails it under WHARF_REQUIRE_OIDC=1.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("WHARF_REQUIRE_OIDC") == "1" {
		t.Fatalf("oidctest: the OpenID provider is required (WHARF_REQUIRE_OIDC=1) but %s", why)
	}
	t.Skipf("OpenID test skipped: %s (set WHARF_REQUIRE_OIDC=1 to make this an error)", why)
}

// repoRoot walks up from the working directory (the test's package) to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("oidctest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// tailBuffer keeps the last max bytes written to it (the provider's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = w.b[over:]
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/pluginapi"
)

var gateway = auth.ProxyAuth{Name: "gw", Trusted: []string{"10.0.0.5", "192.0.2.0/28"},
	UserHeader: "X-Forwarded-User", GroupsHeader: "X-Forwarded-Groups", EmailHeader: "X-Forwarded-Email"}

func (e *env) withProxy(t *testing.T, p auth.ProxyAuth) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Options{Host: e.host, Store: e.store, Audit: e.audit, Now: e.clock.Now, Proxy: &p})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fromPeer is a request over a connection from peer, with headers.
func fromPeer(peer string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://wharf.example/api/v1/me", nil)
	r.RemoteAddr = peer
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// The gateway's headers make the request its user's, with the rights of
// the user's groups' bindings; a user is recorded and audited once, not
// on every request.
func TestProxyHeadersFromTheGatewayAuthenticate(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.Group("gw", "payments"), access.Operator, "team=a")
	a := e.withProxy(t, gateway)

	r := fromPeer("10.0.0.5:51000", "X-Forwarded-User", "alice", "X-Forwarded-Groups", "payments, qa", "X-Forwarded-Email", "alice@example.com")
	c, ok, err := a.Proxy(ctx, r, client())
	if err != nil || !ok {
		t.Fatalf("proxy auth: ok=%v %v", ok, err)
	}
	if c.Actor != "gw/alice" || c.Auth != "proxy:gw" || roleOn(c, teamA) != access.Operator || roleOn(c, teamB) != access.None {
		t.Fatalf("caller %+v: %q on team=a, %q on team=b", c, roleOn(c, teamA), roleOn(c, teamB))
	}
	u := must(e.store.User(ctx, c.UserID))(t)
	if u.Provider != "gw" || u.Username != "alice" || u.Email != "alice@example.com" || strings.Join(u.Groups, ",") != "payments,qa" {
		t.Fatalf("recorded user %+v", u)
	}
	for range 3 {
		if _, _, err := a.Proxy(ctx, r, client()); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.signin"}); len(got) != 1 || got[0].Actor != "gw/alice" {
		t.Fatalf("sign-ins audited: %+v, want one for gw/alice", got)
	}
	if r := request(t, e.entries(t, audit.Filter{Operation: "auth.signin"})[0]); r["method"] != "proxy:gw" || r["new_user"] != true {
		t.Fatalf("sign-in entry request %v", r)
	}

	// The gateway drops alice from payments: the next request has lost it.
	r = fromPeer("192.0.2.9:40000", "X-Forwarded-User", "alice", "X-Forwarded-Groups", "qa")
	c = must3(a.Proxy(ctx, r, client()))(t)
	if roleOn(c, teamA) != access.None {
		t.Fatalf("alice kept operator on team=a after leaving payments: %q", roleOn(c, teamA))
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.signin"}); len(got) != 2 {
		t.Fatalf("the group change was not audited: %d sign-ins", len(got))
	}

	// A disabled user is refused however the gateway vouches for them.
	if _, err := e.auth.SetUserDisabled(ctx, e.root, c.UserID, true); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	_, ok, err = a.Proxy(ctx, r, client())
	if !ok {
		t.Fatal("a disabled user's request was not taken as the gateway's")
	}
	wantCode(t, "a disabled user through the gateway", err, pluginapi.CodeUnauthorized)
}

func must3[T any](v T, _ bool, err error) func(testing.TB) T { return must(v, err) }

// Only the gateway's own connections are believed: the same headers from
// anywhere else, or with a forged X-Forwarded-For naming the gateway, are
// not an identity (the request is then authenticated as if they were absent).
func TestProxyHeadersFromElsewhereAreIgnored(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("gw", "root"), access.Owner, "*")
	a := e.withProxy(t, gateway)
	for _, r := range []*http.Request{
		fromPeer("203.0.113.7:5000", "X-Forwarded-User", "root"),
		fromPeer("203.0.113.7:5000", "X-Forwarded-User", "root", "X-Forwarded-For", "10.0.0.5", "X-Real-Ip", "10.0.0.5"),
		fromPeer("192.0.2.16:5000", "X-Forwarded-User", "root"), // just outside 192.0.2.0/28
		fromPeer("10.0.0.5:5000"), // the gateway, naming no user
		fromPeer("10.0.0.5:5000", "X-Forwarded-User", "  "),
	} {
		if c, ok, err := a.Proxy(ctx, r, client()); ok || err != nil || c.Actor != "" {
			t.Errorf("request from %s with %v: ok=%v caller=%+v err=%v, want it ignored", r.RemoteAddr, r.Header, ok, c, err)
		}
	}
	// With proxy authentication off, even the gateway's headers are nothing.
	if _, ok, _ := e.auth.Proxy(ctx, fromPeer("10.0.0.5:5000", "X-Forwarded-User", "root"), client()); ok {
		t.Fatal("proxy headers believed with proxy_auth off")
	}
	if users := must(e.store.Users(ctx))(t); len(users) != 0 {
		t.Fatalf("ignored requests created users: %+v", users)
	}
}

// A header the gateway cannot vouch for is refused, naming the problem.
func TestProxyHeadersThatCannotBeUsedAreRefused(t *testing.T) {
	e := newEnv(t)
	a := e.withProxy(t, gateway)
	r := fromPeer("10.0.0.5:5000", "X-Forwarded-User", strings.Repeat("a", 500))
	_, ok, err := a.Proxy(ctx, r, client())
	if !ok {
		t.Fatal("an oversized user header was not taken as the gateway's")
	}
	if pe := wantCode(t, "an oversized user header", err, pluginapi.CodeForbidden); !strings.Contains(pe.Message, "X-Forwarded-User header names a username of 500 bytes") {
		t.Fatalf("refusal %q does not name the username", pe.Message)
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.signin", Outcome: audit.OutcomeError}); len(got) != 1 {
		t.Fatalf("refused proxy sign-in audited %d times, want once", len(got))
	}
}

func TestProxyConfigIsChecked(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		want string
		p    auth.ProxyAuth
	}{
		{"proxy_auth.name", auth.ProxyAuth{Name: "a/b", Trusted: []string{"10.0.0.1"}, UserHeader: "X-User"}},
		{"proxy_auth.trusted", auth.ProxyAuth{Name: "gw", UserHeader: "X-User"}},
		{"proxy_auth.trusted[1]", auth.ProxyAuth{Name: "gw", Trusted: []string{"10.0.0.1", "gateway.local"}, UserHeader: "X-User"}},
		{"proxy_auth.user_header", auth.ProxyAuth{Name: "gw", Trusted: []string{"10.0.0.1"}}},
		{"proxy_auth.groups_header cannot be the Authorization", auth.ProxyAuth{Name: "gw", Trusted: []string{"10.0.0.1"}, UserHeader: "X-User", GroupsHeader: "authorization"}},
	} {
		_, err := auth.New(auth.Options{Host: e.host, Store: e.store, Audit: e.audit, Proxy: &c.p})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", c.p, err, c.want)
		}
	}
}

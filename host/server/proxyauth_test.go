package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"
)

// Behind a gateway that signs users in, both faces take the gateway's user
// and groups over a real connection from it (here, loopback), with the
// rights the config's bindings give the gateway's groups; the same headers
// from an address that is not the gateway's are no identity at all.
func TestGatewayHeadersThroughBothFaces(t *testing.T) {
	subject, err := access.ParseSubject("group:gw/payments")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := access.ParseSelector("team=payments")
	if err != nil {
		t.Fatal(err)
	}
	start := func(trusted string) string {
		srv, err := server.New(context.Background(), server.Config{
			DataDir:   t.TempDir(),
			ProxyAuth: &auth.ProxyAuth{Name: "gw", Trusted: []string{trusted}, UserHeader: "X-Auth-User", GroupsHeader: "X-Auth-Groups"},
			Bindings:  []access.Binding{{Subject: subject, Grant: access.Grant{Role: access.Operator, Scope: sel}}},
			Faces:     []server.Face{api.Face(api.Options{}), web.Face(web.Options{})},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close(context.Background()) })
		if srv.Host.Open() {
			t.Fatal("a host with proxy_auth runs open")
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return hs.URL
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base, path string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	behind := start("127.0.0.1/32")
	status, body := get(behind, "/api/v1/me", "X-Auth-User", "alice", "X-Auth-Groups", "payments")
	var me auth.Me
	if err := json.Unmarshal([]byte(body), &me); status != http.StatusOK || err != nil {
		t.Fatalf("GET /me through the gateway: %d %s", status, body)
	}
	if me.Actor != "gw/alice" || me.Auth != "proxy:gw" || len(me.Grants) != 1 || me.Grants[0].Role != access.Operator {
		t.Fatalf("me = %+v, want gw/alice, operator on team=payments", me)
	}
	if status, body := get(behind, "/services", "X-Auth-User", "alice", "X-Auth-Groups", "payments"); status != http.StatusOK || !strings.Contains(body, "gw/alice") {
		t.Fatalf("portal through the gateway: %d, want 200 naming gw/alice", status)
	}
	if status, _ := get(behind, "/api/v1/me"); status != http.StatusUnauthorized {
		t.Fatalf("GET /me from the gateway without a user: %d, want 401", status)
	}
	if status, _ := get(behind, "/services"); status != http.StatusSeeOther {
		t.Fatalf("portal from the gateway without a user: %d, want the sign-in redirect", status)
	}

	elsewhere := start("192.0.2.1/32") // loopback is not the gateway here
	if status, _ := get(elsewhere, "/api/v1/me", "X-Auth-User", "alice", "X-Auth-Groups", "payments"); status != http.StatusUnauthorized {
		t.Fatalf("GET /me with gateway headers from elsewhere: %d, want 401", status)
	}
	if status, _ := get(elsewhere, "/services", "X-Auth-User", "alice"); status != http.StatusSeeOther {
		t.Fatalf("portal with gateway headers from elsewhere: %d, want the sign-in redirect", status)
	}
}

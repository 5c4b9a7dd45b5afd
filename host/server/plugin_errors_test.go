package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
)

// A plugin's crash (a wasm trap, its stderr with the Go stack) is shown in
// full to owners (plugins are theirs to run) and in the log, and as one
// line to everyone else, a connection's admin included: the plugin's
// stderr may speak of any connection it serves.
func TestPluginErrorDetailsForOwnersOnly(t *testing.T) {
	viewer, admin, owner := strings.Repeat("v", 40), strings.Repeat("a", 40), strings.Repeat("o", 40)
	h := newHost(t, server.Config{
		Tokens: []ops.Token{{Name: "vera", SHA256: ops.HashToken(viewer), Role: ops.RoleViewer},
			{Name: "ada", SHA256: ops.HashToken(admin), Role: ops.RoleAdmin},
			{Name: "olga", SHA256: ops.HashToken(owner), Role: ops.RoleOwner}},
		Connections: []connstore.Connection{{Name: "panics", Plugin: "panics", Config: []byte(`{}`)}},
	}, "./internal/testplugins/panics")
	get := func(token string) answer {
		return h.do("GET", "/api/v1/connections/panics/services/anything", "", "Authorization", "Bearer "+token)
	}
	o := get(owner)
	if o.status != http.StatusInternalServerError || !strings.Contains(o.body, "goroutine") || !strings.Contains(o.body, "stderr") {
		t.Fatalf("owner: %d, want the plugin's stderr:\n%s", o.status, o.body)
	}
	for who, token := range map[string]string{"viewer": viewer, "admin": admin} {
		v := get(token)
		if v.status != http.StatusInternalServerError || !strings.Contains(v.body, "deliberate panic in get") || !strings.Contains(v.body, "request id") {
			t.Fatalf("%s: %d, want the first line and a request id:\n%s", who, v.status, v.body)
		}
		for _, secret := range []string{"goroutine", "stderr", "wasm_error", "wasm error", ".go:"} {
			if strings.Contains(v.body, secret) {
				t.Errorf("%s sees %q:\n%s", who, secret, v.body)
			}
		}
	}
}

// A timed-out plugin call (not an internal error) carried the runtime's
// details to every caller before.
func TestPluginTimeoutDetailsForOwnersOnly(t *testing.T) {
	viewer, owner := strings.Repeat("v", 40), strings.Repeat("o", 40)
	cfg := server.Config{
		Tokens: []ops.Token{{Name: "vera", SHA256: ops.HashToken(viewer), Role: ops.RoleViewer},
			{Name: "olga", SHA256: ops.HashToken(owner), Role: ops.RoleOwner}},
		Connections: []connstore.Connection{{Name: "loops", Plugin: "loops", Config: []byte(`{}`)}},
	}
	cfg.Runtime.CallTimeout = 300 * time.Millisecond
	h := newHost(t, cfg, "./internal/testplugins/loops")
	get := func(token string) answer {
		return h.do("GET", "/api/v1/connections/loops/services/anything", "", "Authorization", "Bearer "+token)
	}
	if a := get(owner); a.status != http.StatusGatewayTimeout || !strings.Contains(a.body, "wasm_error") {
		t.Fatalf("owner: %d, want the runtime's details:\n%s", a.status, a.body)
	}
	v := get(viewer)
	if v.status != http.StatusGatewayTimeout || strings.Contains(v.body, "wasm_error") || strings.Contains(v.body, "operation") {
		t.Fatalf("viewer: %d, want no runtime details:\n%s", v.status, v.body)
	}
}

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
// full to administrators and in the log, and as one line to everyone else.
func TestPluginErrorDetailsForAdminsOnly(t *testing.T) {
	viewer, admin := strings.Repeat("v", 40), strings.Repeat("a", 40)
	h := newHost(t, server.Config{
		Tokens: []ops.Token{{Name: "vera", SHA256: ops.HashToken(viewer), Role: ops.RoleViewer},
			{Name: "ada", SHA256: ops.HashToken(admin), Role: ops.RoleAdmin}},
		Connections: []connstore.Connection{{Name: "panics", Plugin: "panics", Config: []byte(`{}`)}},
	}, "./internal/testplugins/panics")
	get := func(token string) answer {
		return h.do("GET", "/api/v1/connections/panics/services/anything", "", "Authorization", "Bearer "+token)
	}
	a := get(admin)
	if a.status != http.StatusInternalServerError || !strings.Contains(a.body, "goroutine") || !strings.Contains(a.body, "stderr") {
		t.Fatalf("admin: %d, want the plugin's stderr:\n%s", a.status, a.body)
	}
	v := get(viewer)
	if v.status != http.StatusInternalServerError || !strings.Contains(v.body, "deliberate panic in get") || !strings.Contains(v.body, "request id") {
		t.Fatalf("viewer: %d, want the first line and a request id:\n%s", v.status, v.body)
	}
	for _, secret := range []string{"goroutine", "stderr", "wasm_error", "wasm error", ".go:"} {
		if strings.Contains(v.body, secret) {
			t.Errorf("a viewer sees %q:\n%s", secret, v.body)
		}
	}
}

// A timed-out plugin call (not an internal error) carried the runtime's
// details to every caller before.
func TestPluginTimeoutDetailsForAdminsOnly(t *testing.T) {
	viewer, admin := strings.Repeat("v", 40), strings.Repeat("a", 40)
	cfg := server.Config{
		Tokens: []ops.Token{{Name: "vera", SHA256: ops.HashToken(viewer), Role: ops.RoleViewer},
			{Name: "ada", SHA256: ops.HashToken(admin), Role: ops.RoleAdmin}},
		Connections: []connstore.Connection{{Name: "loops", Plugin: "loops", Config: []byte(`{}`)}},
	}
	cfg.Runtime.CallTimeout = 300 * time.Millisecond
	h := newHost(t, cfg, "./internal/testplugins/loops")
	get := func(token string) answer {
		return h.do("GET", "/api/v1/connections/loops/services/anything", "", "Authorization", "Bearer "+token)
	}
	if a := get(admin); a.status != http.StatusGatewayTimeout || !strings.Contains(a.body, "wasm_error") {
		t.Fatalf("admin: %d, want the runtime's details:\n%s", a.status, a.body)
	}
	v := get(viewer)
	if v.status != http.StatusGatewayTimeout || strings.Contains(v.body, "wasm_error") || strings.Contains(v.body, "operation") {
		t.Fatalf("viewer: %d, want no runtime details:\n%s", v.status, v.body)
	}
}

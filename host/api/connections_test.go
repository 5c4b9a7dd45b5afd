package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/internal/testplugins/hostile/mirror"
)

// TestConnectionApprovalsAndEndpointChange drives the connection fields of
// issue 10 §2 through the REST API: approvals, effective endpoints, and the
// secrets dropped (or kept) when an endpoint moves.
func TestConnectionApprovalsAndEndpointChange(t *testing.T) {
	v := newEnv(t, opstest.Options{NoConnection: true, ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/hostile"}})
	c := v.client(t, "")
	body := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	// An approval must be a declared pattern.
	a := c.want(400, "POST", "/connections", body(map[string]any{"name": "h1", "plugin": "hostile",
		"config": map[string]any{"endpoint": "http://127.0.0.1:1", "token": "t0ken-value"}, "approved_hosts": []string{"evil.example"}}))
	if !strings.Contains(string(a.body), `"field":"/approved_hosts/0"`) {
		t.Fatalf("bad approval: %s", a.body)
	}
	m := c.want(201, "POST", "/connections", body(map[string]any{"name": "h1", "plugin": "hostile",
		"config": map[string]any{"endpoint": "http://127.0.0.1:1", "token": "t0ken-value"}})).json(t)
	if pend, _ := m["pending_hosts"].([]any); len(pend) != 1 || pend[0] != mirror.Host {
		t.Fatalf("created: %v", m)
	}
	if eps, _ := m["endpoints"].([]any); len(eps) != 1 || eps[0].(map[string]any)["url"] != "http://127.0.0.1:1" {
		t.Fatalf("endpoints: %v", m["endpoints"])
	}

	// Approve, and move the endpoint keeping the token on purpose.
	m = c.want(200, "PUT", "/connections/h1", body(map[string]any{"config": map[string]any{"endpoint": "http://127.0.0.1:2"},
		"approved_hosts": []string{mirror.Host}, "keep_secrets": true})).json(t)
	if appr, _ := m["approved_hosts"].([]any); len(appr) != 1 || m["secrets_set"].([]any)[0] != "token" || m["secrets_dropped"] != nil {
		t.Fatalf("approved and kept: %v", m)
	}
	// Move it again without keep_secrets: the token is dropped, approvals stay.
	m = c.want(200, "PUT", "/connections/h1", body(map[string]any{"config": map[string]any{"endpoint": "http://127.0.0.1:3"}})).json(t)
	if d, _ := m["secrets_dropped"].([]any); len(d) != 1 || len(m["secrets_set"].([]any)) != 0 || len(m["approved_hosts"].([]any)) != 1 {
		t.Fatalf("moved: %v", m)
	}
	if strings.Contains(string(c.want(200, "GET", "/audit", "").body), "t0ken-value") {
		t.Fatal("the audit log holds the token")
	}
}

package api_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestRefusedMutationsAuditedThroughAPI: through the REST API, a viewer's
// mutation attempts are denied entries; a stale PUT and a stale PATCH are
// one conflict entry each, of the same shape and carrying the service's
// name; a request without a valid token is not audited.
func TestRefusedMutationsAuditedThroughAPI(t *testing.T) {
	v := newEnv(t, opstest.Options{Tokens: []ops.Token{
		{Name: "vera", SHA256: ops.HashToken("view-tok-0123456789abcdef0123456789"), Role: ops.RoleViewer},
		{Name: "otto", SHA256: ops.HashToken("op-tok-0123456789abcdef0123456789"), Role: ops.RoleOperator},
		{Name: "ada", SHA256: ops.HashToken("admin-tok-0123456789abcdef0123456789"), Role: ops.RoleAdmin},
	}})
	anon, viewer := v.client(t, ""), v.client(t, "view-tok-0123456789abcdef0123456789")
	operator, admin := v.client(t, "op-tok-0123456789abcdef0123456789"), v.client(t, "admin-tok-0123456789abcdef0123456789")
	id := operator.want(201, "POST", "/connections/fake1/services", spec).json(t)["service"].(map[string]any)["id"].(string)
	svc := "/connections/fake1/services/" + id

	viewer.want(403, "POST", "/connections/fake1/services", `{"name":"web2","image":"x"}`)
	viewer.want(403, "PATCH", svc, `{"replicas":9}`, "Content-Type", "application/merge-patch+json")
	viewer.want(403, "DELETE", svc, "")
	viewer.want(403, "POST", svc+"/actions/restart", "")
	anon.want(401, "DELETE", svc, "")

	denied := admin.want(200, "GET", "/audit?outcome=denied", "").json(t)["entries"].([]any)
	var got []string
	for _, x := range denied {
		en := x.(map[string]any)
		if en["actor"] != "vera" || en["client_addr"] == "" || en["request_id"] == "" || en["error_code"] != "forbidden" {
			t.Errorf("denied entry: %v", en)
		}
		got = append(got, en["operation"].(string)+" "+en["target"].(string))
	}
	want := "service.action:restart " + id + ", service.delete " + id + ", service.update " + id + ", service.create web2"
	if strings.Join(got, ", ") != want {
		t.Fatalf("denied entries:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}

	// Stale versions, as a PUT and as a PATCH.
	operator.want(200, "PUT", svc, `{"name":"web","image":"nginx:2"}`, "If-Match", `"1"`)
	operator.want(409, "PUT", svc, `{"name":"web","image":"nginx:3"}`, "If-Match", `"1"`)
	operator.want(409, "PATCH", svc, `{"replicas":4}`, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
	stale := admin.want(200, "GET", "/audit?target=web&outcome=error", "").json(t)["entries"].([]any)
	if len(stale) != 2 {
		t.Fatalf("stale attempts: %d entries, want 2: %v", len(stale), stale)
	}
	shape := func(x any) string {
		en := x.(map[string]any)
		var parts []string
		for _, k := range []string{"actor", "connection", "plugin", "operation", "target", "target_name", "outcome", "error_code"} {
			s, _ := en[k].(string)
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	if w := "otto fake1 fake service.update " + id + " web error conflict"; shape(stale[0]) != w || shape(stale[1]) != w {
		t.Fatalf("stale PATCH %q, stale PUT %q, want both %q", shape(stale[0]), shape(stale[1]), w)
	}

	// Nobody unauthenticated is in the log.
	for _, x := range admin.want(200, "GET", "/audit?limit=1000", "").json(t)["entries"].([]any) {
		if a := x.(map[string]any)["actor"]; a != "vera" && a != "otto" && a != "test-admin" {
			t.Errorf("entry of actor %q: %v", a, x)
		}
	}
	// The outcome filter knows the new outcomes and names them when refusing.
	if a := admin.want(400, "GET", "/audit?outcome=nope", ""); !strings.Contains(string(a.body), "denied") {
		t.Fatalf("bad outcome: %s", a.body)
	}
}

package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestPortalDeniedAttemptsAudited: a viewer posting the portal's forms
// directly is refused, and each attempt is a denied entry naming them.
func TestPortalDeniedAttemptsAudited(t *testing.T) {
	const secret = "v13wer-v13wer-v13wer-v13wer-v13wer"
	env, c := newEnv(t, webtest.Options{Tokens: []ops.Token{{Name: "peeker", SHA256: ops.HashToken(secret), Role: ops.RoleViewer}}})
	id := createService(t, env, "guarded")
	c.Get("/signin?next=/services") // for the CSRF token
	r := c.Post("/signin", url.Values{"token": {secret}, "next": {"/services"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("signin: %d\n%s", r.Status, excerpt(r.Body))
	}
	c.Follow(r) // for the CSRF token
	expect(t, c.Post("/services/swarm/"+id+"/delete", url.Values{"confirm": {"yes"}}), 403)
	expect(t, c.Post("/services/swarm/"+id+"/actions/scale", url.Values{"f.replicas": {"5"}}), 403)
	expect(t, c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"sneaky"}, "f.image": {"x"}}), 403)

	entries, err := env.Host.QueryAudit(context.Background(), webtest.Admin, audit.Filter{Outcome: audit.OutcomeDenied})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Actor != "peeker" || e.ErrorCode != "forbidden" || e.Connection != "swarm" {
			t.Errorf("denied entry: %+v", e)
		}
		got = append(got, e.Operation+" "+e.Target+" "+e.TargetName)
	}
	want := "service.create sneaky sneaky, service.action:scale " + id + " guarded, service.delete " + id + " guarded"
	if strings.Join(got, ", ") != want {
		t.Fatalf("denied entries:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
	// The viewer may read the log: the page filters on the new outcome.
	r = c.Get("/audit?outcome=denied")
	expect(t, r, 200, "out-denied", "peeker", "guarded")
}

// TestAuditPageShowsNamesWithIDs: steps after a create show the service's
// name, with its platform id on hover; a search by name finds them.
func TestAuditPageShowsNamesWithIDs(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "named")
	waitSettled(t, env, id)
	c.Get("/services")
	r := c.Post("/services/swarm/"+id+"/actions/scale", url.Values{"f.replicas": {"2"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("scale: %d\n%s", r.Status, excerpt(r.Body))
	}
	r = c.Get("/audit?service=named")
	expect(t, r, 200, "service.action:scale", "service.create")
	body := html.UnescapeString(r.Body)
	if n := strings.Count(body, `title="id: `+id+`">named</span>`); n != 2 {
		t.Fatalf("%d entries show the name with the id on hover, want 2:\n%s", n, excerpt(r.Body))
	}
	r = c.Get("/audit/export?format=csv&service=named")
	if !strings.Contains(strings.SplitN(r.Body, "\n", 2)[0], "target_name") || strings.Count(r.Body, "named") < 2 {
		t.Fatalf("csv export: %s", r.Body)
	}
}

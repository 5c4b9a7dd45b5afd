package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// deepPatch is the attack of issue 10 §3: a merge patch of arrays arrays
// nested depth deep (20 × 9,000 is ~360 KB, 15 s of CPU and 1.9 GB before
// the bound).
func deepPatch(arrays, depth int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range arrays {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"a` + string(rune('a'+i)) + `":`)
		b.WriteString(strings.Repeat("[", depth))
		b.WriteString(strings.Repeat("]", depth))
	}
	b.WriteByte('}')
	return b.String()
}

// TestDeepBodiesAreRefused performs the deep merge patch and sends deep and
// big bodies to every JSON route, through an API with its default body
// limit (4M): each is a 400 naming the limit, and nothing reached the plugin.
func TestDeepBodiesAreRefused(t *testing.T) {
	ev := opstest.New(t, opstest.Options{})
	srv := httptest.NewServer(validated(t, api.New(ev.Host, api.Options{})))
	t.Cleanup(srv.Close)
	c := &client{t: t, base: srv.URL + api.Prefix}
	conn := "/connections/" + opstest.Conn
	id := c.want(201, "POST", conn+"/services", spec).json(t)["service"].(map[string]any)["id"].(string)
	svc := conn + "/services/" + id

	attack := deepPatch(20, 9000)
	if len(attack) < 350_000 {
		t.Fatalf("attack is %d bytes", len(attack))
	}
	wantLimit(t, c.do("PATCH", svc, attack, "Content-Type", "application/merge-patch+json"), "JSON nesting deeper than 64 levels")

	deep := `{"name":"web","image":"nginx:1","labels":` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70) + `}`
	big := `{"name":"web","image":"nginx:1","labels":{"a":"` + strings.Repeat("x", 1<<20) + `"}}`
	for _, r := range []struct{ method, path, body, want string }{
		{"POST", conn + "/services", deep, "nesting deeper than 64 levels"},
		{"PUT", svc, deep, "nesting deeper than 64 levels"},
		{"PATCH", svc, deepPatch(1, 65), "nesting deeper than 64 levels"},
		{"POST", svc + "/actions/scale", `{"replicas":` + strings.Repeat("[", 65) + `}`, "nesting deeper than 64 levels"},
		{"POST", "/connections", `{"name":"x","plugin":"fake","config":` + deepPatch(1, 65) + `}`, "nesting deeper than 64 levels"},
		{"PUT", conn, `{"config":` + deepPatch(1, 65) + `}`, "nesting deeper than 64 levels"},
		{"PATCH", conn, deepPatch(1, 65), "nesting deeper than 64 levels"},
		{"POST", svc + "/invoke", `{"headers":` + deepPatch(1, 65) + `}`, "nesting deeper than 64 levels"},
		{"POST", conn + "/services", big, "larger than 1 MiB"},
		{"PATCH", svc, big, "larger than 1 MiB"},
		{"POST", "/connections", big, "larger than 1 MiB"},
	} {
		wantLimit(t, c.do(r.method, r.path, r.body), r.want)
	}
	// A body at the limits still works.
	ok := `{"labels":{"deep":"` + strings.Repeat("[", 60) + `"}}`
	c.want(200, "PATCH", svc, ok)
}

func wantLimit(t *testing.T, a answer, limit string) {
	t.Helper()
	if a.status != 400 || a.errCode(t) != "invalid" || !strings.Contains(string(a.body), limit) {
		t.Errorf("status %d, want 400 naming %q: %.300s", a.status, limit, a.body)
	}
}

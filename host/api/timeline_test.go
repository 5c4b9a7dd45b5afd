package api_test

import (
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestTimelineRoute: the timeline lists what was done through the API,
// newest first with its actors; limit bounds it, a bad limit or another
// parameter is 400 naming it, an unknown connection 404.
func TestTimelineRoute(t *testing.T) {
	v := newEnv(t, opstest.Options{})
	c := v.client(t, "")
	conn := "/connections/" + opstest.Conn
	id := c.want(201, "POST", conn+"/services", spec, api.ActorHeader, "alice").json(t)["service"].(map[string]any)["id"].(string)
	c.want(200, "POST", conn+"/services/"+id+"/actions/scale", `{"replicas":3}`, api.ActorHeader, "bob")
	tl := conn + "/services/" + id + "/timeline"

	m := c.want(200, "GET", tl, "").json(t)
	items := m["items"].([]any)
	var audited []string
	for _, it := range items {
		it := it.(map[string]any)
		if it["kind"] == "change" || it["kind"] == "action" {
			audited = append(audited, it["title"].(string)+"/"+it["actor"].(string))
		}
	}
	if len(audited) != 2 || audited[0] != "Scaled to 3 by bob/bob" || audited[1] != "Created by alice/alice" {
		t.Fatalf("audited items = %q (timeline %v)", audited, m)
	}
	if _, ok := m["problems"]; ok {
		t.Fatalf("problems = %v", m["problems"])
	}
	if n := len(c.want(200, "GET", tl+"?limit=1", "").json(t)["items"].([]any)); n != 1 {
		t.Fatalf("limit=1: %d items", n)
	}
	for q, field := range map[string]string{"limit=many": "limit", "limit=-1": "limit", "colour=red": "colour"} {
		if f := errField(t, c.want(400, "GET", tl+"?"+q, "")); f != field {
			t.Fatalf("?%s: field %q, want %q", q, f, field)
		}
	}
	c.want(404, "GET", "/connections/nope/services/"+id+"/timeline", "")
}

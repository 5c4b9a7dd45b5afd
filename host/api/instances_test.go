package api_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops/opstest"
)

func errField(t *testing.T, a answer) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

// TestGetInsertDefaults: ?insert_defaults=true reaches a plugin that
// declares it; a plugin that does not answers 501, not a plain get.
func TestGetInsertDefaults(t *testing.T) {
	v := newEnv(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/good"}})
	c := v.client(t, "")
	svc := "/connections/" + opstest.Conn + "/services/" + c.want(201, "POST", "/connections/"+opstest.Conn+"/services", spec).json(t)["service"].(map[string]any)["id"].(string)
	env := func(a answer) any { return a.json(t)["spec"].(map[string]any)["env"] }
	if e := env(c.want(200, "GET", svc, "")); e != nil {
		t.Fatalf("plain get shows defaults: env %v", e)
	}
	if e, _ := env(c.want(200, "GET", svc+"?insert_defaults=true", "")).(map[string]any); e["PATH"] != "/usr/bin" {
		t.Fatalf("get with defaults: env %v", e)
	}
	if e := env(c.want(200, "GET", svc+"?insert_defaults=false", "")); e != nil {
		t.Fatalf("insert_defaults=false shows defaults: env %v", e)
	}
	if f := errField(t, c.want(400, "GET", svc+"?insert_defaults=maybe", "")); f != "insert_defaults" {
		t.Fatalf("bad insert_defaults: field %q", f)
	}
	c.want(201, "POST", "/connections", `{"name":"good","plugin":"good"}`)
	a := c.want(501, "GET", "/connections/good/services/x?insert_defaults=true", "")
	if !strings.Contains(string(a.body), "insert_defaults") {
		t.Fatalf("501 does not name the option: %s", a.body)
	}
}

// TestInstanceQueries: filters reach the plugin as named parameters or
// filter=key=value; keys the plugin does not declare are 400; the
// connection-wide listing pages every service's instances.
func TestInstanceQueries(t *testing.T) {
	v := newEnv(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/good"}})
	c := v.client(t, "")
	conn := "/connections/" + opstest.Conn
	web := c.want(201, "POST", conn+"/services", spec).json(t)["service"].(map[string]any)["id"].(string)
	api := c.want(201, "POST", conn+"/services", `{"name":"api","image":"x:1","replicas":1}`).json(t)["service"].(map[string]any)["id"].(string)
	count := func(path string) int {
		t.Helper()
		return len(c.want(200, "GET", path, "").json(t)["instances"].([]any))
	}
	insts := conn + "/services/" + web + "/instances"
	if n := count(insts + "?desired_state=RUNNING"); n != 2 {
		t.Fatalf("desired_state=RUNNING: %d", n)
	}
	if n := count(insts + "?desired_state=STOPPED"); n != 0 {
		t.Fatalf("desired_state=STOPPED: %d (the filter was ignored)", n)
	}
	if n := count(insts + "?filter=desired_state=STOPPED"); n != 0 {
		t.Fatalf("filter=desired_state=STOPPED: %d", n)
	}
	if f := errField(t, c.want(400, "GET", insts+"?node=n1", "")); f != "/filters/node" {
		t.Fatalf("an undeclared filter: field %q", f)
	}
	if f := errField(t, c.want(400, "GET", insts+"?desired_state=asleep", "")); f != "/filters/desired_state" {
		t.Fatalf("a bad filter value: field %q", f)
	}
	if f := errField(t, c.want(400, "GET", insts+"?filter=oops", "")); f != "filter" {
		t.Fatalf("filter without =: field %q", f)
	}

	all := conn + "/instances"
	page := c.want(200, "GET", all, "").json(t)
	list := page["instances"].([]any)
	if len(list) != 3 || page["next_page_token"] != nil {
		t.Fatalf("connection-wide: %v", page)
	}
	for _, in := range list {
		if sid := in.(map[string]any)["service_id"]; sid != web && sid != api {
			t.Fatalf("instance without its service: %v", in)
		}
	}
	if n := count(all + "?service=" + api); n != 1 {
		t.Fatalf("service=%s: %d", api, n)
	}
	if n := count(all + "?service=" + api + "," + web + "&desired_state=RUNNING"); n != 3 {
		t.Fatalf("two services, running: %d", n)
	}
	first := c.want(200, "GET", all+"?page_size=2", "").json(t)
	if len(first["instances"].([]any)) != 2 || first["next_page_token"] == nil {
		t.Fatalf("first page of 2: %v", first)
	}
	rest := c.want(200, "GET", all+"?page_size=2&page_token="+first["next_page_token"].(string), "").json(t)
	if len(rest["instances"].([]any)) != 1 || rest["next_page_token"] != nil {
		t.Fatalf("last page: %v", rest)
	}
	if f := errField(t, c.want(400, "GET", all+"?label=x", "")); f != "/filters/label" {
		t.Fatalf("an undeclared filter: field %q", f)
	}
	if f := errField(t, c.want(400, "GET", all+"?page_size=-1", "")); f != "page_size" {
		t.Fatalf("bad page_size: field %q", f)
	}
	c.want(201, "POST", "/connections", `{"name":"good","plugin":"good"}`)
	c.want(501, "GET", "/connections/good/instances", "")
}

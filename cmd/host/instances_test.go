package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops/opstest"
)

func TestInstancesFlags(t *testing.T) {
	a := &app{}
	var got *instancesOptions
	rec := func(o *instancesOptions) error { got = o; return nil }
	if err := parse(t, newInstancesCmd(a, rec), "prod", "web", "--desired-state", "shutdown", "--filter", "node=n1"); err != nil {
		t.Fatal(err)
	}
	q, err := got.query()
	if err != nil || got.Conn != "prod" || got.ID != "web" || !reflect.DeepEqual(q["filter"], []string{"node=n1", "desired_state=shutdown"}) {
		t.Fatalf("instances prod web: %v %+v %v", err, got, q)
	}
	if err := parse(t, newInstancesCmd(a, rec), "prod", "--service", "web", "--service", "api", "--page-size", "5", "--page-token", "10"); err != nil {
		t.Fatal(err)
	}
	q, err = got.query()
	if err != nil || got.ID != "" || !reflect.DeepEqual(q["service"], []string{"web", "api"}) || q.Get("page_size") != "5" || q.Get("page_token") != "10" {
		t.Fatalf("instances prod --service: %v %+v %v", err, got, q)
	}
	for _, args := range [][]string{
		{"prod", "web", "--service", "api"},  // --service is connection-wide
		{"prod", "web", "--page-size", "3"},  // so is paging
		{"prod", "web", "--filter", "nokey"}, // not key=value
		{"prod", "web", "web.1", "--desired-state", "running"},
	} {
		if err := parse(t, newInstancesCmd(a, nil), args...); err == nil || !strings.HasPrefix(err.Error(), "invalid:") {
			t.Errorf("instances %v: %v, want invalid before any request", args, err)
		}
	}
	if err := parse(t, newInstancesCmd(a, rec)); err == nil {
		t.Fatal("instances without a connection")
	}

	var g *svcGetOptions
	if err := parse(t, newSvcGetCmd(a, func(o *svcGetOptions) error { g = o; return nil }), "prod", "web", "--insert-defaults"); err != nil || !g.InsertDefaults {
		t.Fatalf("svc get --insert-defaults: %v %+v", err, g)
	}
}

func TestInstancesAndDefaultsCommands(t *testing.T) {
	c := newCLIEnv(t)
	c.ok(t, `{"name":"web","image":"nginx:1","replicas":2}`, "svc", "create", opstest.Conn, "-f", "-")
	c.ok(t, `{"name":"api","image":"nginx:1"}`, "svc", "create", opstest.Conn, "-f", "-")
	if out := c.ok(t, "", "svc", "get", opstest.Conn, "svc-1", "-o", "json"); strings.Contains(out, "/usr/bin") {
		t.Fatalf("plain get shows the defaults:\n%s", out)
	}
	mustContain(t, c.ok(t, "", "svc", "get", opstest.Conn, "svc-1", "--insert-defaults", "-o", "json"), `"PATH": "/usr/bin"`)
	mustContain(t, c.ok(t, "", "instances", opstest.Conn, "svc-1", "--desired-state", "RUNNING"), "svc-1.1", "svc-1.2")
	if out := c.ok(t, "", "instances", opstest.Conn, "svc-1", "--desired-state", "STOPPED"); strings.Contains(out, "svc-1.1") {
		t.Fatalf("--desired-state STOPPED lists running instances:\n%s", out)
	}
	c.fails(t, "invalid: unknown instance filter \"node\"", "instances", opstest.Conn, "svc-1", "--filter", "node=n1")
	out := c.ok(t, "", "instances", opstest.Conn)
	mustContain(t, out, "SERVICE", "svc-1.1", "svc-1.2", "svc-2.1")
	out = c.ok(t, "", "instances", opstest.Conn, "--service", "svc-2")
	if strings.Contains(out, "svc-1.1") || !strings.Contains(out, "svc-2.1") {
		t.Fatalf("--service svc-2:\n%s", out)
	}
	mustContain(t, c.ok(t, "", "instances", opstest.Conn, "--page-size", "1"), "svc-1.1", "next page: --page-token 1")
}

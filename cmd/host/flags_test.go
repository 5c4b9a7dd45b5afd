package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// parse runs cmd's flag parsing and argument checks with args, without a
// server: the commands are built with a runF that only records.
func parse(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	return cmd.Execute()
}

func TestSvcFlags(t *testing.T) {
	a := &app{}
	var ls *svcLsOptions
	if err := parse(t, newSvcLsCmd(a, func(o *svcLsOptions) error { ls = o; return nil }),
		"prod", "--filter", "label=team=a", "--filter", "mode=global", "--name", "web", "--status", "running", "--page-size", "5", "--page-token", "t1"); err != nil {
		t.Fatal(err)
	}
	if ls.Conn != "prod" || ls.All || !reflect.DeepEqual(ls.Filters, []string{"label=team=a", "mode=global"}) || ls.Name != "web" ||
		!reflect.DeepEqual(ls.Statuses, []string{"running"}) || ls.PageSize != 5 || ls.PageToken != "t1" {
		t.Fatalf("svc ls options: %+v", ls)
	}
	if err := parse(t, newSvcLsCmd(a, func(o *svcLsOptions) error { ls = o; return nil }), "--all", "--plugin", "docker", "--connection", "c1", "--connection", "c2"); err != nil {
		t.Fatal(err)
	}
	if !ls.All || ls.Conn != "" || !reflect.DeepEqual(ls.Plugins, []string{"docker"}) || !reflect.DeepEqual(ls.Conns, []string{"c1", "c2"}) {
		t.Fatalf("svc ls --all options: %+v", ls)
	}
	if err := parse(t, newSvcLsCmd(a, func(*svcLsOptions) error { return nil }), "a", "b"); err == nil {
		t.Fatal("svc ls took two connections")
	}

	var get *svcGetOptions
	if err := parse(t, newSvcGetCmd(a, func(o *svcGetOptions) error { get = o; return nil }), "prod", "web"); err != nil || get.Conn != "prod" || get.ID != "web" {
		t.Fatalf("svc get: %v %+v", err, get)
	}
	if err := parse(t, newSvcGetCmd(a, func(*svcGetOptions) error { return nil }), "prod"); err == nil {
		t.Fatal("svc get without an id")
	}

	var cr *svcCreateOptions
	if err := parse(t, newSvcCreateCmd(a, func(o *svcCreateOptions) error { cr = o; return nil }), "prod", "-f", "-"); err != nil || cr.Conn != "prod" || cr.File != "-" {
		t.Fatalf("svc create: %v %+v", err, cr)
	}
	if err := parse(t, newSvcCreateCmd(a, func(*svcCreateOptions) error { return nil }), "prod"); err == nil || !strings.Contains(err.Error(), "file") {
		t.Fatalf("svc create without -f: %v", err)
	}

	var up *svcUpdateOptions
	if err := parse(t, newSvcUpdateCmd(a, func(o *svcUpdateOptions) error { up = o; return nil }), "prod", "web", "-f", "s.json", "--version", "7"); err != nil ||
		up.Conn != "prod" || up.ID != "web" || up.File != "s.json" || up.Version != "7" {
		t.Fatalf("svc update: %v %+v", err, up)
	}
	var pa *svcPatchOptions
	if err := parse(t, newSvcPatchCmd(a, func(o *svcPatchOptions) error { pa = o; return nil }), "prod", "web", "--file", "p.json"); err != nil ||
		pa.File != "p.json" || pa.Version != "" {
		t.Fatalf("svc patch: %v %+v", err, pa)
	}
	var del *svcDeleteOptions
	if err := parse(t, newSvcDeleteCmd(a, func(o *svcDeleteOptions) error { del = o; return nil }), "prod", "web", "--force"); err != nil || !del.Force || del.ID != "web" {
		t.Fatalf("svc delete: %v %+v", err, del)
	}

	var act *svcActionOptions
	if err := parse(t, newSvcActionCmd(a, func(o *svcActionOptions) error { act = o; return nil }), "prod", "web", "scale", "--replicas", "0"); err != nil ||
		act.Action != "scale" || !act.HasReplicas || act.Replicas != 0 {
		t.Fatalf("svc action scale: %v %+v", err, act)
	}
	if err := parse(t, newSvcActionCmd(a, func(o *svcActionOptions) error { act = o; return nil }), "prod", "web", "restart"); err != nil || act.HasReplicas || act.Params != "" {
		t.Fatalf("svc action restart: %v %+v", err, act)
	}
	// A bad --params is refused before anything is sent (no server here).
	if err := parse(t, newSvcActionCmd(a, nil), "prod", "web", "x", "--params", "{"); err == nil || !strings.Contains(err.Error(), "--params") {
		t.Fatalf("svc action with bad params: %v", err)
	}
}

func TestConnFlags(t *testing.T) {
	a := &app{}
	var cr *connCreateOptions
	if err := parse(t, newConnCreateCmd(a, func(o *connCreateOptions) error { cr = o; return nil }), "local", "--plugin", "docker", "--set", "host=unix:///x", "--set", "tls=true", "-f", "c.json"); err != nil ||
		cr.Name != "local" || cr.Plugin != "docker" || cr.File != "c.json" || !reflect.DeepEqual(cr.Sets, []string{"host=unix:///x", "tls=true"}) {
		t.Fatalf("conn create: %v %+v", err, cr)
	}
	if err := parse(t, newConnCreateCmd(a, func(*connCreateOptions) error { return nil }), "local"); err == nil || !strings.Contains(err.Error(), "plugin") {
		t.Fatalf("conn create without --plugin: %v", err)
	}
	var up *connUpdateOptions
	if err := parse(t, newConnUpdateCmd(a, func(o *connUpdateOptions) error { up = o; return nil }), "prod", "--set", "region=eu", "--version", "3"); err != nil ||
		up.Name != "prod" || up.Version != 3 || up.File != "" || !reflect.DeepEqual(up.Sets, []string{"region=eu"}) {
		t.Fatalf("conn update: %v %+v", err, up)
	}
	if err := parse(t, newConnUpdateCmd(a, nil), "prod"); err == nil || !strings.Contains(err.Error(), "--set") {
		t.Fatalf("conn update with nothing to change: %v", err)
	}
	if err := parse(t, newConnUpdateCmd(a, func(*connUpdateOptions) error { return nil }), "prod", "--version", "x"); err == nil {
		t.Fatal("conn update took --version x")
	}
	for name, mk := range map[string]func() *cobra.Command{
		"ls":     func() *cobra.Command { return newConnLsCmd(a, func(*connLsOptions) error { return nil }) },
		"get":    func() *cobra.Command { return newConnGetCmd(a, func(*connGetOptions) error { return nil }) },
		"delete": func() *cobra.Command { return newConnDeleteCmd(a, func(*connDeleteOptions) error { return nil }) },
		"test":   func() *cobra.Command { return newConnTestCmd(a, func(*connTestOptions) error { return nil }) },
	} {
		want := 1
		if name == "ls" {
			want = 0
		}
		if err := parse(t, mk(), make([]string, want)...); err != nil {
			t.Errorf("conn %s with %d args: %v", name, want, err)
		}
		if err := parse(t, mk(), make([]string, want+1)...); err == nil {
			t.Errorf("conn %s took %d args", name, want+1)
		}
	}
	var g *connGetOptions
	if err := parse(t, newConnGetCmd(a, func(o *connGetOptions) error { g = o; return nil }), "prod-ecs"); err != nil || g.Name != "prod-ecs" {
		t.Fatalf("conn get: %v %+v", err, g)
	}
}

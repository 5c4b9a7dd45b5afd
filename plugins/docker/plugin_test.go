package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

const fullSpec = `{
  "name": "shop-web",
  "image": "nginx:1.27",
  "command": ["nginx"],
  "args": ["-g", "daemon off;"],
  "env": {"B": "2", "A": "x=y"},
  "labels": {"app": "shop"},
  "container_labels": {"c": "d"},
  "workdir": "/srv",
  "user": "101:101",
  "mode": "replicated",
  "replicas": 2,
  "resources": {"cpu_limit": 0.5, "memory_limit": "512M", "cpu_reservation": 0.25, "memory_reservation": "128M"},
  "restart_policy": {"condition": "on-failure", "delay": "10s", "max_attempts": 3, "window": "2m0s"},
  "constraints": ["node.role==manager"],
  "networks": ["backend"],
  "ports": [{"target": 80, "published": 8080}, {"target": 53, "protocol": "udp", "mode": "host", "published": 5353}],
  "endpoint_mode": "vip",
  "update_config": {"parallelism": 2, "delay": "10s", "failure_action": "rollback", "monitor": "30s", "max_failure_ratio": 0.25, "order": "start-first"},
  "rollback_config": {"parallelism": 1, "failure_action": "continue", "order": "stop-first"},
  "log_driver": {"name": "json-file", "options": {"max-size": "10m"}}
}`

// TestSpecMapping checks the friendly spec against the ServiceSpec
// docker-py would build, and the way back.
func TestSpecMapping(t *testing.T) {
	spec, err := decodeSpec(json.RawMessage(fullSpec))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := spec.toServiceSpec(nil, refIDs{})
	if err != nil {
		t.Fatal(err)
	}
	cs := ss.TaskTemplate.ContainerSpec
	if !reflect.DeepEqual(cs.Env, []string{"A=x=y", "B=2"}) || cs.Dir != "/srv" || cs.User != "101:101" || cs.Labels["c"] != "d" {
		t.Fatalf("container spec %+v", cs)
	}
	if *ss.Mode.Replicated.Replicas != 2 {
		t.Fatalf("mode %+v", ss.Mode)
	}
	r := ss.TaskTemplate.Resources
	if r.Limits.NanoCPUs != 500_000_000 || r.Limits.MemoryBytes != 512<<20 || r.Reservations.NanoCPUs != 250_000_000 || r.Reservations.MemoryBytes != 128<<20 {
		t.Fatalf("resources %+v %+v", r.Limits, r.Reservations)
	}
	rp := ss.TaskTemplate.RestartPolicy
	if rp.Condition != "on-failure" || *rp.Delay != 10*time.Second || *rp.MaxAttempts != 3 || *rp.Window != 2*time.Minute {
		t.Fatalf("restart %+v", rp)
	}
	ports := ss.EndpointSpec.Ports
	if ports[0].Protocol != "tcp" || ports[0].TargetPort != 80 || ports[0].PublishedPort != 8080 || ports[1].Protocol != "udp" || ports[1].PublishMode != "host" {
		t.Fatalf("ports %+v", ports)
	}
	uc := ss.UpdateConfig
	if uc.Parallelism != 2 || uc.Delay != 10*time.Second || uc.Monitor != 30*time.Second || uc.FailureAction != "rollback" || uc.MaxFailureRatio != 0.25 || uc.Order != "start-first" {
		t.Fatalf("update config %+v", uc)
	}
	if ss.TaskTemplate.Networks[0].Target != "backend" || ss.TaskTemplate.Placement.Constraints[0] != "node.role==manager" || ss.TaskTemplate.LogDriver.Options["max-size"] != "10m" {
		t.Fatalf("task template %+v", ss.TaskTemplate)
	}
	// And back again: the friendly spec is rebuilt unchanged.
	back, _ := json.Marshal(specFromSwarm(ss))
	var a, b any
	_ = json.Unmarshal([]byte(fullSpec), &a)
	_ = json.Unmarshal(back, &b)
	// The rebuilt spec names the defaults it was given implicitly.
	a.(map[string]any)["ports"].([]any)[0].(map[string]any)["protocol"] = "tcp"
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip:\n%s\n%s", fullSpec, back)
	}
}

// TestSpecErrorsNameTheField: what the schema checks (the host validates
// every spec against it) is refused there, naming the field; the rules
// between fields are the plugin's check, for specs the schema accepts.
func TestSpecErrorsNameTheField(t *testing.T) {
	sch, err := schema.Compile(provider{}.Describe().SpecSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ spec, field string }{
		{`{"image":"x"}`, "/name"},
		{`{"name":"a b","image":"x"}`, "/name"},
		{`{"name":"a"}`, "/image"},
		{`{"name":"a","image":" "}`, "/image"},
		{`{"name":"a","image":"x","bogus":1}`, "/bogus"},
		{`{"name":"a","image":"x","replicas":"two"}`, "/replicas"},
		{`{"name":"a","image":"x","mode":"sometimes"}`, "/mode"},
		{`{"name":"a","image":"x","resources":{"memory_limit":"lots"}}`, "/resources/memory_limit"},
		{`{"name":"a","image":"x","restart_policy":{"delay":"soon"}}`, "/restart_policy/delay"},
		{`{"name":"a","image":"x","ports":[{"target":0}]}`, "/ports/0/target"},
		{`{"name":"a","image":"x","ports":[{"target":80,"protocol":"http"}]}`, "/ports/0/protocol"},
		{`{"name":"a","image":"x","update_config":{"order":"random"}}`, "/update_config/order"},
		// env names with '=' are refused by the schema's propertyNames, but
		// host/schema reports that at the first property (/name): a host bug,
		// reported to the lead, so that case is not listed here.
		{`{"name":"a","image":"x","stop_grace_period":"a while"}`, "/stop_grace_period"},
		{`{"name":"a","image":"x","healthcheck":{"test":["RUN","x"]}}`, "/healthcheck/test/0"},
		{`{"name":"a","image":"x","healthcheck":{"retries":-1}}`, "/healthcheck/retries"},
		{`{"name":"a","image":"x","mounts":[{"type":"nfs","target":"/d"}]}`, "/mounts/0/type"},
		{`{"name":"a","image":"x","mounts":[{"type":"volume","target":"d"}]}`, "/mounts/0/target"},
		{`{"name":"a","image":"x","mounts":[{"type":"tmpfs","target":"/t","tmpfs_mode":"999"}]}`, "/mounts/0/tmpfs_mode"},
		{`{"name":"a","image":"x","secrets":[{"target":"s"}]}`, "/secrets/0/name"},
		{`{"name":"a","image":"x","configs":[{"name":"c","mode":"rw"}]}`, "/configs/0/mode"},
		{`{"name":"a","image":"x","dns_config":{"nameservers":["dns.example"]}}`, "/dns_config/nameservers/0"},
		{`{"name":"a","image":"x","hosts":["10.0.0.1"]}`, "/hosts/0"},
		{`{"name":"a","image":"x","cap_add":["NET ADMIN"]}`, "/cap_add/0"},
		{`{"name":"a","image":"x","ulimits":[{"name":"nofile","soft":1}]}`, "/ulimits/0/hard"},
		{`{"name":"a","image":"x","isolation":"vm"}`, "/isolation"},
		{`{"name":"a","image":"x","max_replicas_per_node":-1}`, "/max_replicas_per_node"},
		{`{"name":"a","image":"x","placement_preferences":[{"spread":""}]}`, "/placement_preferences/0/spread"},
		{`{"name":"a","image":"x","platforms":[{}]}`, "/platforms/0"},
		{`{"name":"a","image":"x","networks":[{"target":"n","alias":["x"]}]}`, "/networks/0"},
		{`{"name":"a","image":"x","resources":{"generic_resources":[{"kind":"gpu"}]}}`, "/resources/generic_resources/0"},
		{`{"name":"a","image":"x","resources":{"generic_resources":[{"kind":"gpu","discrete":1,"named":"g0"}]}}`, "/resources/generic_resources/0"},
	} {
		pe := pluginapi.AsError(sch.Validate(json.RawMessage(tc.spec)))
		if pe == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
			t.Errorf("schema: %s: got %v, want invalid at %q", tc.spec, pe, tc.field)
		}
	}
	for _, tc := range []struct{ spec, field string }{
		{`{"name":"a","image":"x","mode":"global","replicas":2}`, "/replicas"},
		{`{"name":"a","image":"x","max_concurrent":2}`, "/max_concurrent"},
		{`{"name":"a","image":"x","mode":"global","max_replicas_per_node":1}`, "/max_replicas_per_node"},
		{`{"name":"a","image":"x","rollback_config":{"failure_action":"rollback"}}`, "/rollback_config/failure_action"},
		{`{"name":"a","image":"x","endpoint_mode":"dnsrr","ports":[{"target":80}]}`, "/ports/0/mode"},
		{`{"name":"a","image":"x","healthcheck":{"test":["NONE","x"]}}`, "/healthcheck/test"},
		{`{"name":"a","image":"x","healthcheck":{"test":["CMD-SHELL","a","b"]}}`, "/healthcheck/test"},
		{`{"name":"a","image":"x","healthcheck":{"test":["CMD"]}}`, "/healthcheck/test"},
		{`{"name":"a","image":"x","healthcheck":{"interval":"10us"}}`, "/healthcheck/interval"},
		{`{"name":"a","image":"x","mounts":[{"type":"bind","target":"/d"}]}`, "/mounts/0/source"},
		{`{"name":"a","image":"x","mounts":[{"type":"tmpfs","source":"x","target":"/d"}]}`, "/mounts/0/source"},
		{`{"name":"a","image":"x","mounts":[{"type":"bind","source":"/s","target":"/d","tmpfs_size":"1M"}]}`, "/mounts/0/tmpfs_size"},
		{`{"name":"a","image":"x","mounts":[{"type":"volume","target":"/d","propagation":"shared"}]}`, "/mounts/0/propagation"},
		{`{"name":"a","image":"x","mounts":[{"type":"volume","target":"/d","driver_options":{"o":"1"}}]}`, "/mounts/0/driver"},
		{`{"name":"a","image":"x","mounts":[{"type":"volume","target":"/d"},{"type":"tmpfs","target":"/d"}]}`, "/mounts/1/target"},
		{`{"name":"a","image":"x","secrets":[{"name":"s"},{"name":"t","target":"s"}]}`, "/secrets/1/target"},
		{`{"name":"a","image":"x","ulimits":[{"name":"nofile","soft":10,"hard":5}]}`, "/ulimits/0/soft"},
		{`{"name":"a","image":"x","ulimits":[{"name":"nofile","soft":1,"hard":5},{"name":"nofile","soft":1,"hard":5}]}`, "/ulimits/1/name"},
	} {
		if err := sch.Validate(json.RawMessage(tc.spec)); err != nil {
			t.Errorf("%s: the schema refuses it (%v): a cross-field rule should not be needed", tc.spec, err)
		}
		_, err := decodeSpec(json.RawMessage(tc.spec))
		pe := pluginapi.AsError(err)
		if err == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
			t.Errorf("check: %s: got %v, want invalid at %s", tc.spec, err, tc.field)
		}
	}
}

// TestDescribeAndConformance validates the schemas with the host's own
// schema package and checks testdata/conformance.json against them.
func TestDescribeAndConformance(t *testing.T) {
	d := provider{}.Describe()
	for _, op := range pluginapi.RequiredOperations {
		if !d.Supports(op) {
			t.Errorf("missing operation %s", op)
		}
	}
	if !d.Supports(pluginapi.OpInstances) {
		t.Error("instances not declared")
	}
	cfg, err := schema.Compile(d.ConfigSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.EndpointFields(); !reflect.DeepEqual(got, []string{"host"}) {
		t.Fatalf("endpoint fields %v", got)
	}
	if len(cfg.SecretFields()) != 0 {
		t.Fatal("the docker socket has no secrets")
	}
	spec, err := schema.Compile(d.SpecSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(json.RawMessage(fullSpec)); err != nil {
		t.Fatalf("full spec: %v", err)
	}
	act, _ := d.Action(pluginapi.ActionScale)
	scale, err := schema.Compile(act.ParamsSchema)
	if err != nil {
		t.Fatal(err)
	}
	if scale.Validate(json.RawMessage(`{"replicas":3}`)) != nil || scale.Validate(json.RawMessage(`{"replicas":-1}`)) == nil {
		t.Fatal("scale params schema")
	}

	var conf struct {
		CreateSpec     json.RawMessage `json:"create_spec"`
		UpdateSpec     json.RawMessage `json:"update_spec"`
		InvalidSpec    json.RawMessage `json:"invalid_spec"`
		InvalidField   string          `json:"invalid_field"`
		BadCredentials map[string]any  `json:"bad_credentials"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []json.RawMessage{conf.CreateSpec, conf.UpdateSpec} {
		if err := spec.Validate(s); err != nil {
			t.Fatalf("conformance spec %s: %v", s, err)
		}
		if _, err := decodeSpec(s); err != nil {
			t.Fatalf("conformance spec %s: %v", s, err)
		}
	}
	verr := pluginapi.AsError(spec.Validate(conf.InvalidSpec))
	if verr == nil || verr.Field != conf.InvalidField {
		t.Fatalf("invalid spec: %v, want field %s", verr, conf.InvalidField)
	}

	// The conformance scenario against the emulator: create, update, and
	// "bad credentials" (here: an engine that cannot be reached).
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(string(conf.CreateSpec))
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: conf.UpdateSpec, Version: svc.Version}, &up)
	if up.Service.Version == svc.Version {
		t.Fatal("update did not change the version")
	}
	// Docker has no credentials; an unreachable engine stands in for them.
	badCfg := map[string]any{}
	_ = json.Unmarshal(h.cfg, &badCfg)
	badCfg["host"] = "tcp://127.0.0.1:9"
	raw, _ := json.Marshal(badCfg)
	var host string
	_ = json.Unmarshal(raw, &struct{ Host *string }{&host})
	bad := &harness{t: t, cfg: raw, doer: newHostDoer(t, host)}
	bad.ctx = plugin.WithDoer(t.Context(), bad.doer)
	if err := bad.call(pluginapi.OpList, pluginapi.ListRequest{Request: bad.req()}, nil); err == nil || err.Code != pluginapi.CodeUnavailable {
		t.Fatalf("bad credentials: %v", err)
	}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(fullSpec)
	if svc.Name != "shop-web" || svc.Image != "nginx:1.27" || svc.Status != pluginapi.StatusDeploying || *svc.Desired != 2 || *svc.Running != 0 {
		t.Fatalf("created: %+v", svc)
	}
	if len(svc.Endpoints) != 2 || svc.Endpoints[0].Port != 80 || svc.Endpoints[0].Public != 8080 || svc.Endpoints[0].URL != "tcp://127.0.0.1:8080" {
		t.Fatalf("endpoints %+v", svc.Endpoints)
	}
	var raw swarm.Service
	if err := json.Unmarshal(svc.Raw, &raw); err != nil || raw.ID != svc.ID || raw.Spec.TaskTemplate.ContainerSpec.Isolation != "default" {
		t.Fatalf("raw %s", svc.Raw)
	}
	// Duplicate names conflict.
	err := h.call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(fullSpec)}, nil)
	wantCode(t, err, pluginapi.CodeConflict, "already exists")

	h.clk.Advance(time.Second)
	got := h.get(svc.ID)
	if got.Status != pluginapi.StatusRunning || got.NativeStatus != "running 2/2" || *got.Running != 2 {
		t.Fatalf("after start: %s %s", got.Status, got.NativeStatus)
	}
	// By name too.
	if byName := h.get("shop-web"); byName.ID != svc.ID {
		t.Fatal("get by name")
	}
	// The spec read back is the one given (the engine adds defaults only
	// where the spec left them out).
	sp := specOf(t, got)
	if sp.Image != "nginx:1.27" || sp.Env["A"] != "x=y" || *sp.Replicas != 2 || sp.Resources.MemoryLimit != "512M" ||
		sp.RestartPolicy.Delay != "10s" || sp.UpdateConfig.Order != "start-first" || sp.Ports[1].Mode != "host" {
		t.Fatalf("spec back: %s", got.Spec)
	}

	// Update from the spec read back, with the version read.
	sp.Image = "nginx:1.28"
	sp.Env = map[string]string{"C": "3"}
	sp.Ports = nil
	sp.EndpointMode = ""
	newSpec, _ := json.Marshal(sp)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: newSpec, Version: got.Version}, &up)
	if up.Service.Status != pluginapi.StatusUpdating || up.Service.Rollout == nil || up.Service.Rollout.State != "updating" || up.Service.Image != "nginx:1.28" {
		t.Fatalf("after update: %+v %+v", up.Service.Status, up.Service.Rollout)
	}
	if len(up.Service.Endpoints) != 0 {
		t.Fatalf("ports not removed: %+v", up.Service.Endpoints)
	}
	// The same stale version again: conflict.
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: newSpec, Version: got.Version}, nil)
	wantCode(t, err, pluginapi.CodeConflict, "update out of sequence")
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: newSpec, Version: "v7"}, nil)
	if err == nil || err.Field != "/version" {
		t.Fatalf("bad version: %v", err)
	}
	// Renaming is refused with the field named.
	sp.Name = "other"
	renamed, _ := json.Marshal(sp)
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: renamed}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/name" {
		t.Fatalf("rename: %v", err)
	}

	h.clk.Advance(time.Second)
	got = h.get(svc.ID)
	if got.Status != pluginapi.StatusRunning || got.Rollout.State != "completed" || got.Rollout.CompletedAt == nil {
		t.Fatalf("after rollout: %s %+v", got.Status, got.Rollout)
	}
	if e := specOf(t, got).Env; !reflect.DeepEqual(e, map[string]string{"C": "3"}) {
		t.Fatalf("env after update: %v", e)
	}

	// An update without version uses the current one; a spec without
	// replicas keeps the current scale.
	var noRep map[string]any
	_ = json.Unmarshal(newSpec, &noRep)
	delete(noRep, "replicas")
	noRep["labels"] = map[string]any{"app": "shop", "v": "2"}
	b, _ := json.Marshal(noRep)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, &up)
	if *up.Service.Desired != 2 || up.Service.Labels["v"] != "2" {
		t.Fatalf("update without replicas: desired %d labels %v", *up.Service.Desired, up.Service.Labels)
	}

	var del pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpDelete, pluginapi.DeleteRequest{Request: h.req(), ID: svc.ID}, &del)
	if del.Service.Status != pluginapi.StatusDeleting {
		t.Fatalf("delete: %+v", del.Service.Status)
	}
	wantCode(t, h.call(pluginapi.OpDelete, pluginapi.DeleteRequest{Request: h.req(), ID: svc.ID}, nil), pluginapi.CodeNotFound, "not found")
	wantCode(t, h.call(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: svc.ID}, nil), pluginapi.CodeNotFound, "not found")
}

func TestListFiltersAndPaging(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	for i := range 5 {
		team := "a"
		if i%2 == 1 {
			team = "b"
		}
		h.create(fmt.Sprintf(`{"name":"svc-%d","image":"x:1","replicas":%d,"labels":{"team":%q}}`, i, i, team))
	}
	h.create(`{"name":"agent","image":"x:1","mode":"global"}`)
	h.clk.Advance(time.Second)

	names := func(f map[string][]string, size int) ([]string, int) {
		var all []string
		token, pages := "", 0
		for {
			var resp pluginapi.ListResponse
			h.mustCall(pluginapi.OpList, pluginapi.ListRequest{Request: h.req(), Filters: f, PageSize: size, PageToken: token}, &resp)
			pages++
			for _, s := range resp.Services {
				all = append(all, s.Name)
			}
			if resp.NextPageToken == "" {
				return all, pages
			}
			token = resp.NextPageToken
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
	}
	for _, tc := range []struct {
		f     map[string][]string
		size  int
		want  string
		pages int
	}{
		{nil, 0, "[agent svc-0 svc-1 svc-2 svc-3 svc-4]", 1},
		{nil, 2, "[agent svc-0 svc-1 svc-2 svc-3 svc-4]", 3},
		{map[string][]string{"name": {"svc-"}}, 4, "[svc-0 svc-1 svc-2 svc-3 svc-4]", 2},
		{map[string][]string{"label": {"team=b"}}, 0, "[svc-1 svc-3]", 1},
		{map[string][]string{"label": {"team"}, "mode": {"replicated"}}, 0, "[svc-0 svc-1 svc-2 svc-3 svc-4]", 1},
		{map[string][]string{"mode": {"global"}}, 0, "[agent]", 1},
		{map[string][]string{"status": {"stopped"}}, 0, "[svc-0]", 1},
		{map[string][]string{"status": {"running"}, "label": {"team=a"}}, 0, "[svc-2 svc-4]", 1},
	} {
		got, pages := names(tc.f, tc.size)
		if fmt.Sprint(got) != tc.want || pages != tc.pages {
			t.Errorf("filters %v size %d: got %v in %d pages, want %s in %d", tc.f, tc.size, got, pages, tc.want, tc.pages)
		}
	}
	ids := h.emu.ServiceIDs()
	if got, _ := names(map[string][]string{"id": {ids[2]}}, 0); fmt.Sprint(got) != "[svc-2]" {
		t.Errorf("id filter: %v", got)
	}
	for _, tc := range []struct {
		req   pluginapi.ListRequest
		field string
	}{
		{pluginapi.ListRequest{Filters: map[string][]string{"color": {"red"}}}, "/filters/color"},
		{pluginapi.ListRequest{Filters: map[string][]string{"mode": {"sometimes"}}}, "/filters/mode"},
		{pluginapi.ListRequest{Filters: map[string][]string{"status": {"sleepy"}}}, "/filters/status"},
		{pluginapi.ListRequest{PageToken: "abc"}, "/page_token"},
	} {
		tc.req.Request = h.req()
		err := h.call(pluginapi.OpList, tc.req, nil)
		if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != tc.field {
			t.Errorf("%+v: %v", tc.req, err)
		}
	}
	// A page beyond the end is empty, not an error.
	var resp pluginapi.ListResponse
	h.mustCall(pluginapi.OpList, pluginapi.ListRequest{Request: h.req(), PageToken: "50"}, &resp)
	if len(resp.Services) != 0 || resp.NextPageToken != "" || resp.Services == nil {
		t.Fatalf("page past the end: %+v", resp)
	}
}

func TestInstances(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	other := h.create(`{"name":"other","image":"x:1"}`)
	instances := func(f map[string][]string) []pluginapi.Instance {
		var resp pluginapi.InstancesResponse
		h.mustCall(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, Filters: f}, &resp)
		return resp.Instances
	}
	list := instances(nil)
	if len(list) != 2 || list[0].Status != pluginapi.StatusPending || list[0].Name != "web.1" || list[1].Slot != 2 {
		t.Fatalf("instances at start: %+v", list)
	}
	h.clk.Advance(time.Second)
	list = instances(nil)
	if list[0].Status != pluginapi.StatusRunning || list[0].NativeStatus != "running" || list[0].DesiredState != "running" || list[0].Image != "x:1" || list[0].Node == "" {
		t.Fatalf("running instance: %+v", list[0])
	}
	// A restart replaces both tasks: 4 in all, 2 desired running.
	if _, err := h.lifecycle(svc.ID, pluginapi.ActionRestart, ""); err != nil {
		t.Fatal(err)
	}
	if all := instances(nil); len(all) != 4 || all[0].Slot != 1 || all[0].DesiredState != "running" || all[1].DesiredState != "shutdown" {
		t.Fatalf("after restart: %+v", all)
	}
	if got := instances(map[string][]string{"desired_state": {"running"}}); len(got) != 2 {
		t.Fatalf("desired_state filter: %d", len(got))
	}
	if got := instances(map[string][]string{"name": {"web.2"}}); len(got) != 2 || got[0].Slot != 2 {
		t.Fatalf("name filter: %+v", got)
	}
	var one pluginapi.InstancesResponse
	h.mustCall(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, InstanceID: list[0].ID}, &one)
	if len(one.Instances) != 1 || one.Instances[0].ID != list[0].ID || len(one.Instances[0].Raw) == 0 {
		t.Fatalf("one instance: %+v", one)
	}
	err := h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: other.ID, InstanceID: list[0].ID}, nil)
	wantCode(t, err, pluginapi.CodeNotFound, "not a task of service other")
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, InstanceID: "nope"}, nil)
	wantCode(t, err, pluginapi.CodeNotFound, "not found")
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, Filters: map[string][]string{"desired_state": {"dreaming"}}}, nil)
	if err == nil || err.Field != "/filters/desired_state" {
		t.Fatalf("bad desired_state: %v", err)
	}
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, Filters: map[string][]string{"color": {"x"}}}, nil)
	if err == nil || err.Field != "/filters/color" {
		t.Fatalf("bad filter: %v", err)
	}
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: "missing"}, nil)
	wantCode(t, err, pluginapi.CodeNotFound, "not found")
}

func TestLifecycle(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1","replicas":3}`)
	h.clk.Advance(time.Second)
	wantActions(t, h.get(svc.ID), "stop", "restart", "scale") // nothing to roll back to yet

	// scale
	s, err := h.lifecycle(svc.ID, pluginapi.ActionScale, `{"replicas":5}`)
	if err != nil || *s.Desired != 5 {
		t.Fatalf("scale: %v %+v", err, s.Desired)
	}
	if s.Status != pluginapi.StatusDeploying && s.Status != pluginapi.StatusUpdating {
		t.Fatalf("scaling up status %s", s.Status)
	}
	h.clk.Advance(time.Second)
	if s = h.get(svc.ID); s.Status != pluginapi.StatusRunning || *s.Running != 5 {
		t.Fatalf("after scale: %s %d", s.Status, *s.Running)
	}
	for _, params := range []string{"", `{}`, `{"replicas":-1}`, `{"replicas":"x"}`} {
		_, err := h.lifecycle(svc.ID, pluginapi.ActionScale, params)
		if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/replicas" {
			t.Errorf("scale %q: %v", params, err)
		}
	}

	// stop remembers the count, start brings it back
	s, err = h.lifecycle(svc.ID, pluginapi.ActionStop, "")
	if err != nil || s.Status != pluginapi.StatusStopped || *s.Desired != 0 || rawLabels(t, s)[labelPreviousReplicas] != "5" {
		t.Fatalf("stop: %v %s %v", err, s.Status, rawLabels(t, s))
	}
	if _, shown := s.Labels[labelPreviousReplicas]; shown {
		t.Fatalf("the plugin's bookkeeping label is shown: %v", s.Labels)
	}
	wantActions(t, s, "start", "scale", "rollback")
	if sp := specOf(t, s); sp.Labels[labelPreviousReplicas] != "" {
		t.Fatal("internal label leaked into the friendly spec")
	}
	if s2, err := h.lifecycle(svc.ID, pluginapi.ActionStop, ""); err != nil || s2.Version != s.Version {
		t.Fatalf("stop twice should change nothing: %v", err)
	}
	// An update of the stopped service keeps the remembered count.
	sp := specOf(t, s)
	sp.Image = "x:2"
	b, _ := json.Marshal(sp)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, &up)
	if rawLabels(t, *up.Service)[labelPreviousReplicas] != "5" {
		t.Fatalf("update lost the remembered replicas: %v", rawLabels(t, *up.Service))
	}
	// So does an update of the labels users see.
	sp.Labels = map[string]string{"team": "shop"}
	b, _ = json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, &up)
	if l := rawLabels(t, *up.Service); l[labelPreviousReplicas] != "5" || l["team"] != "shop" {
		t.Fatalf("a labels update lost the remembered replicas: %v", l)
	}
	s, err = h.lifecycle(svc.ID, pluginapi.ActionStart, "")
	if err != nil || *s.Desired != 5 || rawLabels(t, s)[labelPreviousReplicas] != "" {
		t.Fatalf("start: %v %d %v", err, *s.Desired, rawLabels(t, s))
	}
	wantActions(t, s, "stop", "restart", "scale", "rollback")
	h.clk.Advance(time.Second)

	// restart bumps ForceUpdate and rolls out
	before := h.get(svc.ID)
	s, err = h.lifecycle(svc.ID, pluginapi.ActionRestart, "")
	if err != nil || s.Status != pluginapi.StatusUpdating {
		t.Fatalf("restart: %v %s", err, s.Status)
	}
	var rb, ra swarm.Service
	_ = json.Unmarshal(before.Raw, &rb)
	_ = json.Unmarshal(s.Raw, &ra)
	if ra.Spec.TaskTemplate.ForceUpdate != rb.Spec.TaskTemplate.ForceUpdate+1 {
		t.Fatalf("force update %d -> %d", rb.Spec.TaskTemplate.ForceUpdate, ra.Spec.TaskTemplate.ForceUpdate)
	}
	h.clk.Advance(time.Second)

	// rollback goes back to the previous spec
	s, err = h.lifecycle(svc.ID, pluginapi.ActionRollback, "")
	if err != nil || s.Status != pluginapi.StatusUpdating || s.Rollout == nil || !s.Rollout.Rollback || s.Rollout.State != "rollback_started" {
		t.Fatalf("rollback: %v %+v", err, s.Rollout)
	}
	h.clk.Advance(time.Second)
	if s = h.get(svc.ID); s.Rollout.State != "rollback_completed" || s.Status != pluginapi.StatusRunning {
		t.Fatalf("after rollback: %s %+v", s.Status, s.Rollout)
	}

	fresh := h.create(`{"name":"fresh","image":"x:1"}`)
	wantActions(t, fresh, "stop", "restart", "scale")
	_, err = h.lifecycle(fresh.ID, pluginapi.ActionRollback, "")
	wantCode(t, err, pluginapi.CodeConflict, "nothing to roll back to")

	global := h.create(`{"name":"agent","image":"x:1","mode":"global"}`)
	wantActions(t, global, "restart")
	for _, a := range []string{pluginapi.ActionScale, pluginapi.ActionStop, pluginapi.ActionStart} {
		_, err := h.lifecycle(global.ID, a, `{"replicas":2}`)
		if err == nil || err.Code != pluginapi.CodeInvalid || !strings.Contains(err.Message, "replicated services only") {
			t.Errorf("%s on global: %v", a, err)
		}
	}
	_, err = h.lifecycle(svc.ID, "dance", "")
	if err == nil || err.Field != "/action" {
		t.Fatalf("unknown action: %v", err)
	}
	_, err = h.lifecycle("missing", pluginapi.ActionRestart, "")
	wantCode(t, err, pluginapi.CodeNotFound, "not found")
}

// TestFailedStatus: a crashing image is reported failed, and an update to
// it pauses (failed) with the engine's message.
func TestFailedStatus(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"crashy","image":"app:crash","replicas":2}`)
	h.clk.Advance(time.Second)
	s := h.get(svc.ID)
	if s.Status != pluginapi.StatusFailed || !strings.Contains(s.StatusMessage, "non-zero exit") {
		t.Fatalf("crashing service: %s %q", s.Status, s.StatusMessage)
	}
	ok := h.create(`{"name":"ok","image":"app:1","replicas":1}`)
	h.clk.Advance(time.Second)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: ok.ID, Spec: json.RawMessage(`{"name":"ok","image":"app:crash","replicas":1}`)}, &up)
	h.clk.Advance(time.Second)
	s = h.get(ok.ID)
	if s.Status != pluginapi.StatusFailed || s.NativeStatus != "paused" || !strings.Contains(s.StatusMessage, "update paused") {
		t.Fatalf("paused update: %s %s %q", s.Status, s.NativeStatus, s.StatusMessage)
	}
	// A list shows the same statuses.
	var list pluginapi.ListResponse
	h.mustCall(pluginapi.OpList, pluginapi.ListRequest{Request: h.req(), Filters: map[string][]string{"status": {"failed"}}}, &list)
	if len(list.Services) != 2 {
		t.Fatalf("failed services listed: %d", len(list.Services))
	}
}

func TestEngineErrors(t *testing.T) {
	// Not part of a swarm.
	h := newHarness(t, dockeremu.Options{NotInSwarm: true})
	err := h.call(pluginapi.OpList, pluginapi.ListRequest{Request: h.req()}, nil)
	wantCode(t, err, pluginapi.CodeUnavailable, "docker swarm init")
	if !err.Retryable {
		t.Error("unavailable should be retryable")
	}

	// Nothing listening on a tcp port.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	for _, host := range []string{"tcp://" + addr, "unix://" + filepath.Join(t.TempDir(), "missing.sock")} {
		cfg, _ := json.Marshal(map[string]string{"host": host})
		d := &harness{t: t, cfg: cfg, doer: newHostDoer(t, host)}
		d.ctx = plugin.WithDoer(t.Context(), d.doer)
		err := d.call(pluginapi.OpGet, pluginapi.GetRequest{Request: d.req(), ID: "x"}, nil)
		wantCode(t, err, pluginapi.CodeUnavailable, "cannot reach the Docker engine at "+host)
	}

	// A bad api_version in the config names the field.
	cfg, _ := json.Marshal(map[string]string{"host": "tcp://" + addr, "api_version": "latest"})
	d := &harness{t: t, cfg: cfg, doer: newHostDoer(t, "tcp://"+addr)}
	d.ctx = plugin.WithDoer(t.Context(), d.doer)
	if err := d.call(pluginapi.OpList, pluginapi.ListRequest{Request: d.req()}, nil); err == nil || err.Field != "/api_version" {
		t.Fatalf("bad api_version: %v", err)
	}
}

// TestVersionNegotiation: the plugin pings once, caps at what it speaks and
// uses the versioned paths; a configured api_version skips the ping.
func TestVersionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		engine, config, want string
		pings                int
	}{
		{"1.41", "", "/v1.41/", 1},
		{"1.51", "", "/v" + maxAPIVersion + "/", 1},
		{"1.51", "1.43", "/v1.43/", 0},
	} {
		emu := dockeremu.New(dockeremu.Options{APIVersion: tc.engine})
		srv := httptest.NewServer(emu)
		cfg, _ := json.Marshal(map[string]string{"host": srv.URL, "api_version": tc.config})
		h := &harness{t: t, cfg: cfg, doer: newHostDoer(t, srv.URL)}
		h.ctx = plugin.WithDoer(t.Context(), h.doer)
		for range 2 {
			h.mustCall(pluginapi.OpList, pluginapi.ListRequest{Request: h.req()}, nil)
		}
		pings := 0
		for _, p := range h.doer.paths {
			if strings.HasSuffix(p, "/_ping") {
				pings++
			} else if !strings.Contains(p, tc.want) {
				t.Errorf("engine %s config %q: path %s, want %s", tc.engine, tc.config, p, tc.want)
			}
		}
		if pings != tc.pings {
			t.Errorf("engine %s config %q: %d pings", tc.engine, tc.config, pings)
		}
		srv.Close()
	}
}

// TestServiceSpecIsValidInput: the spec a get returns, as stored or with
// the engine's defaults, passes the spec schema and the plugin's checks,
// so that an edit form can send it back unchanged.
func TestServiceSpecIsValidInput(t *testing.T) {
	sch, err := schema.Compile(provider{}.Describe().SpecSchema)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dockeremu.Options{})
	h.createRefs()
	for _, spec := range []string{
		fullSpec,
		templateSpec,
		`{"name":"minimal","image":"x:1"}`,
		`{"name":"agent","image":"x:1","mode":"global","ports":[{"target":9100}]}`,
		`{"name":"batch","image":"x:1","mode":"replicated-job","replicas":4,"max_concurrent":2}`,
		`{"name":"once","image":"x:1","mode":"global-job","endpoint_mode":"dnsrr"}`,
	} {
		svc := h.create(spec)
		for _, defaults := range []bool{true, false} {
			got := h.getWith(svc.ID, defaults).Spec
			if err := sch.Validate(got); err != nil {
				t.Errorf("%s: spec back (defaults %v) %s: %v", svc.Name, defaults, got, err)
			}
			if _, err := decodeSpec(got); err != nil {
				t.Errorf("%s: spec back (defaults %v) %s: %v", svc.Name, defaults, got, err)
			}
		}
		got := h.get(svc.ID)
		// Sending it back unchanged keeps the task template as the engine has it.
		var up pluginapi.ServiceResponse
		h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: got.Spec, Version: got.Version}, &up)
		if string(up.Service.Spec) != string(got.Spec) {
			t.Errorf("%s: spec changed by a no-op update:\n%s\n%s", svc.Name, got.Spec, up.Service.Spec)
		}
	}
}

// TestJobStatus follows a replicated job of 4 completions, 2 at a time.
func TestJobStatus(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"batch","image":"x:1","mode":"replicated-job","replicas":4,"max_concurrent":2}`)
	if svc.Status != pluginapi.StatusDeploying {
		t.Fatalf("new job: %s", svc.Status)
	}
	wantActions(t, svc, "restart") // a job has no replicas to scale, and no rollback
	for _, step := range []struct {
		advance time.Duration
		status  pluginapi.Status
		native  string
	}{
		{700 * time.Millisecond, pluginapi.StatusRunning, "job running 2, completed 0"},
		{1200 * time.Millisecond, pluginapi.StatusRunning, "job running 0, completed 2"},
		{600 * time.Millisecond, pluginapi.StatusRunning, "job running 2, completed 2"},
		{2 * time.Second, pluginapi.StatusStopped, "job running 0, completed 4"},
	} {
		h.clk.Advance(step.advance)
		got := h.get(svc.ID)
		if got.Status != step.status || got.NativeStatus != step.native {
			t.Fatalf("after %v: %s %q, want %s %q", step.advance, got.Status, got.NativeStatus, step.status, step.native)
		}
	}
	var inst pluginapi.InstancesResponse
	h.mustCall(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID}, &inst)
	if len(inst.Instances) != 4 || inst.Instances[3].NativeStatus != "complete" || inst.Instances[3].Status != pluginapi.StatusStopped {
		t.Fatalf("job tasks: %+v", inst.Instances)
	}
}

// wantActions checks a service's actions_available, in order.
func wantActions(t *testing.T, s pluginapi.Service, want ...string) {
	t.Helper()
	if s.ActionsAvailable == nil || strings.Join(s.ActionsAvailable, ",") != strings.Join(want, ",") {
		t.Errorf("%s (%s): actions available %#v, want %q", s.Name, s.Status, s.ActionsAvailable, want)
	}
}

// rawLabels are the labels the engine stores, the plugin's own included.
func rawLabels(t *testing.T, s pluginapi.Service) map[string]string {
	t.Helper()
	var raw swarm.Service
	if err := json.Unmarshal(s.Raw, &raw); err != nil {
		t.Fatalf("raw of %s: %v", s.Name, err)
	}
	return raw.Spec.Labels
}

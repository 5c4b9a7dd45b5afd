package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/pluginapi"
)

func fargate(name string) map[string]any {
	return map[string]any{
		"service_name": name, "task_definition": "web:1", "desired_count": 2, "launch_type": "FARGATE",
		"network_configuration":    map[string]any{"subnets": []string{"subnet-1"}, "assign_public_ip": true},
		"deployment_configuration": map[string]any{"maximum_percent": 200, "minimum_healthy_percent": 50},
		"tags":                     map[string]string{"team": "a", "drop": "me"},
	}
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	s := e.create(fargate("shop"))
	if s.ID != "shop" || s.Status != pluginapi.StatusDeploying || *s.Desired != 2 || *s.Running != 0 || s.Rollout == nil || s.Rollout.State != "IN_PROGRESS" {
		t.Fatalf("created: %+v", s)
	}
	e.clk.Advance(step)
	if s = e.get("shop"); s.Status != pluginapi.StatusDeploying || *s.Running != 1 {
		t.Fatalf("half way: %s running %d", s.Status, *s.Running)
	}
	e.clk.Advance(step)
	s = e.get("shop")
	if s.Status != pluginapi.StatusRunning || *s.Running != 2 || s.Rollout.State != "COMPLETED" || s.Rollout.CompletedAt == nil || s.Labels["team"] != "a" {
		t.Fatalf("running: %+v", s)
	}
	var sp spec
	if err := json.Unmarshal(s.Spec, &sp); err != nil || sp.TaskDefinition != "web:1" || sp.NetworkConfiguration == nil || !sp.NetworkConfiguration.AssignPublicIP ||
		*sp.DeploymentConfiguration.MinimumHealthyPercent != 50 || sp.Tags["team"] != "a" {
		t.Fatalf("spec round trip: %s", s.Spec)
	}
	// A get by ARN works too.
	if arn := e.get("arn:aws:ecs:us-east-1:123456789012:service/default/shop"); arn.ID != "shop" {
		t.Fatal("get by ARN")
	}

	// Update: new revision, 3 tasks, tags changed, log settings remembered.
	upd := fargate("shop")
	upd["task_definition"], upd["desired_count"] = "web:2", 3
	upd["tags"] = map[string]string{"team": "b", "new": "x"}
	upd["container_name"] = "web"
	s = e.service("update", map[string]any{"id": "shop", "spec": upd})
	if s.Status != pluginapi.StatusUpdating || s.Image != "web:2" || *s.Desired != 3 {
		t.Fatalf("updated: %s %s %d", s.Status, s.Image, *s.Desired)
	}
	if s.Labels["team"] != "b" || s.Labels["new"] != "x" || s.Labels["drop"] != "" || rawTag(t, s, tagContainerName) != "web" {
		t.Fatalf("labels after update: %v", s.Labels)
	}
	e.clk.Advance(3 * step)
	if s = e.get("shop"); s.Status != pluginapi.StatusRunning || *s.Running != 3 {
		t.Fatalf("after update: %s %d", s.Status, *s.Running)
	}
	json.Unmarshal(s.Spec, &sp)
	if sp.ContainerName != "web" || sp.Tags[tagContainerName] != "" {
		t.Fatalf("log settings in spec: %s", s.Spec)
	}
	// Fields ECS cannot change are refused, naming the field.
	bad := fargate("shop")
	bad["launch_type"] = "EC2"
	bad["network_configuration"] = map[string]any{"subnets": []string{"s"}}
	err := e.call("update", map[string]any{"id": "shop", "spec": bad}, nil)
	if wantCode(t, err, pluginapi.CodeInvalid); err.Field != "/launch_type" {
		t.Fatalf("field %q", err.Field)
	}

	// Lifecycle: scale, stop (remember count), start (restore), restart.
	lc := func(action string, params any) *pluginapi.Service {
		req := map[string]any{"id": "shop", "action": action}
		if params != nil {
			req["params"] = params
		}
		return e.service("lifecycle", req)
	}
	if s = lc("scale", map[string]int{"replicas": 4}); *s.Desired != 4 || s.Status != pluginapi.StatusUpdating {
		t.Fatalf("scale: %d %s", *s.Desired, s.Status)
	}
	e.clk.Advance(step)
	if s = e.get("shop"); s.Status != pluginapi.StatusRunning || *s.Running != 4 {
		t.Fatalf("scaled: %s %d", s.Status, *s.Running)
	}
	wantCode(t, e.call("lifecycle", map[string]any{"id": "shop", "action": "scale", "params": map[string]int{"replicas": -1}}, nil), pluginapi.CodeInvalid)
	wantCode(t, e.call("lifecycle", map[string]any{"id": "shop", "action": "scale"}, nil), pluginapi.CodeInvalid)
	wantCode(t, e.call("lifecycle", map[string]any{"id": "shop", "action": "explode"}, nil), pluginapi.CodeInvalid)

	s = lc("stop", nil)
	if *s.Desired != 0 || rawTag(t, s, tagPrevDesired) != "4" {
		t.Fatalf("stop: desired %d raw %s", *s.Desired, s.Raw)
	}
	if _, shown := s.Labels[tagPrevDesired]; shown {
		t.Fatalf("the plugin's bookkeeping tag is shown among the labels: %v", s.Labels)
	}
	if strings.Join(s.ActionsAvailable, ",") != "scale,start,rollback" {
		t.Errorf("stopped: actions available %q", s.ActionsAvailable)
	}
	if s = e.get("shop"); s.Status != pluginapi.StatusStopped || *s.Running != 0 {
		t.Fatalf("stopped: %s %d", s.Status, *s.Running)
	}
	if s = lc("stop", nil); rawTag(t, s, tagPrevDesired) != "4" {
		t.Fatal("a second stop forgot the count")
	}
	// The remembered count survives an update of the spec (which syncs tags).
	upd["desired_count"] = 0
	e.service("update", map[string]any{"id": "shop", "spec": upd})
	s = lc("start", nil)
	if *s.Desired != 4 || rawTag(t, s, tagPrevDesired) != "" {
		t.Fatalf("start: desired %d raw %s", *s.Desired, s.Raw)
	}
	if strings.Join(s.ActionsAvailable, ",") != "scale,restart,stop,rollback" {
		t.Errorf("started: actions available %q", s.ActionsAvailable)
	}
	e.clk.Advance(4 * step)
	deps := e.doer.count("UpdateService")
	s = lc("restart", nil)
	if s.Status != pluginapi.StatusUpdating || e.doer.count("UpdateService") != deps+1 {
		t.Fatalf("restart: %s", s.Status)
	}
	e.clk.Advance(5 * step)

	// Delete: refused while tasks are desired, then deleting, then gone.
	err = e.call("delete", map[string]any{"id": "shop"}, nil)
	if wantCode(t, err, pluginapi.CodeConflict); !strings.Contains(err.Message, "force") {
		t.Fatalf("hint missing: %s", err.Message)
	}
	s = e.service("delete", map[string]any{"id": "shop", "force": true})
	if s.Status != pluginapi.StatusDeleting || s.NativeStatus != "DRAINING" {
		t.Fatalf("deleted: %s", s.Status)
	}
	if s = e.get("shop"); s.Status != pluginapi.StatusDeleting {
		t.Fatalf("draining: %s", s.Status)
	}
	e.clk.Advance(5 * step)
	wantCode(t, e.call("get", map[string]any{"id": "shop"}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("delete", map[string]any{"id": "shop", "force": true}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("update", map[string]any{"id": "shop", "spec": fargate("shop")}, nil), pluginapi.CodeNotFound)
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "dup", "task_definition": "worker", "desired_count": 0})
	cases := []struct {
		name  string
		spec  map[string]any
		code  pluginapi.Code
		field string
	}{
		{"duplicate", map[string]any{"service_name": "dup", "task_definition": "worker"}, pluginapi.CodeConflict, ""},
		{"missing task definition", map[string]any{"service_name": "x", "task_definition": "ghost:1"}, pluginapi.CodeInvalid, "/task_definition"},
		{"no name", map[string]any{"task_definition": "web"}, pluginapi.CodeInvalid, "/service_name"},
		{"bad launch type", map[string]any{"service_name": "x", "task_definition": "web", "launch_type": "MOON"}, pluginapi.CodeInvalid, "/launch_type"},
		{"fargate without network", map[string]any{"service_name": "x", "task_definition": "web", "launch_type": "FARGATE"}, pluginapi.CodeInvalid, "/network_configuration"},
		{"negative count", map[string]any{"service_name": "x", "task_definition": "web", "desired_count": -2}, pluginapi.CodeInvalid, "/desired_count"},
		{"unknown field", map[string]any{"service_name": "x", "task_definition": "web", "replicas": 2}, pluginapi.CodeInvalid, "/replicas"},
		{"wrong type", map[string]any{"service_name": "x", "task_definition": "web", "desired_count": "two"}, pluginapi.CodeInvalid, "/desired_count"},
		{"reserved tag", map[string]any{"service_name": "x", "task_definition": "web", "tags": map[string]string{"wharf:x": "1"}}, pluginapi.CodeInvalid, "/tags/wharf:x"},
		{"daemon with count", map[string]any{"service_name": "x", "task_definition": "web", "scheduling_strategy": "DAEMON", "desired_count": 1}, pluginapi.CodeInvalid, "/desired_count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.call("create", map[string]any{"spec": c.spec}, nil)
			wantCode(t, err, c.code)
			if err.Field != c.field {
				t.Fatalf("field %q, want %q (%s)", err.Field, c.field, err.Message)
			}
		})
	}
	// A DAEMON service runs one task per instance and cannot be scaled.
	d := e.create(map[string]any{"service_name": "agent", "task_definition": "worker", "scheduling_strategy": "DAEMON"})
	if *d.Desired != 2 {
		t.Fatalf("daemon desired %d", *d.Desired)
	}
	wantCode(t, e.call("lifecycle", map[string]any{"id": "agent", "action": "scale", "params": map[string]int{"replicas": 3}}, nil), pluginapi.CodeInvalid)
	wantCode(t, e.call("get", map[string]any{"id": "no/such"}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("get", map[string]any{"id": "ghost"}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("get", map[string]any{"id": "dup", "config": json.RawMessage(`{"cluster":"default"}`)}, nil), pluginapi.CodeInvalid)
	err := e.call("get", map[string]any{"id": "dup", "config": json.RawMessage(`{"region":"us-east-1","cluster":"nope","endpoint":"` + e.url + `"}`)}, nil)
	wantCode(t, err, pluginapi.CodeNotFound)
}

func TestAuthErrors(t *testing.T) {
	throttled := false
	e := newEnv(t, ecsemu.Options{
		Credentials: []ecsemu.Credential{{AccessKeyID: "AKID", SecretAccessKey: "s3cret", SessionToken: "tok"}, {AccessKeyID: "RO", SecretAccessKey: "ro", ReadOnly: true}},
		Throttle:    func(op string) bool { return throttled && op == "ListServices" },
	})
	if e.cfg["session_token"] != "tok" {
		t.Fatal("demo config lacks the session token")
	}
	e.must("list", map[string]any{}, nil)
	for _, c := range []struct {
		name string
		set  map[string]any
		code pluginapi.Code
	}{
		{"wrong secret", map[string]any{"secret_access_key": "nope"}, pluginapi.CodeUnauthorized},
		{"unknown key", map[string]any{"access_key_id": "AKIDX"}, pluginapi.CodeUnauthorized},
		{"no session token", map[string]any{"session_token": ""}, pluginapi.CodeUnauthorized},
		{"wrong region", map[string]any{"region": "eu-west-1"}, pluginapi.CodeUnauthorized},
		{"read only create", map[string]any{"access_key_id": "RO", "secret_access_key": "ro", "session_token": ""}, pluginapi.CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			saved := map[string]any{}
			for k, v := range c.set {
				saved[k] = e.cfg[k]
				e.cfg[k] = v
			}
			defer func() {
				for k, v := range saved {
					e.cfg[k] = v
				}
			}()
			err := e.call("create", map[string]any{"spec": map[string]any{"service_name": "x", "task_definition": "web"}}, nil)
			wantCode(t, err, c.code)
			if err.Detail["aws_error"] == "" {
				t.Fatalf("no aws_error detail: %+v", err)
			}
		})
	}
	throttled = true
	err := e.call("list", map[string]any{}, nil)
	if wantCode(t, err, pluginapi.CodeUnavailable); !err.Retryable {
		t.Fatal("throttling is retryable")
	}
}

func TestDefaultEndpointFollowsRegion(t *testing.T) {
	rec := &recordingDoer{}
	ctx := withDoer(rec)
	cfg := json.RawMessage(`{"region":"eu-west-3"}`)
	provider{}.Get(ctx, &pluginapi.GetRequest{Request: pluginapi.Request{Config: cfg}, ID: "web"})
	provider{}.Logs(ctx, &pluginapi.LogsRequest{Request: pluginapi.Request{Config: cfg}, ID: "web"})
	if len(rec.reqs) == 0 {
		t.Fatal("no request")
	}
	// Always through the endpoints, never an absolute URL: credentials go
	// only to a connection's endpoints (ABI 1.2).
	r := rec.reqs[0]
	if r.Endpoint != "endpoint" || r.URL != "" || r.Path != "/" || r.Auth.Region != "eu-west-3" || r.Auth.Service != "ecs" ||
		r.Auth.AccessKey != "access_key_id" || r.Auth.Secret != "secret_access_key" || r.Auth.SessionToken != "session_token" ||
		r.Headers["Content-Type"] != "application/x-amz-json-1.1" || r.Headers["X-Amz-Target"] != "AmazonEC2ContainerServiceV20141113.DescribeServices" {
		t.Fatalf("request: %+v auth %+v", r, r.Auth)
	}
	for _, r := range rec.reqs {
		if r.URL != "" || (r.Auth.Service == "logs") != (r.Endpoint == "logs_endpoint") {
			t.Fatalf("request %+v", r)
		}
	}
	// The schema's defaults expand to the regional AWS endpoints.
	d := provider{}.Describe()
	if len(d.Hosts) != 0 {
		t.Fatalf("hosts %v: none are needed", d.Hosts)
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(d.ConfigSchema, &schema); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"endpoint": "https://ecs.eu-west-3.amazonaws.com", "logs_endpoint": "https://logs.eu-west-3.amazonaws.com"} {
		tmpl, _ := schema.Properties[field][pluginapi.KeyEndpointDefault].(string)
		if got, err := egress.ExpandEndpoint(tmpl, map[string]any{"region": "eu-west-3"}); err != nil || got != want {
			t.Errorf("%s default %q expands to %q, %v; want %q", field, tmpl, got, err, want)
		}
	}
}

func TestConformanceFile(t *testing.T) {
	b, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		CreateSpec     map[string]any `json:"create_spec"`
		UpdateSpec     map[string]any `json:"update_spec"`
		InvalidSpec    map[string]any `json:"invalid_spec"`
		InvalidField   string         `json:"invalid_field"`
		BadCredentials map[string]any `json:"bad_credentials"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	schema := compileSchema(t, provider{}.Describe().SpecSchema)
	for name, sp := range map[string]map[string]any{"create_spec": c.CreateSpec, "update_spec": c.UpdateSpec} {
		if err := validate(schema, sp); err != nil {
			t.Fatalf("%s against the spec schema: %v", name, err)
		}
	}
	if err := validate(schema, c.InvalidSpec); err == nil || !strings.Contains(fmt.Sprint(err), c.InvalidField) {
		t.Fatalf("invalid_spec: %v, want an error at %s", err, c.InvalidField)
	}
	// And the plugin itself, against the emulator with its demo config.
	e := newEnv(t, ecsemu.Options{})
	perr := e.call("create", map[string]any{"spec": c.InvalidSpec}, nil)
	if wantCode(t, perr, pluginapi.CodeInvalid); perr.Field != c.InvalidField {
		t.Fatalf("plugin field %q", perr.Field)
	}
	s := e.create(c.CreateSpec)
	e.clk.Advance(5 * step)
	s = e.service("update", map[string]any{"id": s.ID, "spec": c.UpdateSpec})
	if string(s.Spec) == "" {
		t.Fatal("no spec")
	}
	for k, v := range c.BadCredentials {
		e.cfg[k] = v
	}
	wantCode(t, e.call("get", map[string]any{"id": s.ID}, nil), pluginapi.CodeUnauthorized)
}

func TestDescribe(t *testing.T) {
	d := provider{}.Describe()
	cfg := compileSchema(t, d.ConfigSchema)
	if err := validate(cfg, map[string]any{"region": "us-east-1", "access_key_id": "a", "secret_access_key": "b", "endpoint": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if err := validate(cfg, map[string]any{"cluster": "x"}); err == nil {
		t.Fatal("region must be required")
	}
	var props struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	json.Unmarshal(d.ConfigSchema, &props)
	for _, k := range []string{"access_key_id", "secret_access_key", "session_token"} {
		if props.Properties[k]["x-secret"] != true {
			t.Fatalf("%s not secret", k)
		}
	}
	for _, k := range []string{"endpoint", "logs_endpoint"} {
		if props.Properties[k]["x-endpoint"] != true {
			t.Fatalf("%s not an endpoint", k)
		}
	}
	json.Unmarshal(d.SpecSchema, &props)
	for name, p := range props.Properties {
		if p["title"] == nil || p["description"] == nil {
			t.Fatalf("spec property %s lacks title or description", name)
		}
	}
	for _, op := range pluginapi.RequiredOperations {
		if !d.Supports(op) {
			t.Fatalf("missing %s", op)
		}
	}
	if !d.Supports(pluginapi.OpInstances) || !d.Supports(pluginapi.OpDeployments) || d.Supports(pluginapi.OpInvoke) {
		t.Fatalf("operations %v", d.Operations)
	}
	if _, ok := d.Action(pluginapi.ActionRollback); !ok {
		t.Fatal("no rollback action")
	}
}

// rawTag is a tag as ECS stores it, the plugin's own included.
func rawTag(t *testing.T, s *pluginapi.Service, key string) string {
	t.Helper()
	var raw ecsService
	if err := json.Unmarshal(s.Raw, &raw); err != nil {
		t.Fatalf("raw: %v", err)
	}
	v, _ := raw.tag(key)
	return v
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

// engineCall speaks to the emulated engine directly, as the docker CLI or
// docker-py would, beside the plugin.
func (h *harness) engineCall(method, path string, body []byte) []byte {
	h.t.Helper()
	req := httptest.NewRequest(method, "/v1.47"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.emu.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		h.t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// inspect reads the service as the engine stores it.
func (h *harness) inspect(id string) swarm.Service {
	h.t.Helper()
	var svc swarm.Service
	if err := json.Unmarshal(h.engineCall("GET", "/services/"+id, nil), &svc); err != nil {
		h.t.Fatal(err)
	}
	return svc
}

// taskIDs lists the service's tasks that should be running.
func (h *harness) taskIDs(id string) []string {
	h.t.Helper()
	var tasks []swarm.Task
	if err := json.Unmarshal(h.engineCall("GET", `/tasks?filters={"service":{"`+id+`":true}}`, nil), &tasks); err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskStateRunning {
			ids = append(ids, t.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// outsideSpec is a service as the docker CLI makes it with settings the
// plugin's spec schema has no field for (docker service create --hostname
// h1 --read-only --stop-grace-period 3s --mount type=tmpfs,... --health-cmd
// ... --placement-pref spread=... --network name=front,alias=web -p name=http...).
const outsideSpec = `{
  "Name": "demo",
  "Labels": {"x": "y"},
  "TaskTemplate": {
    "ContainerSpec": {
      "Image": "nginx:1.27",
      "Hostname": "h1",
      "ReadOnly": true,
      "StopGracePeriod": 3000000000,
      "StopSignal": "SIGQUIT",
      "Init": true,
      "Mounts": [{"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1048576}}],
      "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5000000000},
      "CapabilityAdd": ["CAP_NET_ADMIN"]
    },
    "Placement": {"Constraints": ["node.role==manager"], "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}], "MaxReplicas": 4},
    "Resources": {"Limits": {"MemoryBytes": 268435456, "Pids": 100}},
    "Networks": [{"Target": "front", "Aliases": ["web"]}]
  },
  "Mode": {"Replicated": {"Replicas": 2}},
  "EndpointSpec": {"Ports": [{"Name": "http", "Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080}]}
}`

// checkOutside fails unless every setting of outsideSpec is still there.
func checkOutside(t *testing.T, what string, svc swarm.Service) {
	t.Helper()
	tt := svc.Spec.TaskTemplate
	cs := tt.ContainerSpec
	switch {
	case cs.Hostname != "h1":
		t.Errorf("%s: Hostname %q, want h1", what, cs.Hostname)
	case !cs.ReadOnly:
		t.Errorf("%s: ReadOnly lost", what)
	case cs.StopGracePeriod == nil || *cs.StopGracePeriod != 3*time.Second:
		t.Errorf("%s: StopGracePeriod %v, want 3s", what, cs.StopGracePeriod)
	case cs.StopSignal != "SIGQUIT" || cs.Init == nil || !*cs.Init:
		t.Errorf("%s: StopSignal %q Init %v", what, cs.StopSignal, cs.Init)
	case len(cs.Mounts) != 1 || cs.Mounts[0].Target != "/cache" || cs.Mounts[0].TmpfsOptions == nil:
		t.Errorf("%s: Mounts %+v", what, cs.Mounts)
	case cs.Healthcheck == nil || len(cs.Healthcheck.Test) != 2:
		t.Errorf("%s: Healthcheck %+v", what, cs.Healthcheck)
	case len(cs.CapabilityAdd) != 1:
		t.Errorf("%s: CapabilityAdd %v", what, cs.CapabilityAdd)
	case tt.Placement == nil || len(tt.Placement.Preferences) != 1 || tt.Placement.MaxReplicas != 4:
		t.Errorf("%s: Placement %+v", what, tt.Placement)
	case tt.Resources == nil || tt.Resources.Limits == nil || tt.Resources.Limits.Pids != 100:
		t.Errorf("%s: Resources %+v", what, tt.Resources)
	case len(tt.Networks) != 1 || !slices.Equal(tt.Networks[0].Aliases, []string{"web"}):
		t.Errorf("%s: Networks %+v", what, tt.Networks)
	case svc.Spec.EndpointSpec == nil || len(svc.Spec.EndpointSpec.Ports) != 1 || svc.Spec.EndpointSpec.Ports[0].Name != "http":
		t.Errorf("%s: EndpointSpec %+v", what, svc.Spec.EndpointSpec)
	}
}

// TestUpdateKeepsWhatWharfDoesNotModel is the attack of issue 11 item 1: a
// service made outside Wharf, patched through Wharf, must keep every
// setting Wharf has no field for, and a change that tasks do not see must
// not redeploy them.
func TestUpdateKeepsWhatWharfDoesNotModel(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	var created swarm.ServiceCreateResponse
	_ = json.Unmarshal(h.engineCall("POST", "/services/create", []byte(outsideSpec)), &created)
	h.clk.Advance(time.Second)
	checkOutside(t, "as created", h.inspect(created.ID))
	tasks := h.taskIDs(created.ID)

	// What the host does for PATCH {"labels": {"x": "y", "patched": "1"}}:
	// the merge patch onto the spec read back, with the version read.
	got := h.get(created.ID)
	sp := specOf(t, got)
	sp.Labels["patched"] = "1"
	b, _ := json.Marshal(sp)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: created.ID, Spec: b, Version: got.Version}, &up)

	after := h.inspect(created.ID)
	checkOutside(t, "after a label patch", after)
	if after.Spec.Labels["patched"] != "1" || after.Spec.Labels["x"] != "y" {
		t.Errorf("labels after the patch: %v", after.Spec.Labels)
	}
	if after.UpdateStatus != nil {
		t.Errorf("a label change started a rollout: %+v", after.UpdateStatus)
	}
	h.clk.Advance(time.Second)
	if now := h.taskIDs(created.ID); !slices.Equal(now, tasks) {
		t.Errorf("a label change redeployed the tasks: %v -> %v", tasks, now)
	}
	if up.Service.Status != pluginapi.StatusRunning {
		t.Errorf("status after a label change: %s (%s)", up.Service.Status, up.Service.NativeStatus)
	}

	// A modeled field of the task changes: the unmodeled ones still stay.
	got = h.get(created.ID)
	sp = specOf(t, got)
	sp.Image = "nginx:1.28"
	sp.Env = map[string]string{"A": "1"}
	b, _ = json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: created.ID, Spec: b, Version: got.Version}, &up)
	after = h.inspect(created.ID)
	checkOutside(t, "after an image change", after)
	if cs := after.Spec.TaskTemplate.ContainerSpec; cs.Image != "nginx:1.28" || !slices.Equal(cs.Env, []string{"A=1"}) {
		t.Errorf("image change not applied: %s %v", cs.Image, cs.Env)
	}
	h.clk.Advance(time.Second)

	// The lifecycle actions post specs too.
	for _, a := range []struct{ action, params string }{
		{pluginapi.ActionScale, `{"replicas":3}`}, {pluginapi.ActionStop, ""}, {pluginapi.ActionStart, ""}, {pluginapi.ActionRestart, ""},
	} {
		if _, err := h.lifecycle(created.ID, a.action, a.params); err != nil {
			t.Fatalf("%s: %v", a.action, err)
		}
		checkOutside(t, "after "+a.action, h.inspect(created.ID))
		h.clk.Advance(time.Second)
	}
	if r := h.inspect(created.ID).Spec.Mode.Replicated.Replicas; *r != 3 {
		t.Errorf("replicas after scale, stop, start: %d", *r)
	}
}

// TestNoOpUpdateChangesNothing: an update whose spec is the one read back
// does not reach the engine, so neither the version nor the tasks move.
func TestNoOpUpdateChangesNothing(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	for _, spec := range []string{fullSpec, `{"name":"plain","image":"x:1"}`} {
		svc := h.create(spec)
		h.clk.Advance(time.Second)
		before := h.inspect(svc.ID)
		tasks := h.taskIDs(svc.ID)
		got := h.get(svc.ID)
		var up pluginapi.ServiceResponse
		h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: got.Spec, Version: got.Version}, &up)
		after := h.inspect(svc.ID)
		if after.Version.Index != before.Version.Index {
			t.Errorf("%s: a no-op update moved the version %d -> %d", svc.Name, before.Version.Index, after.Version.Index)
		}
		if now := h.taskIDs(svc.ID); !slices.Equal(now, tasks) {
			t.Errorf("%s: a no-op update redeployed: %v -> %v", svc.Name, tasks, now)
		}
		if up.Service.Version != got.Version {
			t.Errorf("%s: answered version %s, want %s", svc.Name, up.Service.Version, got.Version)
		}
		// A stale version is still a conflict, change or not.
		sp := specOf(t, got)
		sp.Labels = map[string]string{"bump": "1"}
		b, _ := json.Marshal(sp)
		h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: got.Version}, nil)
		err := h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: got.Version}, nil)
		wantCode(t, err, pluginapi.CodeConflict, "update out of sequence")
	}
	// Scaling to the current count and stopping a stopped service post nothing.
	svc := h.create(`{"name":"scaled","image":"x:1","replicas":2}`)
	v := h.inspect(svc.ID).Version.Index
	if _, err := h.lifecycle(svc.ID, pluginapi.ActionScale, `{"replicas":2}`); err != nil {
		t.Fatal(err)
	}
	if now := h.inspect(svc.ID).Version.Index; now != v {
		t.Errorf("scale to the same count moved the version %d -> %d", v, now)
	}
}

// TestUpdatePassesUnknownMembersThrough: members no engine type knows yet
// (a later engine's fields) go back byte for byte, at every level.
func TestUpdatePassesUnknownMembersThrough(t *testing.T) {
	raw := []byte(`{"ID":"abc","Version":{"Index":7},"Spec":{"Name":"demo","Future":{"a":[1,2.50,"\u003c"]},` +
		`"Labels":{"x":"y"},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:1.27","Env":["B=2","A=1"],"Shiny":"new \"quoted\""},` +
		`"Networks":[{"Target":"front","Aliases":["web"],"Later":true}]},"Mode":{"Replicated":{"Replicas":2,"Extra":0}}}}`)
	stored, err := decodeService(raw)
	if err != nil {
		t.Fatal(err)
	}
	noDefaults := func() (swarm.ServiceSpec, error) { return stored.Spec, nil }
	noRefs := func(*Spec, bool, bool) (refIDs, error) { return refIDs{}, nil }
	base := specFromSwarm(stored.Spec)

	// The spec read back, unchanged (env in another order): nothing to post.
	if _, changed, err := planUpdate(&base, stored, raw, noDefaults, noRefs); err != nil || changed {
		t.Fatalf("unchanged spec: changed %v, %v", changed, err)
	}

	s := base
	s.Labels = map[string]string{"x": "y", "patched": "1"}
	replicas := 3
	s.Replicas = &replicas
	s.Networks = append(base.Networks[:1:1], Network{Target: "back"})
	body, changed, err := planUpdate(&s, stored, raw, noDefaults, noRefs)
	if err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	for _, keep := range []string{`"Future":{"a":[1,2.50,"\u003c"]}`, `"Shiny":"new \"quoted\""`, `"Env":["B=2","A=1"]`,
		`{"Target":"front","Aliases":["web"],"Later":true},{"Target":"back"}`, `"Replicated":{"Replicas":3,"Extra":0}`,
		`"Labels":{"patched":"1","x":"y"}`} {
		if !bytes.Contains(body, []byte(keep)) {
			t.Errorf("posted spec lacks %s:\n%s", keep, body)
		}
	}
	var back swarm.ServiceSpec
	if err := json.Unmarshal(body, &back); err != nil {
		t.Fatalf("posted spec is not JSON: %v\n%s", err, body)
	}
}

// TestUpdateDefaultsViewIsNoChange: the spec a get with insert_defaults
// shows has the engine's defaults filled in (docker service inspect, and
// what a docker-py user may edit); sending it back must not write them
// into the stored spec (the real engine would then restart every task).
func TestUpdateDefaultsViewIsNoChange(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"bare","image":"x:1"}`)
	got := *h.getWith(svc.ID, true)
	if sp := specOf(t, got); sp.RestartPolicy == nil || sp.UpdateConfig == nil {
		t.Fatalf("the get should show the engine's defaults: %s", got.Spec)
	}
	before := h.inspect(svc.ID)
	var sp map[string]any
	_ = json.Unmarshal(got.Spec, &sp)
	sp["labels"] = map[string]any{"team": "a"}
	b, _ := json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: got.Version}, nil)
	after := h.inspect(svc.ID)
	if after.Spec.Labels["team"] != "a" {
		t.Fatalf("labels %v", after.Spec.Labels)
	}
	if a, b := jsonOf(after.Spec.TaskTemplate), jsonOf(before.Spec.TaskTemplate); !bytes.Equal(a, b) {
		t.Errorf("the task template changed:\n%s\n%s", b, a)
	}
	if after.Spec.UpdateConfig != nil || after.Spec.RollbackConfig != nil || after.Spec.EndpointSpec != nil {
		t.Errorf("defaults written back: %+v %+v %+v", after.Spec.UpdateConfig, after.Spec.RollbackConfig, after.Spec.EndpointSpec)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

// rawSpec decodes the engine's Spec out of a service's raw object.
func rawSpec(t *testing.T, s *pluginapi.Service) swarm.ServiceSpec {
	t.Helper()
	var svc swarm.Service
	if err := json.Unmarshal(s.Raw, &svc); err != nil {
		t.Fatalf("raw service: %v", err)
	}
	return svc.Spec
}

func (h *harness) getWith(id string, defaults bool) *pluginapi.Service {
	h.t.Helper()
	var resp pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: id, InsertDefaults: defaults}, &resp)
	return resp.Service
}

// A plain get is the spec as stored (docker-py's inspect_service); with
// insert_defaults, the engine's defaults are filled in.
func TestGetInsertDefaults(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1"}`)
	plain := h.getWith(svc.ID, false)
	if rs := rawSpec(t, plain); rs.TaskTemplate.ContainerSpec.StopGracePeriod != nil || rs.UpdateConfig != nil {
		t.Fatalf("plain get has defaults: %s", plain.Raw)
	}
	def := h.getWith(svc.ID, true)
	rs := rawSpec(t, def)
	if rs.TaskTemplate.ContainerSpec.StopGracePeriod == nil || *rs.TaskTemplate.ContainerSpec.StopGracePeriod != 10*time.Second ||
		rs.UpdateConfig == nil || rs.UpdateConfig.Parallelism != 1 {
		t.Fatalf("get with defaults: %s", def.Raw)
	}
	if sp := specOf(t, *def); sp.RestartPolicy == nil || sp.RestartPolicy.Condition != "any" {
		t.Fatalf("friendly spec with defaults: %s", def.Spec)
	}
	if sp := specOf(t, *plain); sp.RestartPolicy != nil {
		t.Fatalf("friendly spec as stored: %s", plain.Spec)
	}
	// A plain get after a defaults get is still plain.
	if rs := rawSpec(t, h.getWith(svc.ID, false)); rs.UpdateConfig != nil {
		t.Fatal("a plain get after a defaults get shows defaults")
	}
}

func (h *harness) instances(req pluginapi.InstancesRequest) *pluginapi.InstancesResponse {
	h.t.Helper()
	req.Request = h.req()
	var resp pluginapi.InstancesResponse
	h.mustCall(pluginapi.OpInstances, req, &resp)
	return &resp
}

// After an update, desired_state=shutdown lists the old tasks only and
// running the new ones.
func TestInstancesDesiredStateAfterUpdate(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	h.clk.Advance(time.Second)
	cur := h.get(svc.ID)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: json.RawMessage(`{"name":"web","image":"x:2","replicas":2}`), Version: cur.Version}, &up)
	h.clk.Advance(time.Minute)
	byState := func(state string) []pluginapi.Instance {
		return h.instances(pluginapi.InstancesRequest{ID: svc.ID, Filters: map[string][]string{"desired_state": {state}}}).Instances
	}
	old, running := byState("shutdown"), byState("running")
	if len(old) != 2 || len(running) != 2 {
		t.Fatalf("shutdown %d, running %d tasks; want 2 and 2", len(old), len(running))
	}
	for _, in := range old {
		if in.Image != "x:1" || in.DesiredState != "shutdown" || in.ServiceName != "web" || in.ServiceID != svc.ID {
			t.Fatalf("old task: %+v", in)
		}
	}
	for _, in := range running {
		if in.Image != "x:2" || in.DesiredState != "running" {
			t.Fatalf("new task: %+v", in)
		}
	}
	if all := h.instances(pluginapi.InstancesRequest{ID: svc.ID}).Instances; len(all) != 4 {
		t.Fatalf("unfiltered: %d tasks", len(all))
	}
	err := h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, Services: []string{"web"}}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/services" {
		t.Fatalf("services with an id: %v", err)
	}
}

// With an empty id the plugin lists the tasks of every service, named
// from one /services call, paged.
func TestAllTasks(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	web := h.create(`{"name":"web","image":"x:1","replicas":3}`)
	h.create(`{"name":"api","image":"y:1","replicas":2}`)
	h.clk.Advance(time.Second)

	h.doer.mu.Lock()
	h.doer.paths = nil
	h.doer.mu.Unlock()
	all := h.instances(pluginapi.InstancesRequest{}).Instances
	var names []string
	for _, in := range all {
		names = append(names, in.Name)
		if in.ServiceID == "" || !strings.HasPrefix(in.Name, in.ServiceName+".") {
			t.Fatalf("instance without its service: %+v", in)
		}
	}
	if got := strings.Join(names, " "); got != "api.1 api.2 web.1 web.2 web.3" {
		t.Fatalf("all tasks: %s", got)
	}
	h.doer.mu.Lock()
	calls := strings.Join(h.doer.paths, ", ")
	h.doer.mu.Unlock()
	if strings.Count(calls, "/services") != 1 {
		t.Fatalf("names resolved with %s", calls)
	}

	// By service name or id, and with filters.
	if got := h.instances(pluginapi.InstancesRequest{Services: []string{"web"}}).Instances; len(got) != 3 || got[0].ServiceName != "web" {
		t.Fatalf("service web: %+v", got)
	}
	if got := h.instances(pluginapi.InstancesRequest{Services: []string{web.ID, "api"}, Filters: map[string][]string{"name": {"api.2"}}}).Instances; len(got) != 1 || got[0].Name != "api.2" {
		t.Fatalf("name filter across services: %+v", got)
	}
	err := h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), Services: []string{"nope"}}, nil)
	if err == nil || err.Code != pluginapi.CodeNotFound {
		t.Fatalf("unknown service: %v", err)
	}
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), Filters: map[string][]string{"colour": {"red"}}}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/filters/colour" {
		t.Fatalf("unknown filter: %v", err)
	}

	// Pages of 2 cover everything once, in order.
	var paged []string
	token := ""
	for range 10 {
		resp := h.instances(pluginapi.InstancesRequest{PageSize: 2, PageToken: token})
		if len(resp.Instances) > 2 {
			t.Fatalf("page of %d", len(resp.Instances))
		}
		for _, in := range resp.Instances {
			paged = append(paged, in.Name)
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if strings.Join(paged, " ") != strings.Join(names, " ") {
		t.Fatalf("paged %v, whole %v", paged, names)
	}
	err = h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), PageToken: "x"}, nil)
	if err == nil || err.Field != "/page_token" {
		t.Fatalf("bad page token: %v", err)
	}
}

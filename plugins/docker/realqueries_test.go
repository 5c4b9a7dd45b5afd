package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestRealEngineQueries checks the get and instance query options against
// the Docker engine on this machine: after an update, desired_state
// shutdown lists the old task only; the connection-wide listing finds the
// service's tasks by name; insert_defaults shows what the stored spec
// leaves out.
func TestRealEngineQueries(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-q-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	svc := h.create(fmt.Sprintf(`{"name":%q,"image":%q,"replicas":1,"env":{"V":"1"},
		"update_config":{"parallelism":0,"monitor":"1s","order":"start-first"}}`, name, testImage()))
	waitFor(t, "1 running task", func() bool {
		s := h.get(svc.ID)
		return s.Status == pluginapi.StatusRunning && *s.Running == 1
	})

	plain, def := h.getWith(svc.ID, false), h.getWith(svc.ID, true)
	if rs := rawSpec(t, plain); rs.TaskTemplate.ContainerSpec.StopGracePeriod != nil || rs.RollbackConfig != nil {
		t.Fatalf("plain get has defaults: %s", plain.Raw)
	}
	if rs := rawSpec(t, def); rs.TaskTemplate.ContainerSpec.StopGracePeriod == nil || rs.RollbackConfig == nil {
		t.Fatalf("get with defaults lacks them: %s", def.Raw)
	}

	before := h.instances(pluginapi.InstancesRequest{ID: svc.ID}).Instances
	if len(before) != 1 {
		t.Fatalf("tasks before the update: %+v", before)
	}
	cur := h.get(svc.ID)
	sp := specOf(t, cur)
	sp.Env["V"] = "2"
	b, _ := json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: cur.Version}, nil)
	waitFor(t, "update completed", func() bool {
		s := h.get(svc.ID)
		return s.Rollout != nil && s.Rollout.State == "completed" && s.Status == pluginapi.StatusRunning
	})
	byState := func(state string) []pluginapi.Instance {
		return h.instances(pluginapi.InstancesRequest{ID: svc.ID, Filters: map[string][]string{"desired_state": {state}}}).Instances
	}
	old := byState("shutdown")
	if len(old) != 1 || old[0].ID != before[0].ID || old[0].DesiredState != "shutdown" {
		t.Fatalf("desired_state=shutdown after the update: %+v (the old task is %s)", old, before[0].ID)
	}
	running := byState("running")
	if len(running) != 1 || running[0].ID == before[0].ID {
		t.Fatalf("desired_state=running after the update: %+v", running)
	}

	// Connection-wide, by service name: both tasks, named after the service.
	all := h.instances(pluginapi.InstancesRequest{Services: []string{name}})
	if len(all.Instances) != 2 || all.Instances[0].ServiceName != name || all.Instances[0].Name != name+".1" || all.Instances[0].ServiceID != svc.ID {
		t.Fatalf("connection-wide listing of %s: %+v", name, all.Instances)
	}
	if got := h.instances(pluginapi.InstancesRequest{Services: []string{name}, Filters: map[string][]string{"desired_state": {"running"}}}).Instances; len(got) != 1 || got[0].ID != running[0].ID {
		t.Fatalf("connection-wide running tasks of %s: %+v", name, got)
	}
	err := h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), Services: []string{name + "-missing"}}, nil)
	if err == nil || err.Code != pluginapi.CodeNotFound {
		t.Fatalf("connection-wide listing of a missing service: %v", err)
	}
}

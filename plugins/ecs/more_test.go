package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

func TestListPaging(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	want := map[string]bool{}
	for i := 0; i < 23; i++ {
		name := fmt.Sprintf("svc-%02d", i)
		lt := "EC2"
		if i%4 == 0 {
			lt = "EXTERNAL"
		}
		e.create(map[string]any{"service_name": name, "task_definition": "worker", "desired_count": 0, "launch_type": lt})
		want[name] = true
	}
	list := func(filters map[string][]string, size int) []pluginapi.Service {
		t.Helper()
		var all []pluginapi.Service
		token := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatal("paging does not end")
			}
			req := map[string]any{"page_size": size, "filters": filters}
			if token != "" {
				req["page_token"] = token
			}
			var r pluginapi.ListResponse
			e.must("list", req, &r)
			if len(r.Services) > size {
				t.Fatalf("page of %d > %d", len(r.Services), size)
			}
			all = append(all, r.Services...)
			if token = r.NextPageToken; token == "" {
				return all
			}
		}
	}
	seen := map[string]int{}
	for _, s := range list(nil, 5) {
		seen[s.Name]++
		if s.Status != pluginapi.StatusStopped {
			t.Fatalf("%s: %s", s.Name, s.Status)
		}
	}
	for name := range want {
		if seen[name] != 1 {
			t.Fatalf("%s seen %d times", name, seen[name])
		}
	}
	if len(seen) != 23 {
		t.Fatalf("listed %d", len(seen))
	}
	// One launch type is filtered by ECS, several here; name matches a substring.
	if n := len(list(map[string][]string{"launch_type": {"EXTERNAL"}}, 100)); n != 6 {
		t.Fatalf("EXTERNAL: %d", n)
	}
	if n := len(list(map[string][]string{"launch_type": {"EXTERNAL", "EC2"}}, 100)); n != 23 {
		t.Fatalf("EXTERNAL or EC2: %d", n)
	}
	if got := list(map[string][]string{"name": {"svc-1"}}, 100); len(got) != 10 {
		t.Fatalf("name svc-1: %d", len(got))
	}
	if got := list(map[string][]string{"scheduling_strategy": {"DAEMON"}}, 100); len(got) != 0 {
		t.Fatalf("DAEMON: %d", len(got))
	}
	if err := e.call("list", map[string]any{"filters": map[string][]string{"color": {"red"}}}, nil); err == nil || err.Field != "/filters/color" {
		t.Fatalf("unknown filter: %v", err)
	}
	if err := e.call("list", map[string]any{"page_token": "junk"}, nil); err == nil || err.Code != pluginapi.CodeInvalid {
		t.Fatalf("bad token: %v", err)
	}
	// Deleted services leave the list.
	e.service("delete", map[string]any{"id": "svc-00"})
	if n := len(list(nil, 100)); n != 22 {
		t.Fatalf("after delete: %d", n)
	}
}

func TestDeployments(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "api", "task_definition": "web:1", "desired_count": 1})
	times := []time.Time{e.clk.Now()}
	for i := 0; i < 4; i++ {
		e.clk.Advance(2 * step)
		times = append(times, e.clk.Now())
		e.service("lifecycle", map[string]any{"id": "api", "action": "restart"})
	}
	deps := func(req map[string]any) []pluginapi.Deployment {
		t.Helper()
		req["id"] = "api"
		var all []pluginapi.Deployment
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			var r pluginapi.DeploymentsResponse
			e.must("deployments", req, &r)
			all = append(all, r.Deployments...)
			if r.NextPageToken == "" {
				return all
			}
			req["page_token"] = r.NextPageToken
		}
	}
	all := deps(map[string]any{"page_size": 2})
	if len(all) != 5 {
		t.Fatalf("deployments: %d", len(all))
	}
	ids := map[string]bool{}
	for i, d := range all {
		if ids[d.ID] {
			t.Fatal("repeated across pages")
		}
		ids[d.ID] = true
		if i > 0 && d.CreatedAt.After(*all[i-1].CreatedAt) {
			t.Fatal("not newest first")
		}
		if !strings.Contains(d.Target, ":service-revision/") || d.StartedAt == nil {
			t.Fatalf("deployment: %+v", d)
		}
	}
	if all[0].Status != "IN_PROGRESS" || all[1].Status != "SUCCESSFUL" || all[1].FinishedAt == nil {
		t.Fatalf("statuses %s %s", all[0].Status, all[1].Status)
	}
	if got := deps(map[string]any{"status": []string{"SUCCESSFUL"}}); len(got) != 4 {
		t.Fatalf("SUCCESSFUL: %d", len(got))
	}
	if got := deps(map[string]any{"status": []string{"IN_PROGRESS", "ROLLBACK_IN_PROGRESS"}}); len(got) != 1 {
		t.Fatalf("in progress: %d", len(got))
	}
	got := deps(map[string]any{"created_after": times[1], "created_before": times[4]})
	if len(got) != 2 || !got[0].CreatedAt.Equal(times[3]) || !got[1].CreatedAt.Equal(times[2]) {
		t.Fatalf("window: %+v", got)
	}
	if got := deps(map[string]any{"created_after": times[4]}); len(got) != 0 {
		t.Fatalf("after the last: %d", len(got))
	}
	err := e.call("deployments", map[string]any{"id": "api", "status": []string{"SUCCESSFUL", "DONE"}}, nil)
	if wantCode(t, err, pluginapi.CodeInvalid); err.Field != "/status/1" {
		t.Fatalf("field %q", err.Field)
	}
	wantCode(t, e.call("deployments", map[string]any{"id": "ghost"}, nil), pluginapi.CodeNotFound)

	// One by id.
	var one pluginapi.DeploymentsResponse
	e.must("deployments", map[string]any{"id": "api", "deployment_id": all[1].ID}, &one)
	if len(one.Deployments) != 1 || one.Deployments[0].ID != all[1].ID || one.Deployments[0].Status != "SUCCESSFUL" {
		t.Fatalf("one: %+v", one.Deployments)
	}
	wantCode(t, e.call("deployments", map[string]any{"id": "api", "deployment_id": "nope"}, nil), pluginapi.CodeNotFound)

	// Roll back the one in progress; then nothing is in progress.
	s := e.service("lifecycle", map[string]any{"id": "api", "action": "rollback"})
	if s.Status != pluginapi.StatusUpdating {
		t.Fatalf("rollback: %s", s.Status)
	}
	e.must("deployments", map[string]any{"id": "api", "deployment_id": all[0].ID}, &one)
	if one.Deployments[0].Status != "ROLLBACK_REQUESTED" || !one.Deployments[0].Rollback {
		t.Fatalf("after rollback: %+v", one.Deployments[0])
	}
	e.clk.Advance(step / 2)
	if s = e.get("api"); !s.Rollout.Rollback || s.Status != pluginapi.StatusUpdating {
		t.Fatalf("rolling back: %+v", s.Rollout)
	}
	e.clk.Advance(step)
	e.must("deployments", map[string]any{"id": "api", "deployment_id": all[0].ID}, &one)
	if one.Deployments[0].Status != "ROLLBACK_SUCCESSFUL" {
		t.Fatalf("rolled back: %s", one.Deployments[0].Status)
	}
	if s = e.get("api"); s.Status != pluginapi.StatusRunning {
		t.Fatalf("after rollback: %s", s.Status)
	}
	err = e.call("lifecycle", map[string]any{"id": "api", "action": "rollback"}, nil)
	wantCode(t, err, pluginapi.CodeConflict)
}

func TestFailedDeployment(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "cb", "task_definition": "web:1", "desired_count": 1,
		"deployment_configuration": map[string]any{"circuit_breaker": map[string]any{"enable": true}}})
	e.clk.Advance(step)
	e.service("update", map[string]any{"id": "cb", "spec": map[string]any{"service_name": "cb", "task_definition": "crashloop", "desired_count": 1,
		"deployment_configuration": map[string]any{"circuit_breaker": map[string]any{"enable": true}}}})
	e.clk.Advance(3 * step)
	s := e.get("cb")
	if s.Status != pluginapi.StatusFailed || s.Rollout.State != "FAILED" || !strings.Contains(s.Rollout.Message, "circuit breaker") {
		t.Fatalf("failed: %s %+v", s.Status, s.Rollout)
	}
	var r pluginapi.InstancesResponse
	e.must("instances", map[string]any{"id": "cb", "filters": map[string][]string{"desired_state": {"STOPPED"}}}, &r)
	failed := 0
	for _, in := range r.Instances {
		if in.Status == pluginapi.StatusFailed {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("failed tasks: %+v", r.Instances)
	}
}

func TestInstances(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "w", "task_definition": "web:1", "desired_count": 2})
	var r pluginapi.InstancesResponse
	e.must("instances", map[string]any{"id": "w"}, &r)
	if len(r.Instances) != 2 || r.Instances[0].Status != pluginapi.StatusPending {
		t.Fatalf("pending: %+v", r.Instances)
	}
	e.clk.Advance(2 * step)
	e.service("lifecycle", map[string]any{"id": "w", "action": "scale", "params": map[string]int{"replicas": 1}})
	e.must("instances", map[string]any{"id": "w"}, &r)
	if len(r.Instances) != 2 || r.Instances[0].Status != pluginapi.StatusRunning || r.Instances[0].DesiredState != "RUNNING" ||
		r.Instances[1].Status != pluginapi.StatusStopped || r.Instances[1].Message == "" || !strings.Contains(r.Instances[0].Image, "nginx") {
		t.Fatalf("instances: %+v", r.Instances)
	}
	id := r.Instances[0].ID
	var one pluginapi.InstancesResponse
	e.must("instances", map[string]any{"id": "w", "instance_id": id}, &one)
	if len(one.Instances) != 1 || one.Instances[0].ID != id || one.Instances[0].CreatedAt == nil || len(one.Instances[0].Raw) == 0 {
		t.Fatalf("one: %+v", one.Instances)
	}
	e.create(map[string]any{"service_name": "other", "task_definition": "worker", "desired_count": 0})
	wantCode(t, e.call("instances", map[string]any{"id": "other", "instance_id": id}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("instances", map[string]any{"id": "w", "instance_id": "feedface"}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("instances", map[string]any{"id": "ghost"}, nil), pluginapi.CodeNotFound)
	wantCode(t, e.call("instances", map[string]any{"id": "w", "filters": map[string][]string{"node": {"x"}}}, nil), pluginapi.CodeInvalid)
}

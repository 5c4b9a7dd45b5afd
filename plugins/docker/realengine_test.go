package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

const realSocket = "/var/run/docker.sock"

// realEngine returns a harness on the local Docker engine, or skips the
// test with the reason when there is no engine with an active swarm.
func realEngine(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("real engine test skipped in -short mode")
	}
	if _, err := os.Stat(realSocket); err != nil {
		t.Skipf("no Docker engine: %s is missing", realSocket)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", realSocket)
	}}}
	resp, err := client.Get("http://localhost/_ping")
	if err != nil {
		t.Skipf("no Docker engine answers on %s: %v", realSocket, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Skipf("Docker engine on %s answers /_ping with %d", realSocket, resp.StatusCode)
	}
	// Engines before API 1.42 do not send the Swarm header on /_ping: ask /info.
	resp, err = client.Get("http://localhost/info")
	if err != nil {
		t.Skipf("Docker engine /info: %v", err)
	}
	var info struct {
		Swarm struct{ LocalNodeState, ControlAvailable any }
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info.Swarm.LocalNodeState != "active" || info.Swarm.ControlAvailable != true {
		t.Skipf("the Docker engine on %s is not a swarm manager (state %v): run docker swarm init", realSocket, info.Swarm.LocalNodeState)
	}
	cfg, _ := json.Marshal(map[string]string{"host": "unix://" + realSocket})
	h := &harness{t: t, cfg: cfg, doer: newHostDoer(t, "unix://"+realSocket)}
	h.ctx = plugin.WithDoer(context.Background(), h.doer)
	return h
}

func testImage() string {
	if img := os.Getenv("WHARF_TEST_IMAGE"); img != "" {
		return img
	}
	return "ticker:1"
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// removeLater deletes a service from the real engine when the test ends,
// whatever happened.
func removeLater(t *testing.T, name string) {
	t.Cleanup(func() {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", realSocket)
		}}}
		req, _ := http.NewRequest("DELETE", "http://localhost/services/"+name, nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// TestRealEngine runs the plugin-level scenario against the Docker engine
// on this machine (CI builds the image named by WHARF_TEST_IMAGE, a
// program printing "tick N" every second).
func TestRealEngine(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-test-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	spec := fmt.Sprintf(`{"name":%q,"image":%q,"replicas":2,"labels":{"wharf-test":%q},"env":{"GREETING":"hi"},
		"restart_policy":{"condition":"any","delay":"1s"},
		"update_config":{"parallelism":0,"monitor":"1s","order":"start-first"},
		"rollback_config":{"parallelism":0,"monitor":"1s","order":"start-first"}}`, name, testImage(), name)
	svc := h.create(spec)
	if svc.Name != name || svc.Image != testImage() || svc.Version == "" {
		t.Fatalf("created %+v", svc)
	}
	err := h.call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(spec)}, nil)
	wantCode(t, err, pluginapi.CodeConflict, "already exists")

	waitFor(t, "2 running tasks", func() bool {
		s := h.get(svc.ID)
		return s.Status == pluginapi.StatusRunning && *s.Running == 2
	})
	got := h.get(name)
	if sp := specOf(t, got); sp.Env["GREETING"] != "hi" || *sp.Replicas != 2 || sp.RestartPolicy.Delay != "1s" || sp.UpdateConfig.Order != "start-first" {
		t.Fatalf("spec back: %s", got.Spec)
	}

	var list pluginapi.ListResponse
	h.mustCall(pluginapi.OpList, pluginapi.ListRequest{Request: h.req(), Filters: map[string][]string{"label": {"wharf-test=" + name}}}, &list)
	if len(list.Services) != 1 || list.Services[0].ID != svc.ID || list.Services[0].Status != pluginapi.StatusRunning {
		t.Fatalf("list by label: %+v", list.Services)
	}
	var inst pluginapi.InstancesResponse
	h.mustCall(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: svc.ID, Filters: map[string][]string{"desired_state": {"running"}}}, &inst)
	if len(inst.Instances) != 2 || inst.Instances[0].Status != pluginapi.StatusRunning || inst.Instances[0].Name != name+".1" {
		t.Fatalf("instances: %+v", inst.Instances)
	}

	// Logs: follow across calls, no line twice.
	var first pluginapi.LogsResponse
	waitFor(t, "log lines", func() bool {
		first = h.logs(pluginapi.LogsRequest{ID: svc.ID})
		return len(first.Entries) >= 4
	})
	seen := map[string]bool{}
	check := func(entries []pluginapi.LogEntry) {
		for _, e := range entries {
			if !strings.HasPrefix(e.Message, "tick ") || e.Time == nil || e.Instance == "" || (e.Stream != "stdout" && e.Stream != "stderr") {
				t.Fatalf("log entry %+v", e)
			}
			k := e.Instance + e.Time.String() + e.Message
			if seen[k] {
				t.Fatalf("line returned twice: %+v", e)
			}
			seen[k] = true
		}
	}
	check(first.Entries)
	cursor := first.Cursor
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		next := h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: cursor})
		check(next.Entries)
		cursor = next.Cursor
	}
	if len(seen) < len(first.Entries)+4 {
		t.Fatalf("following gave only %d new lines", len(seen)-len(first.Entries))
	}
	tail := h.logs(pluginapi.LogsRequest{ID: svc.ID, Tail: 3, Details: true})
	if len(tail.Entries) != 3 || tail.Entries[0].Details["com.docker.swarm.service.id"] != svc.ID {
		t.Fatalf("tail with details: %+v", tail.Entries)
	}

	// Update: a stale version is a conflict; then a real change rolls out.
	cur := h.get(svc.ID)
	sp := specOf(t, cur)
	sp.Env["GREETING"] = "hello"
	b, _ := json.Marshal(sp)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: cur.Version}, &up)
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: cur.Version}, nil)
	wantCode(t, err, pluginapi.CodeConflict, "update out of sequence")
	waitFor(t, "update completed", func() bool {
		s := h.get(svc.ID)
		return s.Rollout != nil && s.Rollout.State == "completed" && s.Status == pluginapi.StatusRunning
	})

	// Rollback to GREETING=hi.
	s, perr := h.lifecycle(svc.ID, pluginapi.ActionRollback, "")
	if perr != nil || s.Rollout == nil || !s.Rollout.Rollback {
		t.Fatalf("rollback: %v %+v", perr, s.Rollout)
	}
	waitFor(t, "rollback completed", func() bool {
		s := h.get(svc.ID)
		return s.Rollout.State == "rollback_completed" && s.Status == pluginapi.StatusRunning
	})
	if env := specOf(t, h.get(svc.ID)).Env["GREETING"]; env != "hi" {
		t.Fatalf("after rollback GREETING=%s", env)
	}

	// Scale, stop, start, restart.
	if s, perr = h.lifecycle(svc.ID, pluginapi.ActionScale, `{"replicas":1}`); perr != nil || *s.Desired != 1 {
		t.Fatalf("scale: %v", perr)
	}
	if s, perr = h.lifecycle(svc.ID, pluginapi.ActionStop, ""); perr != nil || s.Status != pluginapi.StatusStopped {
		t.Fatalf("stop: %v %s", perr, s.Status)
	}
	// The bookkeeping label is on the platform, not among the labels shown.
	var stopped swarm.Service
	_ = json.Unmarshal(s.Raw, &stopped)
	if stopped.Spec.Labels[labelPreviousReplicas] != "1" || s.Labels[labelPreviousReplicas] != "" {
		t.Fatalf("stop: label %s on the platform %q, shown %q", labelPreviousReplicas, stopped.Spec.Labels[labelPreviousReplicas], s.Labels[labelPreviousReplicas])
	}
	if s, perr = h.lifecycle(svc.ID, pluginapi.ActionStart, ""); perr != nil || *s.Desired != 1 {
		t.Fatalf("start: %v", perr)
	}
	waitFor(t, "started again", func() bool { return h.get(svc.ID).Status == pluginapi.StatusRunning })
	before := h.get(svc.ID)
	if s, perr = h.lifecycle(svc.ID, pluginapi.ActionRestart, ""); perr != nil {
		t.Fatalf("restart: %v", perr)
	}
	var rb, ra swarm.Service
	_ = json.Unmarshal(before.Raw, &rb)
	_ = json.Unmarshal(s.Raw, &ra)
	if ra.Spec.TaskTemplate.ForceUpdate != rb.Spec.TaskTemplate.ForceUpdate+1 {
		t.Fatal("restart did not bump ForceUpdate")
	}

	var del pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpDelete, pluginapi.DeleteRequest{Request: h.req(), ID: svc.ID}, &del)
	wantCode(t, h.call(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: svc.ID}, nil), pluginapi.CodeNotFound, "not found")
}

// TestRealEngineTTY checks logs of a TTY service (raw stream) on the real engine.
func TestRealEngineTTY(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-tty-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	svc := h.create(fmt.Sprintf(`{"name":%q,"image":%q,"tty":true}`, name, testImage()))
	var resp pluginapi.LogsResponse
	waitFor(t, "tty log lines", func() bool {
		resp = h.logs(pluginapi.LogsRequest{ID: svc.ID})
		return len(resp.Entries) >= 2
	})
	for _, e := range resp.Entries {
		if !strings.HasPrefix(e.Message, "tick ") || strings.ContainsAny(e.Message, "\r\x00\x01") || e.Time == nil || e.Instance == "" {
			t.Fatalf("tty entry %q %+v", e.Message, e)
		}
	}
}

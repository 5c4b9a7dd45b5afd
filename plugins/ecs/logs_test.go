package main

import (
	"strings"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

func (e *env) logs(req map[string]any) *pluginapi.LogsResponse {
	e.t.Helper()
	var r pluginapi.LogsResponse
	e.must("logs", req, &r)
	if r.Cursor == "" {
		e.t.Fatal("no cursor")
	}
	return &r
}

func TestLogsFollow(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "web", "task_definition": "web:1", "desired_count": 2})
	// Tasks run at 1 and 2 steps and log every half step: at 3 steps, 5 + 3 lines.
	e.clk.Advance(3 * step)

	got := map[string]int{} // "<task> line N" → times seen
	record := func(r *pluginapi.LogsResponse) {
		for i, en := range r.Entries {
			if i > 0 && en.Time.Before(*r.Entries[i-1].Time) {
				t.Fatal("entries not oldest first")
			}
			if !strings.HasPrefix(en.Message, "web "+en.Instance+" line ") {
				t.Fatalf("entry %+v", en)
			}
			got[strings.TrimPrefix(en.Message, "web ")]++
		}
	}
	r := e.logs(map[string]any{"id": "web"})
	record(r)
	if len(r.Entries) != 8 || r.More {
		t.Fatalf("first read: %d entries, more %v", len(r.Entries), r.More)
	}
	// Following: nothing new, then exactly the new lines.
	cursor := r.Cursor
	if r = e.logs(map[string]any{"id": "web", "cursor": cursor}); len(r.Entries) != 0 {
		t.Fatalf("nothing new expected: %+v", r.Entries)
	}
	cursor = r.Cursor
	e.clk.Advance(step)
	r = e.logs(map[string]any{"id": "web", "cursor": cursor})
	record(r)
	if len(r.Entries) != 4 {
		t.Fatalf("one step later: %d entries", len(r.Entries))
	}
	cursor = r.Cursor

	// A limit splits the output without losing or repeating lines.
	e.clk.Advance(2 * step)
	for calls := 0; ; calls++ {
		if calls > 10 {
			t.Fatal("more never ends")
		}
		r = e.logs(map[string]any{"id": "web", "cursor": cursor, "limit": 3})
		if len(r.Entries) > 3 {
			t.Fatalf("limit ignored: %d", len(r.Entries))
		}
		record(r)
		cursor = r.Cursor
		if !r.More {
			break
		}
	}
	for line, n := range got {
		if n != 1 {
			t.Fatalf("%s seen %d times", line, n)
		}
	}
	// Task 1 ran from 1 step to 6 steps: lines 1..11; task 2 from 2: lines 1..9.
	if len(got) != 20 {
		t.Fatalf("lines: %d", len(got))
	}

	// After a restart the old tasks stop, their streams are finished and new streams appear.
	e.service("lifecycle", map[string]any{"id": "web", "action": "restart"})
	e.clk.Advance(3 * step)
	r = e.logs(map[string]any{"id": "web", "cursor": cursor})
	record(r)
	e.clk.Advance(step)
	before := e.doer.count("GetLogEvents")
	r = e.logs(map[string]any{"id": "web", "cursor": r.Cursor})
	record(r)
	e.logs(map[string]any{"id": "web", "cursor": r.Cursor})
	if calls := e.doer.count("GetLogEvents") - before; calls > 2+2+2 {
		t.Fatalf("finished streams still polled: %d calls", calls)
	}
	for line, n := range got {
		if n != 1 {
			t.Fatalf("%s seen %d times", line, n)
		}
	}
	instances := map[string]bool{}
	for line := range got {
		instances[strings.Fields(line)[0]] = true
	}
	if len(instances) != 4 {
		t.Fatalf("instances in logs: %d", len(instances))
	}
}

func TestLogsTailSinceInstance(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "web", "task_definition": "web:1", "desired_count": 2})
	start := e.clk.Now()
	e.clk.Advance(3 * step)

	r := e.logs(map[string]any{"id": "web", "tail": 3, "details": true})
	if len(r.Entries) != 3 || r.Entries[2].Details["log_group"] != "/ecs/web" || !strings.HasPrefix(r.Entries[2].Details["log_stream"], "ecs/web/") {
		t.Fatalf("tail: %+v", r.Entries)
	}
	last := *r.Entries[2].Time
	if !last.Equal(start.Add(3 * step)) {
		t.Fatalf("last entry at %v", last)
	}
	// The tail's cursor follows from there.
	e.clk.Advance(step / 2)
	r = e.logs(map[string]any{"id": "web", "cursor": r.Cursor})
	if len(r.Entries) != 2 {
		t.Fatalf("after tail: %d", len(r.Entries))
	}

	since := start.Add(3 * step)
	r = e.logs(map[string]any{"id": "web", "since": since})
	for _, en := range r.Entries {
		if en.Time.Before(since) {
			t.Fatalf("entry before since: %v", en.Time)
		}
	}
	if len(r.Entries) != 4 {
		t.Fatalf("since: %d", len(r.Entries))
	}

	var inst pluginapi.InstancesResponse
	e.must("instances", map[string]any{"id": "web"}, &inst)
	one := inst.Instances[0].ID
	r = e.logs(map[string]any{"id": "web", "instance": one})
	for _, en := range r.Entries {
		if en.Instance != one {
			t.Fatalf("other instance %s", en.Instance)
		}
	}
	if len(r.Entries) == 0 {
		t.Fatal("no entries for the instance")
	}
	wantCode(t, e.call("logs", map[string]any{"id": "web", "cursor": "!!"}, nil), pluginapi.CodeInvalid)
	wantCode(t, e.call("logs", map[string]any{"id": "ghost"}, nil), pluginapi.CodeNotFound)
}

// TestLogsSpecOverrides: without awslogs discovery, the spec's log settings
// (kept in wharf: tags) or the connection's log_group_prefix are used.
func TestLogsSpecOverrides(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "web", "task_definition": "web:1", "desired_count": 1,
		"log_group": "/ecs/web", "log_stream_prefix": "ecs", "container_name": "web"})
	e.clk.Advance(2 * step)
	r := e.logs(map[string]any{"id": "web"})
	if len(r.Entries) != 3 {
		t.Fatalf("entries %d", len(r.Entries))
	}
	e.create(map[string]any{"service_name": "web2", "task_definition": "web:1", "desired_count": 1, "container_name": "sidecar"})
	err := e.call("logs", map[string]any{"id": "web2"}, nil)
	wantCode(t, err, pluginapi.CodeUnsupported)
	e.cfg["log_group_prefix"] = "/ecs/"
	// /ecs/web2 does not exist: no lines, no error.
	if r = e.logs(map[string]any{"id": "web2"}); len(r.Entries) != 0 {
		t.Fatalf("entries %d", len(r.Entries))
	}
}

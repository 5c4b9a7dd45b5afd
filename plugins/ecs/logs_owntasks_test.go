package main

import (
	"strings"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

// Two services whose task definitions share a family share a log group and
// an awslogs prefix: each one's logs must hold only its own tasks' lines,
// on a first read, a tail and a follow.
func TestLogsOnlyTheServicesOwnTasks(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "web", "task_definition": "web:1", "desired_count": 2})
	e.create(map[string]any{"service_name": "shadow", "task_definition": "web:1", "desired_count": 1})
	e.clk.Advance(3 * step)
	check := func(what, svc string, r map[string]int) {
		t.Helper()
		n := 0
		for msg, k := range r {
			if !strings.HasPrefix(msg, svc+" ") {
				t.Fatalf("%s of %s holds another service's line %q", what, svc, msg)
			}
			n += k
		}
		if n == 0 {
			t.Fatalf("%s of %s is empty", what, svc)
		}
	}
	for _, svc := range []string{"web", "shadow"} {
		first := e.logs(map[string]any{"id": svc})
		check("first read", svc, messages(first.Entries))
		check("tail", svc, messages(e.logs(map[string]any{"id": svc, "tail": 4}).Entries))
		e.clk.Advance(step)
		check("follow", svc, messages(e.logs(map[string]any{"id": svc, "cursor": first.Cursor}).Entries))
	}
	// Stopped tasks stay readable: after a restart the old task's lines are still there.
	e.service("lifecycle", map[string]any{"id": "shadow", "action": "restart"})
	e.clk.Advance(3 * step)
	r := messages(e.logs(map[string]any{"id": "shadow"}).Entries)
	check("after restart", "shadow", r)
	tasks := map[string]bool{}
	for msg := range r {
		tasks[strings.Fields(msg)[1]] = true
	}
	if len(tasks) != 2 {
		t.Fatalf("after a restart shadow's logs come from %d tasks, want the stopped and the new one: %v", len(tasks), r)
	}
}

// messages counts entries by message.
func messages(entries []pluginapi.LogEntry) map[string]int {
	out := map[string]int{}
	for _, en := range entries {
		out[en.Message]++
	}
	return out
}

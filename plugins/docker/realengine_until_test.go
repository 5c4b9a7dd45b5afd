package main

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestRealEngineLogsUntil: the engine ignores until on service logs (it
// answers every line), so the plugin cuts at until itself and says end once
// until is past on the engine's clock (its answers' Date).
func TestRealEngineLogsUntil(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-logsuntil-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	svc := h.create(fmt.Sprintf(`{"name":%q,"image":%q,"replicas":1}`, name, testImage()))
	var all []pluginapi.LogEntry
	waitFor(t, "6 log lines", func() bool {
		all = h.logs(pluginapi.LogsRequest{ID: svc.ID}).Entries
		return len(all) >= 6
	})
	until := *all[2].Time
	r := h.logs(pluginapi.LogsRequest{ID: svc.ID, Until: &until})
	if !reflect.DeepEqual(lines(r.Entries), lines(all[:3])) {
		t.Fatalf("until %v: %+v, want the first 3 lines of %+v", until, r.Entries, all)
	}
	if r.End && time.Since(until) < lagWindow {
		t.Fatalf("end only %v after until", time.Since(until))
	}
	if r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Until: &until, Tail: 2}); !reflect.DeepEqual(lines(r.Entries), lines(all[1:3])) {
		t.Fatalf("tail 2 before until: %+v", r.Entries)
	}
	// A follow with until a little ahead ends by itself.
	until = time.Now().Add(2 * time.Second)
	r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Tail: 1, Until: &until})
	waitFor(t, "the follow to end", func() bool {
		for _, e := range r.Entries {
			if e.Time.After(until) {
				t.Fatalf("line after until: %+v", e)
			}
		}
		if r.End && time.Since(until) < lagWindow {
			t.Fatalf("end only %v after until", time.Since(until))
		}
		if r.End {
			return true
		}
		r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: r.Cursor, Until: &until})
		return false
	})
}

package main

import (
	"reflect"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

// The engine has no until for service logs (the emulator ignores it as the
// real engine does), so the plugin cuts the lines itself.
func TestLogsUntil(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	h.clk.Advance(20 * time.Second)
	all := h.logs(pluginapi.LogsRequest{ID: svc.ID}).Entries
	until := *all[20].Time
	var want []pluginapi.LogEntry
	for _, e := range all {
		if !e.Time.After(until) {
			want = append(want, e)
		}
	}
	r := h.logs(pluginapi.LogsRequest{ID: svc.ID, Until: &until})
	if !reflect.DeepEqual(lines(r.Entries), lines(want)) {
		t.Fatalf("until: %d entries, want %d", len(r.Entries), len(want))
	}
	if !r.End {
		t.Fatalf("until is long past on the engine's clock: the answer must say end (more %v, %d entries)", r.More, len(r.Entries))
	}
	// The engine's tail counts from now: a tail before until is cut here.
	r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Until: &until, Tail: 3})
	if !reflect.DeepEqual(lines(r.Entries), lines(want[len(want)-3:])) {
		t.Fatalf("tail 3 before until: %+v", r.Entries)
	}

	// Following with until ahead: every line up to it once, then end, and
	// no end while until may still get lines.
	until = h.clk.Now().Add(3 * time.Second)
	r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Tail: 1, Until: &until})
	got := r.Entries
	for calls := 0; !r.End; calls++ {
		if calls > 50 {
			t.Fatal("the follow never ended")
		}
		h.clk.Advance(700 * time.Millisecond)
		r = h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: r.Cursor, Until: &until})
		if r.End && !h.clk.Now().Add(-lagWindow).After(until) {
			t.Fatalf("end at %v, before until %v plus the lag window", h.clk.Now(), until)
		}
		got = append(got, r.Entries...)
	}
	full := h.logs(pluginapi.LogsRequest{ID: svc.ID, Until: &until}).Entries
	if !reflect.DeepEqual(lines(got), lines(full[len(full)-len(got):])) || len(got) < 6 {
		t.Fatalf("follow until: %d lines, want the tail and every line after it up to until (%d in all)", len(got), len(full))
	}
	for _, e := range got {
		if e.Time.After(until) {
			t.Fatalf("line after until: %+v", e)
		}
	}
}

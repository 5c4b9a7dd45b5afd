package main

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

type logsEnv struct {
	*env
	id string
}

func (e logsEnv) logs(r pluginapi.LogsRequest) *pluginapi.LogsResponse {
	e.t.Helper()
	r.Request, r.ID = e.req(), e.id
	out, err := call[pluginapi.LogsResponse](e.env, "logs", r)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// Two instances log at the same instants (ties), four events a page.
func newLogsEnv(t *testing.T) logsEnv {
	e := newEnv(t, 4)
	sv := e.create(`{"version_id":"ver-1","instance_number":2}`)
	e.clock.Add(time.Second + 9*time.Second)
	return logsEnv{e, sv.ID}
}

func msgs(entries []pluginapi.LogEntry) []string {
	var out []string
	for _, en := range entries {
		out = append(out, en.Message)
	}
	return out
}

// forwardAll reads on from cursor until nothing more comes.
func (e logsEnv) forwardAll(cursor string) []string {
	var got []string
	for range 100 {
		r := e.logs(pluginapi.LogsRequest{Cursor: cursor})
		got, cursor = append(got, msgs(r.Entries)...), r.Cursor
		if !r.More {
			return got
		}
	}
	e.t.Fatal("more never ends")
	return nil
}

// backwardAll pages back from cursor to the beginning; oldest first.
func (e logsEnv) backwardAll(cursor string, limit int) []string {
	var pages [][]string
	for cursor != "" {
		if len(pages) > 100 {
			e.t.Fatal("paging back never reaches the beginning")
		}
		r := e.logs(pluginapi.LogsRequest{Before: cursor, Limit: limit})
		if len(r.Entries) > limit || len(r.Entries) == 0 && r.CursorBackward != "" {
			e.t.Fatalf("page back: %d entries (limit %d), cursor back %q", len(r.Entries), limit, r.CursorBackward)
		}
		pages, cursor = append(pages, msgs(r.Entries)), r.CursorBackward
	}
	var out []string
	for i := len(pages) - 1; i >= 0; i-- {
		out = append(out, pages[i]...)
	}
	return out
}

func TestLogsPagingBackAndForthGivesEveryLineOnce(t *testing.T) {
	e := newLogsEnv(t)
	full := e.logs(pluginapi.LogsRequest{})
	all := msgs(full.Entries)
	if len(all) != 18 || full.CursorBackward != "" {
		t.Fatalf("the whole log: %d lines, cursor back %q", len(all), full.CursorBackward)
	}
	for _, limit := range []int{1, 3, 5, 100} {
		for _, tail := range []int{1, 3, 7} {
			r := e.logs(pluginapi.LogsRequest{Tail: tail})
			got := append(e.backwardAll(r.CursorBackward, limit), msgs(r.Entries)...)
			got = append(got, e.forwardAll(r.Cursor)...)
			if !slices.Equal(got, all) {
				t.Fatalf("limit %d, back from a tail of %d:\n got %v\nwant %v", limit, tail, got, all)
			}
		}
		since := full.Entries[7].Time // the second of a pair at the same instant
		r := e.logs(pluginapi.LogsRequest{Since: since})
		got := append(e.backwardAll(r.CursorBackward, limit), msgs(r.Entries)...)
		if !slices.Equal(got, all) {
			t.Fatalf("limit %d, back from since:\n got %v\nwant %v", limit, got, all)
		}
	}
	_, err := call[pluginapi.LogsResponse](e.env, "logs", pluginapi.LogsRequest{Request: e.req(), ID: e.id, Before: "!!"})
	wantCode(t, err, pluginapi.CodeInvalid, "/before")
}

func TestLogsUntil(t *testing.T) {
	e := newLogsEnv(t)
	all := e.logs(pluginapi.LogsRequest{}).Entries
	until := all[9].Time.Add(300 * time.Millisecond) // within a second: end_time rounds up, the plugin cuts
	var want []string
	for _, en := range all {
		if !en.Time.After(until) {
			want = append(want, en.Message)
		}
	}
	r := e.logs(pluginapi.LogsRequest{Until: &until})
	if got := msgs(r.Entries); !slices.Equal(got, want) || !r.End {
		t.Fatalf("until: %v (end %v), want %v and end", got, r.End, want)
	}
	if got := msgs(e.logs(pluginapi.LogsRequest{Until: &until, Tail: 3}).Entries); !slices.Equal(got, want[len(want)-3:]) {
		t.Fatalf("tail 3 before until: %v, want %v", got, want[len(want)-3:])
	}
	// Following with until ahead: the lines up to it, then end.
	until = e.clock.Now().Add(2 * time.Second)
	r = e.logs(pluginapi.LogsRequest{Tail: 1, Until: &until})
	got, cursor := msgs(r.Entries), r.Cursor
	for calls := 0; !r.End; calls++ {
		if calls > 20 {
			t.Fatal("the follow never ended")
		}
		e.clock.Add(time.Second)
		r = e.logs(pluginapi.LogsRequest{Cursor: cursor, Until: &until})
		if r.End && !e.clock.Now().After(until) {
			t.Fatal("end before until")
		}
		got, cursor = append(got, msgs(r.Entries)...), r.Cursor
	}
	want = msgs(e.logs(pluginapi.LogsRequest{Until: &until}).Entries)
	if !slices.Equal(got, want[slices.Index(want, got[0]):]) || len(got) != 5 {
		t.Fatalf("follow until: %v, want the tail and the 4 lines after it up to until: %v", got, want)
	}
}

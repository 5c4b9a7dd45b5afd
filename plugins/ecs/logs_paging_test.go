package main

import (
	"slices"
	"testing"
	"time"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

// pagingEnv: two tasks of web logging every half step, at equal
// milliseconds from the second task's start (ties across streams), and a
// service of the same family beside them.
func pagingEnv(t *testing.T) *env {
	e := newEnv(t, ecsemu.Options{})
	e.create(map[string]any{"service_name": "web", "task_definition": "web:1", "desired_count": 2})
	e.create(map[string]any{"service_name": "other", "task_definition": "web:1", "desired_count": 1})
	e.clk.Advance(6 * step)
	return e
}

// forwardAll reads from req on with its cursor until nothing more comes.
func (e *env) forwardAll(req map[string]any) []string {
	e.t.Helper()
	var got []string
	for calls := 0; ; calls++ {
		if calls > 100 {
			e.t.Fatal("more never ends")
		}
		r := e.logs(req)
		for _, en := range r.Entries {
			got = append(got, en.Message)
		}
		req = map[string]any{"id": req["id"], "cursor": r.Cursor, "limit": req["limit"]}
		if !r.More && len(r.Entries) == 0 {
			return got
		}
	}
}

// backwardAll pages back from cursor to the beginning; oldest first.
func (e *env) backwardAll(cursor string, limit int) []string {
	e.t.Helper()
	var pages [][]pluginapi.LogEntry
	for cursor != "" {
		if len(pages) > 100 {
			e.t.Fatal("paging back never reaches the beginning")
		}
		var r pluginapi.LogsResponse
		e.must("logs", map[string]any{"id": "web", "before": cursor, "limit": limit}, &r)
		if len(r.Entries) > limit {
			e.t.Fatalf("a page back holds %d entries, limit %d", len(r.Entries), limit)
		}
		if len(r.Entries) == 0 && r.CursorBackward != "" {
			e.t.Fatal("an empty page back that is not the beginning")
		}
		pages = append(pages, r.Entries)
		cursor = r.CursorBackward
	}
	var out []string
	var last *time.Time
	for i := len(pages) - 1; i >= 0; i-- {
		for _, en := range pages[i] {
			if last != nil && en.Time.Before(*last) {
				e.t.Fatalf("paging back: %q at %v after an entry at %v", en.Message, en.Time, last)
			}
			last = en.Time
			out = append(out, en.Message)
		}
	}
	return out
}

func exactlyOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatalf("%s: %d lines, want the %d lines of the log exactly once\ngot  %v\nwant %v", what, len(got), len(want), a, b)
	}
}

func TestLogsPagingBackAndForthGivesEveryLineOnce(t *testing.T) {
	e := pagingEnv(t)
	all := e.forwardAll(map[string]any{"id": "web", "limit": 4})
	if len(all) < 15 {
		t.Fatalf("the log has %d lines", len(all))
	}
	exactlyOnce(t, "reading forward", all, e.forwardAll(map[string]any{"id": "web"}))

	for _, limit := range []int{1, 3, 7, 100} {
		// From a tail: back to the beginning, then the tail itself, then forward.
		tail := e.logs(map[string]any{"id": "web", "tail": 5})
		if tail.CursorBackward == "" {
			t.Fatal("a tail of a longer log has no cursor back")
		}
		got := e.backwardAll(tail.CursorBackward, limit)
		for _, en := range tail.Entries {
			got = append(got, en.Message)
		}
		got = append(got, e.forwardAll(map[string]any{"id": "web", "cursor": tail.Cursor})...)
		exactlyOnce(t, "back from a tail", got, all)

		// From a read since a time in the middle, whose first page is cut by limit.
		since := e.clk.Now().Add(-3 * step)
		first := e.logs(map[string]any{"id": "web", "since": since, "limit": 3})
		got = e.backwardAll(first.CursorBackward, limit)
		for _, en := range first.Entries {
			got = append(got, en.Message)
		}
		got = append(got, e.forwardAll(map[string]any{"id": "web", "cursor": first.Cursor, "limit": 3})...)
		exactlyOnce(t, "back from since", got, all)
	}
	// From the beginning nothing is older.
	if r := e.logs(map[string]any{"id": "web"}); r.CursorBackward != "" {
		t.Fatalf("a read from the beginning has a cursor back")
	}
	wantCode(t, e.call("logs", map[string]any{"id": "web", "before": "!!"}, nil), pluginapi.CodeInvalid)
}

func TestLogsUntil(t *testing.T) {
	e := pagingEnv(t)
	until := e.clk.Now().Add(-2 * step)
	all := e.forwardAll(map[string]any{"id": "web"})
	var want []string
	r := e.logs(map[string]any{"id": "web", "details": true})
	for _, en := range r.Entries {
		if !en.Time.After(until) {
			want = append(want, en.Message)
		}
	}
	if len(want) == 0 || len(want) == len(all) {
		t.Fatalf("until should cut the log: %d of %d", len(want), len(all))
	}
	r = e.logs(map[string]any{"id": "web", "until": until})
	var got []string
	for _, en := range r.Entries {
		got = append(got, en.Message)
	}
	exactlyOnce(t, "until", got, want)
	if !r.End {
		t.Fatal("until is in the past and every stream went past it: the answer must say end")
	}
	// A tail with until is the last lines at or before until.
	r = e.logs(map[string]any{"id": "web", "until": until, "tail": 3})
	got = got[:0]
	for _, en := range r.Entries {
		got = append(got, en.Message)
	}
	if !slices.Equal(got, want[len(want)-3:]) {
		t.Fatalf("tail 3 with until = %v, want %v", got, want[len(want)-3:])
	}

	// Following with until in the future ends there, every line once.
	until = e.clk.Now().Add(2 * step)
	r = e.logs(map[string]any{"id": "web", "tail": 1, "until": until})
	got = []string{r.Entries[0].Message}
	cursor := r.Cursor
	for calls := 0; ; calls++ {
		if calls > 20 {
			t.Fatal("the follow never ended")
		}
		e.clk.Advance(step / 2)
		r = e.logs(map[string]any{"id": "web", "cursor": cursor, "until": until})
		for _, en := range r.Entries {
			if en.Time.After(until) {
				t.Fatalf("entry after until: %v", en.Time)
			}
			got = append(got, en.Message)
		}
		cursor = r.Cursor
		if r.End && !e.clk.Now().After(until) {
			t.Fatal("end before until")
		}
		if r.End {
			break
		}
	}
	full := e.logs(map[string]any{"id": "web", "until": until})
	want = want[:0]
	for _, en := range full.Entries {
		want = append(want, en.Message)
	}
	// The follow saw the tail's line and everything after it up to until.
	idx := slices.Index(want, got[0])
	exactlyOnce(t, "follow until", got, want[idx:])
}

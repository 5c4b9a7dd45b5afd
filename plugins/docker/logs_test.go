package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

func frame(stream byte, payload string) []byte {
	b := make([]byte, 8, 8+len(payload))
	b[0] = stream
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

// TestDemux cuts two streams into frames at random places (lines split
// across frames, several lines per frame, streams interleaved) and checks
// every line comes back whole and in order; a truncated body gives a prefix.
func TestDemux(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		want := map[byte][]string{}
		text := map[byte]string{}
		for _, s := range []byte{1, 2} {
			for i := range 20 {
				l := fmt.Sprintf("stream %d line %d %s", s, i, strings.Repeat("x", rng.IntN(30)))
				want[s] = append(want[s], l)
				text[s] += l + "\n"
			}
		}
		var body []byte
		for len(text[1])+len(text[2]) > 0 {
			s := byte(1 + rng.IntN(2))
			if text[s] == "" {
				s = 3 - s
			}
			n := min(1+rng.IntN(40), len(text[s]))
			body = append(body, frame(s, text[s][:n])...)
			text[s] = text[s][n:]
		}
		got := map[byte][]string{}
		for _, l := range demux(body, false) {
			got[l.stream] = append(got[l.stream], l.text)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: got %v", round, got)
		}
		// Truncated anywhere: each stream gives a prefix of its whole lines.
		cut := rng.IntN(len(body))
		for _, l := range demux(body[:cut], true) {
			got := l.text
			found := false
			for _, w := range want[l.stream] {
				if w == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("round %d cut %d: partial line %q", round, cut, got)
			}
		}
	}
	// A last line without newline is kept when the body is complete.
	if got := demux(frame(1, "a\nb"), false); len(got) != 2 || got[1].text != "b" {
		t.Fatalf("%+v", got)
	}
	if got := splitRaw([]byte("a\r\nb\r\nc"), true); len(got) != 2 || got[1].text != "b" {
		t.Fatalf("%+v", got)
	}
}

func TestParseLine(t *testing.T) {
	e := parseLine(rawLine{stream: 2, text: "2026-03-01T12:00:01.500000000Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t%2C1 hello  world"})
	if e.Stream != "stderr" || e.Time == nil || !e.Time.Equal(time.Date(2026, 3, 1, 12, 0, 1, 5e8, time.UTC)) ||
		e.Message != "hello  world" || e.Instance != "t,1" || e.Details["com.docker.swarm.node.id"] != "n1" {
		t.Fatalf("%+v", e)
	}
	// Empty details: the engine writes two spaces.
	e = parseLine(rawLine{stream: 1, text: "2026-03-01T12:00:01.5Z  plain"})
	if e.Message != "plain" || e.Details != nil {
		t.Fatalf("%+v", e)
	}
	// No timestamp: the whole line is the message.
	e = parseLine(rawLine{stream: 1, text: "no time here"})
	if e.Message != "no time here" || e.Time != nil {
		t.Fatalf("%+v", e)
	}
}

type seenLine struct {
	At       time.Time
	Instance string
	Stream   string
	Message  string
}

func lines(entries []pluginapi.LogEntry) []seenLine {
	var out []seenLine
	for _, e := range entries {
		out = append(out, seenLine{*e.Time, e.Instance, e.Stream, e.Message})
	}
	return out
}

// TestLogsFollow follows a service across many calls while tasks start,
// scale and restart, with frames that cut lines and a small page limit, and
// checks the followed lines equal the full log: nothing lost, nothing twice.
func TestLogsFollow(t *testing.T) {
	h := newHarness(t, dockeremu.Options{MaxFrameSize: 7})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	var followed []seenLine
	cursor := ""
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 60 {
		h.clk.Advance(time.Duration(100+rng.IntN(1500)) * time.Millisecond)
		switch step {
		case 15:
			if _, err := h.lifecycle(svc.ID, pluginapi.ActionScale, `{"replicas":3}`); err != nil {
				t.Fatal(err)
			}
		case 30:
			if _, err := h.lifecycle(svc.ID, pluginapi.ActionRestart, ""); err != nil {
				t.Fatal(err)
			}
		}
		for {
			resp := h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: cursor, Limit: 1 + rng.IntN(4)})
			if resp.Cursor == "" {
				t.Fatal("no cursor")
			}
			followed = append(followed, lines(resp.Entries)...)
			cursor = resp.Cursor
			if !resp.More {
				break
			}
		}
	}
	full := h.logs(pluginapi.LogsRequest{ID: svc.ID, Limit: maxLogLimit})
	want := lines(full.Entries)
	if len(want) < 100 {
		t.Fatalf("only %d lines in the full log", len(want))
	}
	if !reflect.DeepEqual(followed, want) {
		t.Fatalf("followed %d lines, full log has %d; first difference at %d", len(followed), len(want), firstDiff(followed, want))
	}
	instances := map[string]bool{}
	for _, l := range want {
		instances[l.Instance] = true
	}
	if len(instances) != 6 { // 2, +1 by scaling, 3 new after restart
		t.Fatalf("lines from %d tasks", len(instances))
	}

	// Starting with a tail: only lines after the tail follow.
	h.clk.Advance(3 * time.Second)
	first := h.logs(pluginapi.LogsRequest{ID: svc.ID, Tail: 2})
	if len(first.Entries) != 2 {
		t.Fatalf("tail 2: %d", len(first.Entries))
	}
	h.clk.Advance(2 * time.Second)
	next := h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: first.Cursor})
	if len(next.Entries) == 0 {
		t.Fatal("no new lines after the tail")
	}
	for _, e := range next.Entries {
		if e.Time.Before(*first.Entries[1].Time) {
			t.Fatalf("line older than the tail followed: %+v", e)
		}
	}
	all := lines(h.logs(pluginapi.LogsRequest{ID: svc.ID, Limit: maxLogLimit}).Entries)
	tailed := append(lines(first.Entries), lines(next.Entries)...)
	if !reflect.DeepEqual(tailed, all[len(all)-len(tailed):]) {
		t.Fatal("tail + follow is not the end of the full log")
	}
}

// TestLogsFollowCapped follows with answers cut by the body cap: the
// plugin must still move forward (asking task by task) and lose nothing.
func TestLogsFollowCapped(t *testing.T) {
	defer func(old int) { logBodyBytes = old }(logBodyBytes)
	h := newHarness(t, dockeremu.Options{MaxFrameSize: 50})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	var followed []seenLine
	cursor := ""
	calls := 0
	for range 3 {
		h.clk.Advance(20 * time.Second)
		logBodyBytes = 700
		for {
			resp := h.logs(pluginapi.LogsRequest{ID: svc.ID, Cursor: cursor})
			followed = append(followed, lines(resp.Entries)...)
			cursor = resp.Cursor
			if calls++; calls > 200 {
				t.Fatal("following a capped log does not move forward")
			}
			if !resp.More {
				break
			}
		}
		logBodyBytes = 8 << 20
	}
	// When answers are cut, lines of different tasks may come in a
	// different order than in the full log, but each task's lines stay in
	// order, and no line is lost or repeated.
	want := lines(h.logs(pluginapi.LogsRequest{ID: svc.ID, Limit: maxLogLimit}).Entries)
	last := map[string]time.Time{}
	for _, l := range followed {
		if l.At.Before(last[l.Instance+l.Stream]) {
			t.Fatalf("lines of one task out of order: %+v", l)
		}
		last[l.Instance+l.Stream] = l.At
	}
	byKey := func(ls []seenLine) []seenLine {
		out := append([]seenLine(nil), ls...)
		sort.Slice(out, func(i, j int) bool {
			a, b := out[i], out[j]
			if !a.At.Equal(b.At) {
				return a.At.Before(b.At)
			}
			return a.Instance+a.Stream+a.Message < b.Instance+b.Stream+b.Message
		})
		return out
	}
	if len(want) < 100 || !reflect.DeepEqual(byKey(followed), byKey(want)) {
		t.Fatalf("followed %d lines, full log has %d", len(followed), len(want))
	}
	var perTask int
	for _, p := range h.doer.paths {
		if strings.Contains(p, "/tasks/") && strings.HasSuffix(p, "/logs") {
			perTask++
		}
	}
	if perTask == 0 {
		t.Fatal("capped answers never made the plugin ask task by task")
	}
}

func firstDiff(a, b []seenLine) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestLogsOptions(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"web","image":"x:1","replicas":2}`)
	h.clk.Advance(20 * time.Second)

	all := h.logs(pluginapi.LogsRequest{ID: svc.ID})
	if len(all.Entries) != 2*19 {
		t.Fatalf("want 19 lines per task, got %d", len(all.Entries))
	}
	for i, e := range all.Entries {
		if e.Details != nil || e.Instance == "" || e.Time == nil {
			t.Fatalf("entry %+v", e)
		}
		if i > 0 && e.Time.Before(*all.Entries[i-1].Time) {
			t.Fatal("entries not ordered by time")
		}
	}
	out := h.logs(pluginapi.LogsRequest{ID: svc.ID, Stdout: true})
	errs := h.logs(pluginapi.LogsRequest{ID: svc.ID, Stderr: true})
	if len(out.Entries)+len(errs.Entries) != len(all.Entries) || len(errs.Entries) == 0 {
		t.Fatalf("stdout %d + stderr %d != %d", len(out.Entries), len(errs.Entries), len(all.Entries))
	}
	for _, e := range errs.Entries {
		if e.Stream != "stderr" {
			t.Fatalf("stderr selection gave %+v", e)
		}
	}
	for _, e := range out.Entries {
		if e.Stream != "stdout" {
			t.Fatalf("stdout selection gave %+v", e)
		}
	}
	since := all.Entries[20].Time
	got := h.logs(pluginapi.LogsRequest{ID: svc.ID, Since: since})
	if !reflect.DeepEqual(lines(got.Entries), lines(all.Entries[20:])) {
		t.Fatalf("since: %d entries", len(got.Entries))
	}
	tail := h.logs(pluginapi.LogsRequest{ID: svc.ID, Tail: 3})
	if !reflect.DeepEqual(lines(tail.Entries), lines(all.Entries[len(all.Entries)-3:])) {
		t.Fatal("tail 3 is not the last 3 lines")
	}
	det := h.logs(pluginapi.LogsRequest{ID: svc.ID, Details: true, Limit: 1})
	if !det.More || len(det.Entries) != 1 || det.Entries[0].Details["com.docker.swarm.service.id"] != svc.ID || det.Entries[0].Details[taskIDKey] != det.Entries[0].Instance {
		t.Fatalf("details: %+v", det)
	}
	inst := all.Entries[0].Instance
	one := h.logs(pluginapi.LogsRequest{ID: svc.ID, Instance: inst})
	if len(one.Entries) != 19 {
		t.Fatalf("instance logs: %d", len(one.Entries))
	}
	for _, e := range one.Entries {
		if e.Instance != inst {
			t.Fatalf("other instance in instance logs: %+v", e)
		}
	}
	other := h.create(`{"name":"other","image":"x:1"}`)
	err := h.call(pluginapi.OpLogs, pluginapi.LogsRequest{Request: h.req(), ID: other.ID, Instance: inst}, nil)
	wantCode(t, err, pluginapi.CodeNotFound, "not a task of service other")
	err = h.call(pluginapi.OpLogs, pluginapi.LogsRequest{Request: h.req(), ID: svc.ID, Cursor: "garbage!"}, nil)
	if err == nil || err.Field != "/cursor" {
		t.Fatalf("bad cursor: %v", err)
	}
	err = h.call(pluginapi.OpLogs, pluginapi.LogsRequest{Request: h.req(), ID: "missing"}, nil)
	wantCode(t, err, pluginapi.CodeNotFound, "not found")
}

func TestLogsTTY(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	svc := h.create(`{"name":"term","image":"x:1","tty":true}`)
	h.clk.Advance(5 * time.Second)
	resp := h.logs(pluginapi.LogsRequest{ID: svc.ID, Details: true})
	if len(resp.Entries) != 4 {
		t.Fatalf("tty entries: %+v", resp.Entries)
	}
	for i, e := range resp.Entries {
		if e.Stream != "stdout" || e.Message != fmt.Sprintf("term.1 line %d", i+1) || e.Time == nil || e.Instance == "" {
			t.Fatalf("tty entry %q %+v", e.Message, e)
		}
	}
	// The plugin learned about the TTY from the service itself.
	var sawInspect bool
	for _, p := range h.doer.paths {
		if strings.HasSuffix(p, "/services/"+svc.ID) {
			sawInspect = true
		}
	}
	if !sawInspect {
		t.Fatal("logs did not inspect the service first")
	}
}

// TestParseTimestampMatchesTimeParse: the direct reader of the engine's
// timestamps agrees with time.Parse on valid and invalid forms.
func TestParseTimestampMatchesTimeParse(t *testing.T) {
	cases := []string{
		"2026-03-01T12:00:01.500000000Z", "2026-03-01T12:00:01Z", "2026-03-01T12:00:01.5Z", "2026-03-01T12:00:01.123456789Z",
		"2024-02-29T23:59:59.999999999Z", "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-03-00T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z", "2026-03-01T12:00:60Z",
		"2026-03-01T12:00:01.Z", "2026-03-01T12:00:01.1234567891Z", "2026-03-01T12:00:01,5Z", "2026-03-01T12:00:01.5+02:00",
		"2026-03-01T12:00:01.5z", "2026-03-01 12:00:01Z", "2026-3-01T12:00:01Z", "20a6-03-01T12:00:01Z", "2026-03-01T12:00:01.5x0Z",
		"0000-01-01T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "", "hello", "2026-03-01T12:00:01.-5Z",
	}
	for _, s := range cases {
		want, werr := time.Parse(time.RFC3339Nano, s)
		got, ok := parseTimestamp(s)
		if ok != (werr == nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("%q: got %v %v, time.Parse %v %v", s, got, ok, want, werr)
		}
	}
}

// TestParseDetailsEdges: empty parts and escapes read as before (split on
// commas, each side query-unescaped when it can be).
func TestParseDetailsEdges(t *testing.T) {
	cases := map[string]map[string]string{
		"a=1":              {"a": "1"},
		"a=1,":             {"a": "1", "": ""},
		",a=1":             {"": "", "a": "1"},
		"k%3D=v%2C1,x=a+b": {"k=": "v,1", "x": "a b"},
		"bad=%zz,n":        {"bad": "%zz", "n": ""},
	}
	for in, want := range cases {
		if got := parseDetails(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// streamLines is the reference for demux: each stream's payloads joined,
// split on newlines (a last unfinished line kept unless truncated), and the
// bytes left after the last whole frame.
func streamLines(body []byte, truncated bool) map[byte][]string {
	joined := map[byte]*strings.Builder{}
	for len(body) >= 8 {
		n := int(binary.BigEndian.Uint32(body[4:8]))
		if len(body) < 8+n {
			break
		}
		if joined[body[0]] == nil {
			joined[body[0]] = &strings.Builder{}
		}
		joined[body[0]].Write(body[8 : 8+n])
		body = body[8+n:]
	}
	out := map[byte][]string{}
	for s, b := range joined {
		lines := strings.Split(b.String(), "\n")
		last := lines[len(lines)-1]
		lines = lines[:len(lines)-1]
		if last != "" && !truncated {
			lines = append(lines, last)
		}
		if len(lines) > 0 {
			out[s] = lines
		}
	}
	return out
}

// FuzzDemux: demux of any body gives, for each stream, exactly the lines of
// that stream's payloads put end to end, whatever the framing; no line
// holds a newline.
func FuzzDemux(f *testing.F) {
	f.Add(append(frame(1, "a\nb"), frame(2, "x\n")...), false)
	f.Add(append(append(frame(1, "par"), frame(2, "e\n")...), frame(1, "tial\nnext")...), true)
	f.Add(append(frame(1, "whole\n"), 1, 0, 0, 0, 0, 0, 0, 9, 'c', 'u'), false)
	f.Add([]byte{2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'x'}, false)
	f.Fuzz(func(t *testing.T, body []byte, truncated bool) {
		got := map[byte][]string{}
		for _, l := range demux(body, truncated) {
			if strings.Contains(l.text, "\n") {
				t.Fatalf("line %q holds a newline", l.text)
			}
			got[l.stream] = append(got[l.stream], l.text)
		}
		if want := streamLines(body, truncated); !reflect.DeepEqual(got, want) {
			t.Fatalf("demux(%q, %v) = %q, want %q", body, truncated, got, want)
		}
	})
}

// FuzzParseTimestamp: the fast path reads a timestamp exactly as
// time.Parse(time.RFC3339Nano) does, and a parsed line keeps its message.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-03-01T12:00:00.123456789Z", "2026-02-29T00:00:00Z", "2024-02-29T23:59:59.5Z",
		"2026-13-01T00:00:00Z", "2026-03-01T12:00:00+01:00", "0000-01-01T00:00:00.Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fast, ok := parseUTCTimestamp(s); ok {
			std, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !std.Equal(fast) {
				t.Fatalf("parseUTCTimestamp(%q) = %v, time.Parse: %v, %v", s, fast, std, err)
			}
		}
		e := parseLine(rawLine{stream: 1, text: s + " com.docker.swarm.task.id=t1 hello"})
		if !strings.HasSuffix(s+" com.docker.swarm.task.id=t1 hello", e.Message) {
			t.Fatalf("parseLine(%q) lost the message: %q", s, e.Message)
		}
	})
}

// FuzzCursor: a cursor the plugin gave decodes to itself; anything else is
// refused at /cursor or decodes, never panics.
func FuzzCursor(f *testing.F) {
	c := cursor{Since: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC), Seen: map[string]seenPos{"t1/1": {At: time.Unix(5, 0).UTC(), N: 2}}}
	f.Add(c.encode())
	f.Add("eyJzIjoiMjAyNi0wMy0wMVQxMjowMDowMFoifQ")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeCursor(s)
		if err != nil {
			if !strings.Contains(err.Error(), "cursor") {
				t.Fatalf("decodeCursor(%q): %v", s, err)
			}
			return
		}
		again, err := decodeCursor(got.encode())
		if err != nil || !again.Since.Equal(got.Since) || len(again.Seen) != len(got.Seen) {
			t.Fatalf("cursor %q does not survive encode: %+v, %v", s, again, err)
		}
	})
}

// FuzzSpec: a spec the plugin accepts encodes as encoding/json encodes it,
// maps to an engine spec without panicking, and what a get would show of
// that engine spec is a spec the plugin accepts again.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(fullSpec))
	f.Add([]byte(templateSpec))
	f.Add([]byte(`{"name":"a","image":"x","networks":["n",{"target":"m","aliases":["a"]}],"mounts":[{"type":"tmpfs","target":"/t","tmpfs_mode":"777"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := decodeSpec(raw)
		if err != nil {
			return
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSpec(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendSpec:\n%s\njson:\n%s", got, want)
		}
		ids := refIDs{secrets: map[string]string{}, configs: map[string]string{}}
		for _, r := range s.Secrets {
			ids.secrets[r.Name] = "sid"
		}
		for _, r := range s.Configs {
			ids.configs[r.Name] = "cid"
		}
		ss, err := s.toServiceSpec(nil, ids)
		if err != nil {
			return // a value the schema would have refused
		}
		back := specFromSwarm(ss)
		if _, err := decodeSpec(appendSpec(nil, &back)); err != nil {
			t.Fatalf("the spec shown back is refused: %v\n%s", err, appendSpec(nil, &back))
		}
	})
}

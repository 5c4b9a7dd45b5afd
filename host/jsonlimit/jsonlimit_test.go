package jsonlimit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	l := Limits{MaxBytes: 100, MaxDepth: 2}
	for _, tc := range []struct {
		doc  string
		kind Kind // "" = accepted
		at   int
	}{
		{`1`, "", 0},
		{`{"a":[1]}`, "", 0},
		{`{"a":[[1]]}`, Depth, 6},
		{`[[],[],{}]`, "", 0},
		{`"[[[[[["`, "", 0},              // brackets inside a string
		{`{"a\"[[[":"\\"}`, "", 0},       // escaped quote, escaped backslash
		{`["\\\"[[["]`, "", 0},           // \\ then \" inside one string
		{`["\\"[[["]`, Depth, 6},         // \\ ends the escape: [[ count
		{`]]]]]][[[`, Depth, 8},          // closes never go below zero
		{`"unterminated [[[`, "", 0},     // left to the parser
		{`"ends in a backslash\`, "", 0}, // no read past the end
		{strings.Repeat(" ", 101), Size, 100},
	} {
		err := l.Check([]byte(tc.doc))
		var le *Error
		switch {
		case tc.kind == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.doc, err)
		case tc.kind != "" && (!errors.As(err, &le) || le.Kind != tc.kind || le.Offset != tc.at):
			t.Errorf("%s: %v, want %s at %d", tc.doc, err, tc.kind, tc.at)
		}
	}
}

func TestMessagesNameTheLimit(t *testing.T) {
	err := Body.Check([]byte(strings.Repeat("[", 65)))
	if err == nil || err.Error() != "JSON nesting deeper than 64 levels at byte 64" {
		t.Errorf("depth: %v", err)
	}
	err = Body.Check(make([]byte, Body.MaxBytes+1))
	if err == nil || err.Error() != "JSON document larger than 1 MiB" {
		t.Errorf("size: %v", err)
	}
	if got := (&Error{Kind: Size, Max: 1500}).Error(); got != "JSON document larger than 1500 bytes" {
		t.Errorf("size in bytes: %s", got)
	}
}

// TestReadStopsAtTheCap: Read takes no more than MaxBytes+1 from its reader.
func TestReadStopsAtTheCap(t *testing.T) {
	l := Limits{MaxBytes: 10, MaxDepth: 4}
	r := strings.NewReader(strings.Repeat("1", 1000))
	if _, err := l.Read(r); err == nil || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Fatalf("want size error, got %v", err)
	}
	if r.Len() != 1000-11 {
		t.Errorf("read %d bytes, want 11", 1000-r.Len())
	}
	b, err := l.Read(strings.NewReader(`[[1]]`))
	if err != nil || string(b) != `[[1]]` {
		t.Errorf("read %q, %v", b, err)
	}
}

// TestCheckDoesNotAllocate: the scan costs no memory whatever the input.
func TestCheckDoesNotAllocate(t *testing.T) {
	doc := worstDoc(Body.MaxBytes, Body.MaxDepth)
	if n := testing.AllocsPerRun(10, func() { _ = Body.Check(doc) }); n != 0 {
		t.Errorf("Check allocated %v times per run", n)
	}
}

// worstDoc is an array holding copies of {"k":[{"k":[ ... 1 ... ]}]} that
// nest exactly depth levels, as many as fit in size bytes, with strings
// full of brackets and escapes.
func worstDoc(size, depth int) []byte {
	var one bytes.Buffer
	for d := 1; d < depth; d++ {
		if d%2 == 1 {
			one.WriteString(`{"k\"[{":`)
		} else {
			one.WriteByte('[')
		}
	}
	one.WriteString(`"[\\{"`)
	for d := depth - 1; d >= 1; d-- {
		if d%2 == 1 {
			one.WriteByte('}')
		} else {
			one.WriteByte(']')
		}
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len()+one.Len()+2 < size {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(one.Bytes())
	}
	b.WriteByte(']')
	return b.Bytes()
}

func TestWorstDocIsAtTheLimits(t *testing.T) {
	doc := worstDoc(Body.MaxBytes, Body.MaxDepth)
	if !json.Valid(doc) || len(doc) > Body.MaxBytes || len(doc) < Body.MaxBytes-1000 {
		t.Fatalf("worst doc: valid %v, %d bytes", json.Valid(doc), len(doc))
	}
	if d := tokenDepth(doc, 1000); d != Body.MaxDepth {
		t.Fatalf("worst doc nests %d levels", d)
	}
	if err := Body.Check(doc); err != nil {
		t.Fatal(err)
	}
}

// tokenDepth is the deepest nesting encoding/json's Decoder.Token sees
// (stopping past max), or -1 when the document is not valid JSON: the
// reference Check is fuzzed and benchmarked against.
func tokenDepth(doc []byte, max int) int {
	dec := json.NewDecoder(bytes.NewReader(doc))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return deepest
			}
			return -1
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max1(deepest, depth)
			if deepest > max {
				return deepest
			}
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

func max1(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// BenchmarkCheck measures the scan over the worst accepted body (1 MiB,
// 64 levels) beside encoding/json's Decoder.Token doing the same count:
// the reason for a hand-written scan.
func BenchmarkCheck(b *testing.B) {
	doc := worstDoc(Body.MaxBytes, Body.MaxDepth)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if err := Body.Check(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoder-token", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if d := tokenDepth(doc, Body.MaxDepth); d != Body.MaxDepth {
				b.Fatal(d)
			}
		}
	})
}

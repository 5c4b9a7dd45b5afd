// Package jsonlimit bounds a JSON document in size and nesting depth before
// anything parses it. encoding/json accepts 10,000 levels and the merge-patch
// library is quadratic in depth, so a small body can cost seconds of CPU and
// gigabytes of memory: every JSON document the host accepts from outside
// (REST bodies, portal fields, the config file, plugin answers) goes through
// Check or Read first.
//
// Check does not validate JSON: it scans the bytes once, skipping strings,
// and counts brackets. It never counts fewer levels than a parser reaches
// while the document is still valid, so a document it accepts nests no
// deeper than its limit for any parser; the syntax errors are left to the
// parser, which reports them better.
package jsonlimit

import (
	"bytes"
	"fmt"
	"io"
)

// Limits bound one JSON document. Both must be positive.
type Limits struct {
	// MaxBytes is the largest document accepted, in bytes.
	MaxBytes int
	// MaxDepth is the deepest nesting of arrays and objects accepted: a
	// scalar is depth 0, {} and [] are 1, {"a":[1]} is 2.
	MaxDepth int
}

// Body are the limits of every document a client sends: REST bodies, portal
// JSON fields, the config file. 64 levels is far beyond any real spec.
var Body = Limits{MaxBytes: 1 << 20, MaxDepth: 64}

// Kind names the limit an Error is about.
type Kind string

// The kinds of limit.
const (
	Size  Kind = "size"
	Depth Kind = "depth"
)

// Error is a document that breaks a limit. Its message names the limit.
type Error struct {
	Kind Kind
	// Max is the limit broken: bytes for Size, levels for Depth.
	Max int
	// Offset is the byte where the limit was crossed (for Size, Max).
	Offset int
}

func (e *Error) Error() string {
	if e.Kind == Size {
		return "JSON document larger than " + bytesText(e.Max)
	}
	return fmt.Sprintf("JSON nesting deeper than %d levels at byte %d", e.Max, e.Offset)
}

// bytesText writes a byte count for people: "1 MiB", "512 KiB", "100 bytes".
func bytesText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Check returns an *Error when doc is larger than l.MaxBytes or nests
// deeper than l.MaxDepth, nil otherwise (also for malformed JSON: the
// parser that follows reports that).
func (l Limits) Check(doc []byte) error {
	if len(doc) > l.MaxBytes {
		return &Error{Kind: Size, Max: l.MaxBytes, Offset: l.MaxBytes}
	}
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			// Jump to the closing quote, past escaped ones.
			for {
				j := bytes.IndexAny(doc[i+1:], `"\`)
				if j < 0 {
					return nil // unterminated string: a syntax error
				}
				i += 1 + j
				if doc[i] == '"' {
					break
				}
				i++ // the escaped byte
				if i >= len(doc) {
					return nil
				}
			}
		case '[', '{':
			depth++
			if depth > l.MaxDepth {
				return &Error{Kind: Depth, Max: l.MaxDepth, Offset: i}
			}
		case ']', '}':
			// A close without an open is a syntax error the parser stops
			// at; never going below 0 keeps the count an upper bound.
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// Read reads a whole document from r, never more than l.MaxBytes+1 bytes,
// and checks it. The error is an *Error for a broken limit, else r's.
func (l Limits) Read(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(l.MaxBytes)+1))
	if err != nil {
		return nil, err
	}
	if err := l.Check(b); err != nil {
		return nil, err
	}
	return b, nil
}

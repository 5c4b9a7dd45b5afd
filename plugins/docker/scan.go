package main

import (
	"bytes"

	"github.com/buger/jsonparser"
)

// The helpers below find where JSON values end. jsonparser walks strings
// byte by byte in Go; compiled to wasm every such loop costs an order of
// magnitude more than natively, so strings (most of an engine answer) are
// skipped with bytes.IndexByte, which is assembly on wasm too. They check
// structure only as far as finding the end needs: the decoders fall back
// to encoding/json on any error, which then says what is wrong.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index of the quote closing the string whose
// content starts at i, or -1.
func stringEnd(b []byte, i int) int {
	start := i
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		// the quote is escaped when an odd number of backslashes precede it
		k := i
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i
		}
		i++
	}
}

// blockEnd returns the index after the object or array starting at b[i],
// or -1.
func blockEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			if i = stringEnd(b, i+1); i < 0 {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}

// valueAt reads the value starting at b[i] and returns it with the index
// after it.
func valueAt(b []byte, i int) (jvalue, int, error) {
	if i >= len(b) {
		return jvalue{}, i, errJSONSyntax
	}
	switch c := b[i]; c {
	case '"':
		end := stringEnd(b, i+1)
		if end < 0 {
			return jvalue{}, i, errJSONSyntax
		}
		return jvalue{b[i+1 : end], jsonparser.String}, end + 1, nil
	case '{', '[':
		end := blockEnd(b, i)
		if end < 0 {
			return jvalue{}, i, errJSONSyntax
		}
		t := jsonparser.Object
		if c == '[' {
			t = jsonparser.Array
		}
		return jvalue{b[i:end], t}, end, nil
	case 't':
		return literal(b, i, "true", jsonparser.Boolean)
	case 'f':
		return literal(b, i, "false", jsonparser.Boolean)
	case 'n':
		return literal(b, i, "null", jsonparser.Null)
	}
	end := i
	for end < len(b) {
		switch c := b[end]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			end++
			continue
		}
		break
	}
	if end == i {
		return jvalue{}, i, errJSONSyntax
	}
	return jvalue{b[i:end], jsonparser.Number}, end, nil
}

func literal(b []byte, i int, word string, t jsonparser.ValueType) (jvalue, int, error) {
	if !bytes.HasPrefix(b[i:], []byte(word)) {
		return jvalue{}, i, errJSONSyntax
	}
	return jvalue{b[i : i+len(word)], t}, i + len(word), nil
}

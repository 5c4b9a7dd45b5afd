package main

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader without reflection. Compiled to wasm, encoding/json's
// reflection and its per-byte state machine cost some hundred microseconds
// per Docker service; walking the bytes directly and picking out only the
// fields the plugin maps costs a few. Anything it does not understand is an
// error, and callers then fall back to encoding/json.

// jval is the text of one JSON value (no surrounding white space).
type jval []byte

var errJSON = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch c := b[i]; {
	case c == '"':
		return stringEnd(b, i)
	case c == '{' || c == '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			case '"':
				end, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			}
			i++
		}
		return 0, errJSON
	default:
		// number, true, false, null
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return 0, errJSON
		}
		return j, nil
	}
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errJSON
}

// object calls fn for every member of an object, in order. Keys are given
// as their raw text between the quotes (Docker's keys need no unescaping).
func (v jval) object(fn func(key []byte, val jval) error) error {
	b := []byte(v)
	if len(b) < 2 || b[0] != '{' {
		return errJSON
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errJSON
		}
		kend, err := stringEnd(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return errJSON
		}
		i = skipSpace(b, i+1)
		end, err := valueEnd(b, i)
		if err != nil {
			return err
		}
		if err := fn(key, jval(b[i:end])); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return errJSON
		}
		i = skipSpace(b, i+1)
	}
}

// array calls fn for every item of an array; null is an empty array.
func (v jval) array(fn func(item jval) error) error {
	b := []byte(v)
	if v.null() {
		return nil
	}
	if len(b) < 2 || b[0] != '[' {
		return errJSON
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return err
		}
		if err := fn(jval(b[i:end])); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return errJSON
		}
		i = skipSpace(b, i+1)
	}
}

func (v jval) null() bool { return string(v) == "null" }

// str is a string value, unescaped; null is "".
func (v jval) str() (string, error) {
	if v.null() {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errJSON
	}
	s := v[1 : len(v)-1]
	plain := true
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(s), nil
	}
	return unescape(s)
}

// unescape decodes the JSON escapes of a string's content.
func unescape(s []byte) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 {
			return "", errJSON
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errJSON
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", errJSON
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok = hex4(s, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errJSON
		}
	}
	return string(out), nil
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[i:i+4]), 16, 32)
	return rune(n), err == nil
}

func (v jval) uint() (uint64, error) {
	if v.null() {
		return 0, nil
	}
	return strconv.ParseUint(string(v), 10, 64)
}

func (v jval) int() (int64, error) {
	if v.null() {
		return 0, nil
	}
	return strconv.ParseInt(string(v), 10, 64)
}

func (v jval) float() (float64, error) {
	if v.null() {
		return 0, nil
	}
	return strconv.ParseFloat(string(v), 64)
}

func (v jval) bool() (bool, error) {
	switch string(v) {
	case "true":
		return true, nil
	case "false", "null":
		return false, nil
	}
	return false, errJSON
}

// time reads an RFC 3339 time, as time.Time's UnmarshalJSON does.
func (v jval) time() (time.Time, error) {
	if v.null() {
		return time.Time{}, nil
	}
	s, err := v.str()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (v jval) strings() ([]string, error) {
	if v.null() {
		return nil, nil
	}
	out := []string{}
	err := v.array(func(it jval) error {
		s, err := it.str()
		out = append(out, s)
		return err
	})
	return out, err
}

func (v jval) stringMap() (map[string]string, error) {
	if v.null() {
		return nil, nil
	}
	out := map[string]string{}
	err := v.object(func(k []byte, val jval) error {
		key, err := jval(append(append([]byte{'"'}, k...), '"')).str()
		if err != nil {
			return err
		}
		out[key], err = val.str()
		return err
	})
	return out, err
}

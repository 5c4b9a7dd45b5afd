// Package jsonw writes JSON without reflection, byte for byte as
// encoding/json's Marshal writes the same values: strings escaped as it
// escapes them (HTML characters, U+2028 and U+2029 included, invalid UTF-8
// as U+FFFD), floats in its format, times in RFC 3339 with nanoseconds, map
// keys sorted.
//
// encoding/json walks values by reflection and re-validates every
// json.RawMessage byte by byte; compiled to wasm that costs hundreds of
// microseconds per service answered. The SDK's default answer encoder
// (plugin.EncodeAnswer) is written with this package, and a plugin may
// use it for its own hot types (Docker's spec shown back with each
// service). Whoever writes an encoder with it should test it against
// encoding/json over random values, as plugin's tests do.
//
// What it does not do, unlike encoding/json: it embeds raw JSON as given
// (neither compacted nor validated: the host decodes and checks every
// answer), writes NaN and infinities as Go formats them instead of failing,
// and writes times of any year.
package jsonw

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString writes s as a JSON string.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendFloat writes f as encoding/json writes a float64.
func AppendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendTime writes t as time.Time's MarshalJSON does.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendStringMap writes m with sorted keys; nil is null.
func AppendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, m[k])
	}
	return append(b, '}')
}

// AppendStrings writes list; nil is null.
func AppendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// Object writes the members of one JSON object, with the commas. Start one
// with Open and finish it with Close:
//
//	o := jsonw.Open(b)
//	o.Str("id", s.ID, false)
//	o.Str("image", s.Image, true) // omitempty
//	b = o.Close()
//
// The methods' omitEmpty argument does what the omitempty tag option does.
type Object struct {
	// B is the output so far; members may also be written to it directly
	// after Key.
	B    []byte
	more bool
}

// Open starts an object at the end of b.
func Open(b []byte) Object { return Object{B: append(b, '{')} }

// Close ends the object and returns the output.
func (o *Object) Close() []byte { return append(o.B, '}') }

// AppendObject writes an object whose members fill writes.
func AppendObject(b []byte, fill func(*Object)) []byte {
	o := Open(b)
	fill(&o)
	return o.Close()
}

// Key starts a member: the comma if needed, the name and the colon.
func (o *Object) Key(k string) {
	if o.more {
		o.B = append(o.B, ',')
	}
	o.more = true
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			o.B = AppendString(o.B, k)
			o.B = append(o.B, ':')
			return
		}
	}
	o.B = append(o.B, '"')
	o.B = append(o.B, k...)
	o.B = append(o.B, '"', ':')
}

// Str writes a string member.
func (o *Object) Str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	o.Key(k)
	o.B = AppendString(o.B, v)
}

// Int writes an int member.
func (o *Object) Int(k string, v int, omitEmpty bool) { o.Int64(k, int64(v), omitEmpty) }

// Int64 writes an int64 member.
func (o *Object) Int64(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.Key(k)
	o.B = strconv.AppendInt(o.B, v, 10)
}

// IntPtr writes *v, or nothing for nil (a pointer field with omitempty).
func (o *Object) IntPtr(k string, v *int) {
	if v != nil {
		o.Int(k, *v, false)
	}
}

// Float writes a float64 member.
func (o *Object) Float(k string, v float64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.Key(k)
	o.B = AppendFloat(o.B, v)
}

// Bool writes a bool member.
func (o *Object) Bool(k string, v, omitEmpty bool) {
	if omitEmpty && !v {
		return
	}
	o.Key(k)
	o.B = strconv.AppendBool(o.B, v)
}

// BoolPtr writes *v, or nothing for nil.
func (o *Object) BoolPtr(k string, v *bool) {
	if v != nil {
		o.Bool(k, *v, false)
	}
}

// StrMap writes a map member; omitEmpty omits nil and empty maps.
func (o *Object) StrMap(k string, m map[string]string, omitEmpty bool) {
	if omitEmpty && len(m) == 0 {
		return
	}
	o.Key(k)
	o.B = AppendStringMap(o.B, m)
}

// Strs writes a list member; omitEmpty omits nil and empty lists.
func (o *Object) Strs(k string, list []string, omitEmpty bool) {
	if omitEmpty && len(list) == 0 {
		return
	}
	o.Key(k)
	o.B = AppendStrings(o.B, list)
}

// StrsOmitNil writes a list member as omitzero does: nil is omitted, an
// empty list is [] (a difference some fields give meaning to).
func (o *Object) StrsOmitNil(k string, list []string) {
	if list == nil {
		return
	}
	o.Key(k)
	o.B = AppendStrings(o.B, list)
}

// TimePtr writes *t, or nothing for nil.
func (o *Object) TimePtr(k string, t *time.Time) {
	if t != nil {
		o.Key(k)
		o.B = AppendTime(o.B, *t)
	}
}

// Raw embeds JSON as is, omitted when empty (as omitempty omits an empty
// json.RawMessage).
func (o *Object) Raw(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	o.Key(k)
	o.B = append(o.B, v...)
}

// Object writes a member holding an object whose members fill writes.
func (o *Object) Object(k string, fill func(*Object)) {
	o.Key(k)
	o.B = AppendObject(o.B, fill)
}

// List writes a member holding items, one at a time with item. omitEmpty
// omits a nil or empty list; otherwise nil is null.
func List[T any](o *Object, k string, items []T, omitEmpty bool, item func(b []byte, v *T) []byte) {
	if omitEmpty && len(items) == 0 {
		return
	}
	o.Key(k)
	o.B = AppendList(o.B, items, item)
}

// AppendList writes items as a JSON array with item; nil is null.
func AppendList[T any](b []byte, items []T, item func(b []byte, v *T) []byte) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = item(b, &items[i])
	}
	return append(b, ']')
}

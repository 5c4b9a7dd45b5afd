package main

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/pluginapi"
)

// Hand-written JSON encoders for what the plugin answers on hot paths.
// encoding/json walks these types by reflection and re-validates every
// json.RawMessage byte by byte, which compiled to wasm costs hundreds of
// microseconds per service. The output decodes to the same value as
// encoding/json's (encode_test.go checks that over varied values); Raw is
// embedded as the engine sent it (the host decodes and validates answers).

// appendString writes s as a JSON string, escaping as encoding/json does
// (HTML characters, U+2028 and U+2029 included; invalid UTF-8 becomes
// U+FFFD).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
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

// appendFloat writes f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
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

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendStringMap writes m with sorted keys; nil is null.
func appendStringMap(b []byte, m map[string]string) []byte {
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
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// obj writes the members of one JSON object, with the commas.
type obj struct {
	b    []byte
	more bool
}

func (o *obj) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...) // keys are plain ASCII constants
	o.b = append(o.b, '"', ':')
}

func (o *obj) str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *obj) int(k string, v int, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.key(k)
	o.b = strconv.AppendInt(o.b, int64(v), 10)
}

func (o *obj) intPtr(k string, v *int) {
	if v != nil {
		o.int(k, *v, false)
	}
}

func (o *obj) float(k string, v float64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.key(k)
	o.b = appendFloat(o.b, v)
}

func (o *obj) boolean(k string, v, omitEmpty bool) {
	if omitEmpty && !v {
		return
	}
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *obj) strMap(k string, m map[string]string, omitEmpty bool) {
	if omitEmpty && len(m) == 0 {
		return
	}
	o.key(k)
	o.b = appendStringMap(o.b, m)
}

func (o *obj) strs(k string, list []string, omitEmpty bool) {
	if omitEmpty && len(list) == 0 {
		return
	}
	o.key(k)
	o.b = appendStrings(o.b, list)
}

func (o *obj) timePtr(k string, t *time.Time) {
	if t != nil {
		o.key(k)
		o.b = appendTime(o.b, *t)
	}
}

// raw embeds JSON as is (omitted when empty, as omitempty does).
func (o *obj) raw(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, v...)
}

// appendService writes a normalized service as json.Marshal(s) would,
// with Raw and Spec embedded as they are.
func appendService(b []byte, s *pluginapi.Service) []byte {
	o := obj{b: append(b, '{')}
	o.str("id", s.ID, false)
	o.str("name", s.Name, false)
	o.str("status", string(s.Status), false)
	o.str("native_status", s.NativeStatus, true)
	o.str("status_message", s.StatusMessage, true)
	o.intPtr("desired", s.Desired)
	o.intPtr("running", s.Running)
	o.str("image", s.Image, true)
	if len(s.Endpoints) > 0 {
		o.key("endpoints")
		o.b = append(o.b, '[')
		for i, ep := range s.Endpoints {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			eo := obj{b: append(o.b, '{')}
			eo.str("url", ep.URL, true)
			eo.str("protocol", ep.Protocol, true)
			eo.int("port", ep.Port, true)
			eo.int("published", ep.Public, true)
			o.b = append(eo.b, '}')
		}
		o.b = append(o.b, ']')
	}
	o.strMap("labels", s.Labels, true)
	o.timePtr("created_at", s.CreatedAt)
	o.timePtr("updated_at", s.UpdatedAt)
	o.str("version", s.Version, true)
	if r := s.Rollout; r != nil {
		o.key("rollout")
		ro := obj{b: append(o.b, '{')}
		ro.str("state", r.State, false)
		ro.str("message", r.Message, true)
		ro.boolean("rollback", r.Rollback, true)
		ro.timePtr("started_at", r.StartedAt)
		ro.timePtr("completed_at", r.CompletedAt)
		o.b = append(ro.b, '}')
	}
	o.raw("spec", s.Spec)
	o.raw("raw", s.Raw)
	return append(o.b, '}')
}

// appendLogEntry writes a log entry as json.Marshal(e) would.
func appendLogEntry(b []byte, e *pluginapi.LogEntry) []byte {
	o := obj{b: append(b, '{')}
	o.timePtr("time", e.Time)
	o.str("stream", e.Stream, true)
	o.str("instance", e.Instance, true)
	o.str("message", e.Message, false)
	o.strMap("details", e.Details, true)
	return append(o.b, '}')
}

// encodeAnswer writes the plugin's successful answers without
// reflection; ok is false for a value it does not handle (the caller then
// uses encoding/json).
func encodeAnswer(resp any) (out []byte, ok bool) {
	switch r := resp.(type) {
	case *pluginapi.ServiceResponse:
		if r.Error != nil {
			return nil, false
		}
		o := obj{b: make([]byte, 0, 4096)}
		o.b = append(o.b, '{')
		if r.Service != nil {
			o.key("service")
			o.b = appendService(o.b, r.Service)
		}
		o.strs("warnings", r.Warnings, true)
		return append(o.b, '}'), true
	case *pluginapi.ListResponse:
		if r.Error != nil {
			return nil, false
		}
		o := obj{b: make([]byte, 0, 4096*(len(r.Services)+1))}
		o.b = append(o.b, '{')
		o.key("services")
		if r.Services == nil {
			o.b = append(o.b, "null"...)
		} else {
			o.b = append(o.b, '[')
			for i := range r.Services {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = appendService(o.b, &r.Services[i])
			}
			o.b = append(o.b, ']')
		}
		o.str("next_page_token", r.NextPageToken, true)
		return append(o.b, '}'), true
	case *pluginapi.LogsResponse:
		if r.Error != nil {
			return nil, false
		}
		o := obj{b: make([]byte, 0, 256*(len(r.Entries)+1))}
		o.b = append(o.b, '{')
		o.key("entries")
		if r.Entries == nil {
			o.b = append(o.b, "null"...)
		} else {
			o.b = append(o.b, '[')
			for i := range r.Entries {
				if i > 0 {
					o.b = append(o.b, ',')
				}
				o.b = appendLogEntry(o.b, &r.Entries[i])
			}
			o.b = append(o.b, ']')
		}
		o.str("cursor", r.Cursor, true)
		o.boolean("more", r.More, true)
		o.str("cursor_backward", r.CursorBackward, true)
		o.boolean("end", r.End, true)
		return append(o.b, '}'), true
	}
	return nil, false
}

// EncodeAnswer implements plugin.AnswerEncoder with encodeAnswer.
func (provider) EncodeAnswer(_ string, answer any) ([]byte, bool) { return encodeAnswer(answer) }

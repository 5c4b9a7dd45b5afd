package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wharfhq/wharf/pluginapi"
)

// Scrubbing: defence in depth behind egress, which never gives a plugin a
// secret. Everything a plugin answers (services, log entries, invoke bodies,
// errors) and everything the audit log records is cleaned of the
// connection's secret values before it leaves the host, in the forms a
// plugin could most easily send them on: raw, JSON-escaped (any \u escapes),
// URL-encoded (query and path escaping) and base64 (standard and URL
// alphabets, padded or not, at any byte offset inside a longer encoded
// value, such as "Basic base64(user:secret)"; a string that is wholly
// base64, such as an invoke body, is decoded, scrubbed and encoded again so
// it stays valid). Secrets shorter than MinScrubLen bytes are not scrubbed,
// nor base64 forms of secrets shorter than about 7 bytes, nor encodings
// nested twice (base64 of base64). It is best effort: a plugin
// that got a secret can always disguise it (reverse it, hex it, split it),
// which is why egress keeps secrets from plugins in the first place.

// Redaction is what a scrubbed secret is replaced with.
const Redaction = "[redacted]"

// Limits of scrubbing.
const (
	// MinScrubLen is the shortest secret value scrubbed: shorter ones would
	// blank out ordinary text and are too weak to be worth hiding.
	MinScrubLen = 4
	// minBase64Fragment is the shortest base64 fragment searched for (from
	// secrets of about 7 bytes up): shorter ones match random base64.
	minBase64Fragment = 8
	// maxScrubDepth bounds nested decoding (base64 inside JSON inside base64).
	maxScrubDepth = 3
)

// scrubber knows the forms of one connection's secret values. A nil
// scrubber leaves everything as it is.
type scrubber struct {
	text   []string // forms found verbatim in decoded text, longest first
	b64    []string // base64 fragments (also in text), to try decoding a string
	maxLen int      // of the longest form
}

// newScrubber returns the scrubber of values, or nil when none is long
// enough to scrub.
func newScrubber(values []string) *scrubber {
	seen := map[string]bool{}
	s := &scrubber{}
	add := func(f string, b64 bool) {
		if f == "" || seen[f] {
			return
		}
		seen[f] = true
		s.text = append(s.text, f)
		if b64 {
			s.b64 = append(s.b64, f)
		}
	}
	for _, v := range values {
		if len(v) < MinScrubLen {
			continue
		}
		add(v, false)
		add(url.QueryEscape(v), false)
		add(url.PathEscape(v), false)
		for _, f := range base64Fragments(v) {
			add(f, true)
		}
	}
	if len(s.text) == 0 {
		return nil
	}
	// Longest first, so a longer form is not cut by a shorter one inside it.
	sort.SliceStable(s.text, func(i, j int) bool { return len(s.text[i]) > len(s.text[j]) })
	s.maxLen = len(s.text[0])
	return s
}

// base64Fragments returns, for each alphabet and each of the three byte
// alignments, the part of the encoding of v that does not depend on the
// bytes around v: whatever v is embedded in, one of them appears.
func base64Fragments(v string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			full := enc.EncodeToString(append(make([]byte, k), v...))
			start, end := (8*k+5)/6, 8*(k+len(v))/6
			if end-start >= minBase64Fragment {
				out = append(out, full[start:end])
			}
		}
	}
	return out
}

// hits reports whether b holds a form verbatim.
func (s *scrubber) hits(b []byte) bool {
	for _, f := range s.text {
		if bytes.Contains(b, []byte(f)) {
			return true
		}
	}
	return false
}

// hitsEscaped reports whether b, with its JSON escapes decoded, holds a
// form. A form without a decoded escape in it is in b verbatim (hits), so
// only the windows around decoded escapes are searched.
func (s *scrubber) hitsEscaped(b []byte) bool {
	if bytes.IndexByte(b, '\\') < 0 {
		return false
	}
	out, at := unescapeJSON(b)
	searched := 0 // forms starting before this were searched
	for _, p := range at {
		lo, hi := max(p-s.maxLen+1, searched, 0), min(p+s.maxLen, len(out))
		if lo >= hi {
			continue
		}
		if s.hits(out[lo:hi]) {
			return true
		}
		// A form starting from here on may reach past hi.
		searched = hi - s.maxLen + 1
	}
	return false
}

func (s *scrubber) hitsString(x string) bool {
	for _, f := range s.text {
		if strings.Contains(x, f) {
			return true
		}
	}
	return false
}

// JSON scrubs a JSON document. The fast path scans the bytes (and, when
// they hold escapes, the bytes with escapes decoded) and returns b itself
// when no form is present; otherwise the document is decoded, every string
// (keys too) cleaned, and encoded again. Text that is not JSON is cleaned
// as text.
func (s *scrubber) JSON(b []byte) []byte { return s.json(b, 0) }

func (s *scrubber) json(b []byte, depth int) []byte {
	if s == nil || (!s.hits(b) && !s.hitsEscaped(b)) {
		return b
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return []byte(s.replace(string(b)))
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.walk(v, depth)); err != nil {
		return []byte(s.replace(string(b)))
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// walk returns v with every string scrubbed.
func (s *scrubber) walk(v any, depth int) any {
	switch x := v.(type) {
	case string:
		return s.str(x, depth)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.str(k, depth)] = s.walk(e, depth)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = s.walk(e, depth)
		}
		return x
	}
	return v
}

// str scrubs one decoded string. A string that is wholly base64 (a []byte
// field such as an invoke body) is decoded, scrubbed and encoded again, so
// it stays valid base64; anything else has the forms replaced as text.
func (s *scrubber) str(x string, depth int) string {
	if !s.hitsString(x) {
		return x
	}
	if depth < maxScrubDepth && s.holdsBase64Form(x) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if raw, err := enc.DecodeString(x); err == nil {
				if clean := s.bytes(raw, depth+1); !bytes.Equal(clean, raw) {
					return enc.EncodeToString(clean)
				}
				break
			}
		}
	}
	return s.replace(x)
}

func (s *scrubber) holdsBase64Form(x string) bool {
	for _, f := range s.b64 {
		if strings.Contains(x, f) {
			return true
		}
	}
	return false
}

// bytes scrubs decoded binary data: as JSON when it is, else as text.
func (s *scrubber) bytes(b []byte, depth int) []byte {
	if json.Valid(b) {
		return s.json(b, depth)
	}
	if !s.hits(b) {
		return b
	}
	return []byte(s.replace(string(b)))
}

// replace replaces every form in x with Redaction.
func (s *scrubber) replace(x string) string {
	for _, f := range s.text {
		x = strings.ReplaceAll(x, f, Redaction)
	}
	return x
}

// String scrubs plain text.
func (s *scrubber) String(x string) string {
	if s == nil {
		return x
	}
	return s.str(x, 0)
}

// Error scrubs an error's message, field and detail, on a copy.
func (s *scrubber) Error(err error) error {
	if s == nil || err == nil {
		return err
	}
	e := *pluginapi.AsError(err)
	e.Message = s.String(e.Message)
	e.Field = s.String(e.Field)
	if len(e.Detail) > 0 {
		if raw, merr := json.Marshal(e.Detail); merr == nil {
			if clean := s.JSON(raw); !bytes.Equal(clean, raw) {
				var d map[string]any
				if json.Unmarshal(clean, &d) == nil {
					e.Detail = d
				} else {
					e.Detail = map[string]any{"scrubbed": true}
				}
			}
		}
	}
	return &e
}

// unescapeJSON decodes the backslash escapes of JSON text, strings or not,
// so that a secret written with \u escapes is found, and answers where in
// the output decoded escapes were written. Malformed escapes are kept.
func unescapeJSON(b []byte) ([]byte, []int) {
	out := make([]byte, 0, len(b))
	var at []int
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 || i+1 >= len(b) {
			return append(out, b...), at
		}
		out = append(out, b[:i]...)
		at = append(at, len(out))
		c, n := b[i+1], 2
		switch c {
		case '"', '\\', '/':
			out = append(out, c)
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
			r, ok := readU(b[i+2:])
			if !ok {
				out = append(out, '\\', 'u')
				break
			}
			n = 6
			if utf16.IsSurrogate(r) && len(b) >= i+12 && b[i+6] == '\\' && b[i+7] == 'u' {
				if r2, ok := readU(b[i+8:]); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r, n = dec, 12
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, '\\', c)
		}
		b = b[i+n:]
	}
}

// readU reads four hex digits.
func readU(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// scrubKey carries a call's scrubber in its context, for the plugin's log
// lines (see ScrubLogs).
type scrubKey struct{}

func withScrubber(ctx context.Context, s *scrubber) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, scrubKey{}, s)
}

// ScrubLogs wraps a log handler so that records logged with the context of
// a plugin call (the plugin's own log lines, through the runtime) are
// scrubbed of that call's connection secrets: message and string values.
// The host installs it on the runtime's logger.
func ScrubLogs(next slog.Handler) slog.Handler { return scrubHandler{next} }

type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	s, _ := ctx.Value(scrubKey{}).(*scrubber)
	if s == nil {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, s.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(s, a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func scrubAttr(s *scrubber, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, s.String(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]any, len(attrs))
		for i, g := range attrs {
			clean[i] = scrubAttr(s, g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, s.String(v.String()))
	}
	return a
}

func (h scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return scrubHandler{h.next.WithAttrs(as)}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h.next.WithGroup(name)}
}

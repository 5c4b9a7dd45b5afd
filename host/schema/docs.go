package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wharfhq/wharf/pluginapi"
)

// Masked replaces secret values in redacted documents.
const Masked = "********"

// member is one key of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// errNotObject says a document is valid JSON but not an object.
var errNotObject = errors.New("not a JSON object")

// members splits a JSON object into its keys and raw values, keeping their
// order, which decoding into a map would lose.
func members(doc []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if err := checkRest(dec, tok); err != nil {
			return nil, err
		}
		return nil, errNotObject
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key, v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid data after the top-level value")
	}
	return out, nil
}

// checkRest makes sure a non-object document is valid JSON.
func checkRest(dec *json.Decoder, first json.Token) error {
	if d, ok := first.(json.Delim); ok && d == '[' {
		for dec.More() {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid data after the top-level value")
	}
	return nil
}

// encode writes members back as a JSON object.
func encode(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Redact returns doc with the values of the top-level secretFields replaced
// by "********" (null values stay null: nothing is set). Other fields, and
// nested objects, are untouched and key order is kept. A document that is
// valid JSON but not an object comes back unchanged; malformed JSON comes
// back as nil, since it cannot be shown safely.
func Redact(doc json.RawMessage, secretFields []string) json.RawMessage {
	ms, err := members(doc)
	if errors.Is(err, errNotObject) {
		return slices.Clone(doc)
	}
	if err != nil {
		return nil
	}
	masked, _ := json.Marshal(Masked)
	for i, m := range ms {
		if slices.Contains(secretFields, m.key) && !isNull(m.value) {
			ms[i].value = masked
		}
	}
	return encode(ms)
}

// StripSecrets returns doc without the top-level secretFields (what a plugin
// receives as config). Key order is kept. A valid non-object document comes
// back unchanged; malformed JSON comes back as nil.
func StripSecrets(doc json.RawMessage, secretFields []string) json.RawMessage {
	ms, err := members(doc)
	if errors.Is(err, errNotObject) {
		return slices.Clone(doc)
	}
	if err != nil {
		return nil
	}
	ms = slices.DeleteFunc(ms, func(m member) bool { return slices.Contains(secretFields, m.key) })
	return encode(ms)
}

// Defaults returns doc with the "default" of every top-level property that
// doc lacks added at the end. A document that is not a JSON object comes back
// unchanged (Validate reports it).
func (s *Schema) Defaults(doc json.RawMessage) json.RawMessage {
	ms, err := members(doc)
	if err != nil {
		return slices.Clone(doc)
	}
	have := make(map[string]bool, len(ms))
	for _, m := range ms {
		have[m.key] = true
	}
	added := false
	for _, p := range s.props {
		if p.Default != nil && !have[p.Name] {
			ms = append(ms, member{p.Name, slices.Clone(p.Default)})
			added = true
		}
	}
	if !added {
		return slices.Clone(doc)
	}
	return encode(ms)
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// readProperties reads the top-level "properties" of a schema in order.
func readProperties(raw []byte) ([]Property, error) {
	top, err := members(raw)
	if err != nil {
		// A boolean schema (true/false) has no properties.
		return nil, nil
	}
	var propsRaw json.RawMessage
	var required []string
	for _, m := range top {
		switch m.key {
		case "properties":
			propsRaw = m.value
		case "required":
			_ = json.Unmarshal(m.value, &required) // the compiler has checked it
		}
	}
	if propsRaw == nil {
		return nil, nil
	}
	list, err := members(propsRaw)
	if err != nil {
		return nil, nil // the compiler has checked "properties" is an object
	}
	out := make([]Property, 0, len(list))
	for _, m := range list {
		p := Property{Name: m.key, Required: slices.Contains(required, m.key), Schema: m.value}
		var sub struct {
			Type        json.RawMessage `json:"type"`
			Format      string          `json:"format"`
			Title       string          `json:"title"`
			Description string          `json:"description"`
			Enum        []any           `json:"enum"`
			Default     json.RawMessage `json:"default"`
			Secret      json.RawMessage `json:"x-secret"`
			Endpoint    json.RawMessage `json:"x-endpoint"`
			Group       json.RawMessage `json:"x-group"`
			Order       json.RawMessage `json:"x-order"`
		}
		if err := json.Unmarshal(m.value, &sub); err != nil {
			// A boolean subschema; nothing to read.
			out = append(out, p)
			continue
		}
		p.Type = firstType(sub.Type)
		p.Format, p.Title, p.Description, p.Enum, p.Default = sub.Format, sub.Title, sub.Description, sub.Enum, sub.Default
		if p.Secret, err = flag(sub.Secret, m.key, KeySecret); err != nil {
			return nil, err
		}
		if p.Endpoint, err = flag(sub.Endpoint, m.key, KeyEndpoint); err != nil {
			return nil, err
		}
		if p.Group, p.Order, err = layout(sub.Group, sub.Order, m.key); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Bounds of the layout annotations.
const (
	maxGroupLen = 40
	maxOrder    = 10000
)

// layout reads x-group (a short title) and x-order (an integer) when
// present.
func layout(group, order json.RawMessage, prop string) (string, *int, error) {
	bad := func(key, format string, args ...any) error {
		return &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/properties/" + escapeToken(prop) + "/" + key,
			Message: fmt.Sprintf("invalid schema: %q of property %s ", key, prop) + fmt.Sprintf(format, args...)}
	}
	var g string
	if group != nil {
		if err := json.Unmarshal(group, &g); err != nil || strings.TrimSpace(g) == "" || g != strings.TrimSpace(g) {
			return "", nil, bad(KeyGroup, "must be a section title (a non-empty string without surrounding spaces)")
		}
		if utf8.RuneCountInString(g) > maxGroupLen {
			return "", nil, bad(KeyGroup, "must be at most %d characters", maxGroupLen)
		}
	}
	var o *int
	if order != nil {
		var n int
		if err := json.Unmarshal(order, &n); err != nil || n < -maxOrder || n > maxOrder {
			return "", nil, bad(KeyOrder, "must be an integer from %d to %d", -maxOrder, maxOrder)
		}
		o = &n
	}
	return g, o, nil
}

// flag reads an annotation that must be a boolean when present.
func flag(v json.RawMessage, prop, key string) (bool, error) {
	if v == nil {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/properties/" + escapeToken(prop) + "/" + key,
			Message: fmt.Sprintf("invalid schema: %q of property %s must be true or false", key, prop)}
	}
	return b, nil
}

func firstType(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
		if len(many) > 0 {
			return many[0]
		}
	}
	return ""
}

func escapeToken(t string) string { return pointer([]string{t})[1:] }

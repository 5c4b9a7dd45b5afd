package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// Field is one input of a form generated from a plugin's JSON Schema, so a
// third-party plugin gets create, edit and config forms for free.
type Field struct {
	Name     string // the top-level property
	Label    string
	Help     string
	Kind     string // text, secret, integer, number, bool, select, kv, lines, json
	Required bool
	Value    string
	Checked  bool
	Options  []string
	Pairs    []KV
	Errors   []string
	// SecretSet says a secret already has a stored value (edit forms).
	SecretSet bool
	// Had says the document had a value: an unchecked box then sends
	// false; otherwise it leaves the property out.
	Had      bool
	Min, Max string
}

// KV is one row of a key/value field.
type KV struct{ Key, Value string }

// The kinds of Field.
const (
	kindText    = "text"
	kindSecret  = "secret"
	kindInteger = "integer"
	kindNumber  = "number"
	kindBool    = "bool"
	kindSelect  = "select"
	kindKV      = "kv"
	kindLines   = "lines"
	kindJSON    = "json"
)

// InputName is the form name of the field's input.
func (f Field) InputName() string { return "f." + f.Name }

// ID is the HTML id of the field's input.
func (f Field) ID() string { return "fld-" + f.Name }

// subschema holds the bits of a property's schema that choose the widget.
type subschema struct {
	Type                 any             `json:"type"`
	Properties           map[string]any  `json:"properties"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
	Items                json.RawMessage `json:"items"`
	Minimum              *float64        `json:"minimum"`
	Maximum              *float64        `json:"maximum"`
}

func typeOf(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

// isStringSchema reports whether raw is a plain string schema (no enum).
func isStringSchema(raw json.RawMessage) bool {
	var s struct {
		Type any   `json:"type"`
		Enum []any `json:"enum"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return typeOf(s.Type) == "string" && len(s.Enum) == 0
}

// kindOf picks the widget for a property.
func kindOf(p schema.Property) (string, subschema) {
	var sub subschema
	_ = json.Unmarshal(p.Schema, &sub)
	switch p.Type {
	case "string":
		switch {
		case p.Secret:
			return kindSecret, sub
		case len(p.Enum) > 0:
			return kindSelect, sub
		}
		return kindText, sub
	case "integer":
		if len(p.Enum) > 0 {
			return kindSelect, sub
		}
		return kindInteger, sub
	case "number":
		if len(p.Enum) > 0 {
			return kindSelect, sub
		}
		return kindNumber, sub
	case "boolean":
		return kindBool, sub
	case "object":
		ap := bytes.TrimSpace(sub.AdditionalProperties)
		if len(sub.Properties) == 0 && (len(ap) == 0 || string(ap) == "true" || isStringSchema(ap)) {
			return kindKV, sub
		}
	case "array":
		if isStringSchema(sub.Items) {
			return kindLines, sub
		}
	}
	return kindJSON, sub
}

func enumString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// defaultsDoc is the document a create form starts from: the schema's defaults.
func defaultsDoc(props []schema.Property) map[string]any {
	doc := map[string]any{}
	for _, p := range props {
		if len(p.Default) > 0 {
			if v, err := decodeJSON(p.Default); err == nil {
				doc[p.Name] = v
			}
		}
	}
	return doc
}

func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// docOf decodes a spec or config object, keeping numbers exact.
func docOf(raw json.RawMessage) map[string]any {
	v, err := decodeJSON(raw)
	if err != nil {
		return map[string]any{}
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// buildFields draws the fields of props with the values of doc and the
// per-property errors errs.
func buildFields(props []schema.Property, doc map[string]any, errs map[string][]string) []Field {
	out := make([]Field, 0, len(props))
	for _, p := range props {
		kind, sub := kindOf(p)
		f := Field{Name: p.Name, Label: p.Title, Help: p.Description, Kind: kind, Required: p.Required, Errors: errs[p.Name]}
		if f.Label == "" {
			f.Label = p.Name
		}
		if sub.Minimum != nil {
			f.Min = strconv.FormatFloat(*sub.Minimum, 'f', -1, 64)
		}
		if sub.Maximum != nil {
			f.Max = strconv.FormatFloat(*sub.Maximum, 'f', -1, 64)
		}
		for _, e := range p.Enum {
			f.Options = append(f.Options, enumString(e))
		}
		v, has := doc[p.Name]
		switch kind {
		case kindSecret:
			// Never drawn back: the form only says whether one is stored.
		case kindBool:
			b, _ := v.(bool)
			f.Checked, f.Had = b, has
		case kindKV:
			if m, ok := v.(map[string]any); ok {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					f.Pairs = append(f.Pairs, KV{k, scalarString(m[k])})
				}
			} else if s, ok := v.(string); ok { // kept as typed after a parse error
				f.Value = s
			}
			f.Pairs = append(f.Pairs, KV{}) // one empty row to add to
		case kindLines:
			switch x := v.(type) {
			case []any:
				lines := make([]string, len(x))
				for i, e := range x {
					lines[i] = scalarString(e)
				}
				f.Value = strings.Join(lines, "\n")
			case string:
				f.Value = x
			}
		case kindJSON:
			if s, ok := v.(rawText); ok {
				f.Value = string(s)
			} else if has && v != nil {
				b, _ := json.MarshalIndent(v, "", "  ")
				f.Value = string(b)
			}
		default:
			if has && v != nil {
				f.Value = scalarString(v)
			}
		}
		out = append(out, f)
	}
	return out
}

// rawText is what a user typed into a field that failed to parse; it is
// drawn back unchanged.
type rawText string

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case rawText:
		return string(x)
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseFields reads a submitted form into a document following props.
// Empty inputs are left out (the schema's "required" reports them). Input
// that cannot be parsed is reported per property, and kept as typed.
func parseFields(props []schema.Property, form url.Values) (map[string]any, map[string][]string) {
	doc := map[string]any{}
	errs := map[string][]string{}
	for _, p := range props {
		kind, _ := kindOf(p)
		name := "f." + p.Name
		raw := strings.TrimSpace(form.Get(name))
		switch kind {
		case kindText, kindSecret:
			if raw != "" {
				doc[p.Name] = raw
			}
		case kindSelect:
			if raw == "" {
				continue
			}
			found := false
			for _, e := range p.Enum {
				if enumString(e) == raw {
					doc[p.Name] = e
					found = true
				}
			}
			if !found {
				errs[p.Name] = append(errs[p.Name], "choose one of the listed values")
				doc[p.Name] = rawText(raw)
			}
		case kindInteger:
			if raw == "" {
				continue
			}
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				doc[p.Name] = n
			} else {
				errs[p.Name] = append(errs[p.Name], "must be a whole number")
				doc[p.Name] = rawText(raw)
			}
		case kindNumber:
			if raw == "" {
				continue
			}
			if n, err := strconv.ParseFloat(raw, 64); err == nil {
				doc[p.Name] = n
			} else {
				errs[p.Name] = append(errs[p.Name], "must be a number")
				doc[p.Name] = rawText(raw)
			}
		case kindBool:
			if form.Get(name) == "true" {
				doc[p.Name] = true
			} else if form.Get(name+".present") == "1" {
				doc[p.Name] = false
			}
		case kindKV:
			keys, vals := form[name+".k"], form[name+".v"]
			m := map[string]any{}
			for i, k := range keys {
				k = strings.TrimSpace(k)
				val := ""
				if i < len(vals) {
					val = vals[i]
				}
				if k == "" {
					if strings.TrimSpace(val) != "" {
						errs[p.Name] = append(errs[p.Name], fmt.Sprintf("row %d has a value but no name", i+1))
					}
					continue
				}
				if _, dup := m[k]; dup {
					errs[p.Name] = append(errs[p.Name], fmt.Sprintf("%q is given twice", k))
				}
				m[k] = val
			}
			if len(m) > 0 {
				doc[p.Name] = m
			}
		case kindLines:
			var items []any
			for _, l := range strings.Split(form.Get(name), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					items = append(items, l)
				}
			}
			if len(items) > 0 {
				doc[p.Name] = items
			}
		case kindJSON:
			if raw == "" {
				continue
			}
			v, err := decodeJSON([]byte(raw))
			if err != nil {
				errs[p.Name] = append(errs[p.Name], "is not valid JSON: "+err.Error())
				doc[p.Name] = rawText(raw)
				continue
			}
			doc[p.Name] = v
		}
	}
	return doc, errs
}

// fieldErrors lists every violation of a structured error: Detail["errors"]
// when present, else the error itself.
func fieldErrors(pe *pluginapi.Error) []schema.FieldError {
	var out []schema.FieldError
	if pe.Detail != nil {
		if raw, err := json.Marshal(pe.Detail["errors"]); err == nil {
			_ = json.Unmarshal(raw, &out)
		}
	}
	if len(out) == 0 && (pe.Field != "" || pe.Message != "") {
		out = append(out, schema.FieldError{Field: pe.Field, Message: pe.Message})
	}
	return out
}

// topProperty returns the first segment of a JSON pointer, unescaped.
func topProperty(ptr string) string {
	ptr = strings.TrimPrefix(ptr, "/")
	if i := strings.IndexByte(ptr, '/'); i >= 0 {
		ptr = ptr[:i]
	}
	return strings.ReplaceAll(strings.ReplaceAll(ptr, "~1", "/"), "~0", "~")
}

// applyFieldErrors puts each violation of pe at its field; it returns the
// ones that belong to no field (to be shown above the form).
func applyFieldErrors(fields []Field, pe *pluginapi.Error) []string {
	var rest []string
	for _, fe := range fieldErrors(pe) {
		top := topProperty(fe.Field)
		placed := false
		for i := range fields {
			if top != "" && fields[i].Name == top {
				msg := fe.Message
				if strings.Count(fe.Field, "/") > 1 { // deeper than the property itself
					msg += " (at " + fe.Field + ")"
				}
				fields[i].Errors = append(fields[i].Errors, msg)
				placed = true
				break
			}
		}
		if !placed {
			rest = append(rest, fe.Message)
		}
	}
	return rest
}

// hasErrors reports whether any field has an error.
func hasErrors(fields []Field) bool {
	for _, f := range fields {
		if len(f.Errors) > 0 {
			return true
		}
	}
	return false
}

// encodeDoc marshals a parsed document (no rawText left in it).
func encodeDoc(doc map[string]any) json.RawMessage {
	b, _ := json.Marshal(doc)
	return b
}

package form

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/host/schema"
)

// Defaults is the document a create form starts from: the schema's defaults.
func Defaults(props []schema.Property) map[string]any {
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

// Build draws the fields of props with the values of doc (from Decode,
// Defaults or Parse; nil draws an empty form) and the errors errs, keyed by
// Field.Path as Parse returns them.
func Build(props []schema.Property, doc map[string]any, errs map[string][]string) []Field {
	return buildLevel(props, doc, errs, "", 0)
}

func buildLevel(props []schema.Property, doc map[string]any, errs map[string][]string, prefix string, depth int) []Field {
	out := make([]Field, 0, len(props))
	for _, p := range props {
		v, has := doc[p.Name]
		out = append(out, buildField(p, v, has, errs, prefix+escapeToken(p.Name), depth))
	}
	return out
}

func buildField(p schema.Property, v any, has bool, errs map[string][]string, path string, depth int) Field {
	kind, sub, children := kindOf(p, depth)
	// A value the sub-fields cannot hold whole is edited as JSON instead.
	if (kind == KindGroup || kind == KindRows) && has && v != nil && !fits(v, kind, children) {
		kind = KindJSON
	}
	f := Field{Name: p.Name, Path: path, Label: p.Title, Help: p.Description, Kind: kind, Required: p.Required, Errors: errs[path],
		Choices: sub.Choices && kind == KindText, Group: p.Group, Order: p.Order}
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
	f.Set = has && !emptyValue(v) && !sameJSON(v, p.Default)
	switch kind {
	case KindSecret:
		// Never drawn back: the form only says whether one is stored.
	case KindBool:
		b, _ := v.(bool)
		f.Checked, f.Had = b, has
	case KindKV:
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
	case KindLines:
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
	case KindJSON:
		if s, ok := v.(rawText); ok {
			f.Value = string(s)
		} else if has && v != nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			f.Value = string(b)
		}
	case KindGroup:
		m, _ := v.(map[string]any)
		f.Children = buildLevel(children, m, errs, path+"/", depth+1)
		f.Set = slices.ContainsFunc(f.Children, func(c Field) bool { return c.Set })
		// An optional object left out requires nothing: its fields are
		// marked required only once it is used.
		if !f.Required && !f.Set && !f.HasErrors() {
			for i := range f.Children {
				f.Children[i].Required = false
			}
		}
	case KindRows:
		items, _ := v.([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			f.Rows = append(f.Rows, Row{Index: i, Fields: buildLevel(children, m, errs, path+"/"+strconv.Itoa(i)+"/", depth+1)})
		}
		// One empty row to fill in (the script adds more, and removes).
		f.Rows = append(f.Rows, Row{Index: len(items), Fields: buildLevel(children, nil, errs, path+"/"+strconv.Itoa(len(items))+"/", depth+1)})
		f.Set = len(items) > 0
	default:
		if has && v != nil {
			f.Value = scalarString(v)
		}
	}
	return f
}

// fits reports whether v can be drawn as sub-fields (a group's object, or
// a rows field's list of objects) without losing anything.
func fits(v any, kind string, children []schema.Property) bool {
	known := func(m map[string]any) bool {
		for k, x := range m {
			i := slices.IndexFunc(children, func(c schema.Property) bool { return c.Name == k })
			if i < 0 {
				return false
			}
			switch x.(type) {
			case map[string]any:
				if children[i].Type != "object" {
					return false
				}
			case []any:
				if children[i].Type != "array" {
					return false
				}
			}
		}
		return true
	}
	if kind == KindGroup {
		m, ok := v.(map[string]any)
		return ok && known(m)
	}
	items, ok := v.([]any)
	if !ok {
		return false
	}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok || !known(m) {
			return false
		}
		for _, x := range m {
			switch x.(type) {
			case map[string]any, []any:
				return false
			}
		}
	}
	return true
}

// emptyValue: nothing worth showing (the "More options" fold stays shut).
func emptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// sameJSON reports whether v equals the JSON value def.
func sameJSON(v any, def json.RawMessage) bool {
	if len(def) == 0 {
		return false
	}
	d, err := decodeJSON(def)
	if err != nil {
		return false
	}
	a, _ := json.Marshal(v)
	b, _ := json.Marshal(d)
	return bytes.Equal(a, b)
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

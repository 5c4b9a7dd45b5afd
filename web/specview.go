package web

import (
	"encoding/json"
	"slices"
	"sort"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/web/form"
)

// The detail page shows a service's spec readably, driven by the plugin's
// spec schema: each property under its title, lists of objects as tables,
// maps as name/value tables, nested objects as nested sections. Members
// the schema does not describe are shown too, under their own key, and
// values the schema marks secret ("x-secret" or "writeOnly") never are.

// SpecNode is one shown value of a spec.
type SpecNode struct {
	Key   string // the member's name
	Title string // the schema's title, else Key
	Help  string // the schema's description
	// Kind: value, secret, list (of scalars), map (name → scalar), table
	// (list of objects), object, json (anything else, drawn as JSON).
	Kind  string
	Value string // value and json kinds
	Items []string
	Pairs []KV
	// Columns and Rows are a table's; each cell is a node of its own.
	Columns []SpecColumn
	Rows    [][]SpecNode
	// Children are an object's members.
	Children []SpecNode
	// Extra marks a member the schema does not describe.
	Extra bool
}

// SpecColumn is one column of a table: an item property that occurs.
type SpecColumn struct {
	Key, Title, Help string
	Extra            bool
}

// The kinds of SpecNode.
const (
	nodeValue  = "value"
	nodeSecret = "secret"
	nodeList   = "list"
	nodeMap    = "map"
	nodeTable  = "table"
	nodeObject = "object"
	nodeJSON   = "json"
)

// maxSpecDepth bounds how deep the view nests; deeper values are drawn as
// JSON.
const maxSpecDepth = 6

// specNodes draws doc (a spec object) with schema raw.
func specNodes(raw json.RawMessage, doc map[string]any) []SpecNode {
	return objectNodes(raw, doc, 0)
}

// propSchema is what the view reads of a property's schema.
type propSchema struct {
	Items     json.RawMessage `json:"items"`
	WriteOnly bool            `json:"writeOnly"`
	Secret    bool            `json:"x-secret"`
}

func readProp(raw json.RawMessage) propSchema {
	var ps propSchema
	_ = json.Unmarshal(raw, &ps)
	return ps
}

// properties lists the described members of an object schema, in order;
// none when raw is no object schema (or cannot be read alone).
func properties(raw json.RawMessage) []schema.Property {
	if len(raw) == 0 {
		return nil
	}
	s, err := form.Compile(raw)
	if err != nil {
		return nil
	}
	return s.Properties()
}

// objectNodes draws the members of m: the described ones in schema order,
// then the others by name.
func objectNodes(raw json.RawMessage, m map[string]any, depth int) []SpecNode {
	props := properties(raw)
	out := make([]SpecNode, 0, len(m))
	for _, p := range props {
		v, ok := m[p.Name]
		if !ok || v == nil {
			continue
		}
		n := valueNode(p.Schema, v, depth)
		if p.Secret {
			n = SpecNode{Kind: nodeSecret}
		}
		n.Key, n.Title, n.Help = p.Name, orDefault(p.Title, p.Name), p.Description
		out = append(out, n)
	}
	for _, k := range extraKeys(props, m) {
		n := valueNode(nil, m[k], depth)
		n.Key, n.Title, n.Extra = k, k, true
		out = append(out, n)
	}
	return out
}

// extraKeys are the members of m that props does not describe, sorted.
func extraKeys(props []schema.Property, m map[string]any) []string {
	var keys []string
	for k, v := range m {
		if v != nil && !slices.ContainsFunc(props, func(p schema.Property) bool { return p.Name == k }) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// valueNode draws one value with its schema (nil: undescribed).
func valueNode(raw json.RawMessage, v any, depth int) SpecNode {
	ps := readProp(raw)
	if ps.Secret || ps.WriteOnly {
		return SpecNode{Kind: nodeSecret}
	}
	if depth >= maxSpecDepth {
		return jsonNode(v)
	}
	switch x := v.(type) {
	case map[string]any:
		if len(properties(raw)) == 0 && allScalars(mapValues(x)) {
			return SpecNode{Kind: nodeMap, Pairs: sortedKV(x)}
		}
		return SpecNode{Kind: nodeObject, Children: objectNodes(raw, x, depth+1)}
	case []any:
		if allScalars(x) {
			items := make([]string, len(x))
			for i, e := range x {
				items[i] = plainValue(e)
			}
			return SpecNode{Kind: nodeList, Items: items}
		}
		if rows, ok := objects(x); ok {
			return tableNode(ps.Items, rows, depth)
		}
		return jsonNode(v)
	}
	return SpecNode{Kind: nodeValue, Value: plainValue(v)}
}

// tableNode draws a list of objects: a column per item property that
// occurs in some row (schema order, then the others by name).
func tableNode(items json.RawMessage, rows []map[string]any, depth int) SpecNode {
	props := properties(items)
	var cols []SpecColumn
	var colSchemas []schema.Property
	for _, p := range props {
		if slices.ContainsFunc(rows, func(r map[string]any) bool { return r[p.Name] != nil }) {
			cols = append(cols, SpecColumn{Key: p.Name, Title: orDefault(p.Title, p.Name), Help: p.Description})
			colSchemas = append(colSchemas, p)
		}
	}
	seen := map[string]bool{}
	var extra []string
	for _, r := range rows {
		for _, k := range extraKeys(props, r) {
			if !seen[k] {
				seen[k] = true
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		cols = append(cols, SpecColumn{Key: k, Title: k, Extra: true})
		colSchemas = append(colSchemas, schema.Property{Name: k})
	}
	n := SpecNode{Kind: nodeTable, Columns: cols}
	for _, r := range rows {
		cells := make([]SpecNode, len(cols))
		for i, p := range colSchemas {
			switch v := r[p.Name]; {
			case v == nil:
				cells[i] = SpecNode{Kind: nodeValue}
			case p.Secret:
				cells[i] = SpecNode{Kind: nodeSecret}
			default:
				cells[i] = valueNode(p.Schema, v, depth+1)
			}
		}
		n.Rows = append(n.Rows, cells)
	}
	return n
}

func jsonNode(v any) SpecNode {
	b, _ := json.MarshalIndent(v, "", "  ")
	return SpecNode{Kind: nodeJSON, Value: string(b)}
}

// plainValue is a scalar as text: strings as they are (durations and sizes
// as the plugin gave them), numbers exact, booleans as yes or no.
func plainValue(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func allScalars(vs []any) bool {
	return !slices.ContainsFunc(vs, func(v any) bool { return !isScalar(v) })
}

func mapValues(m map[string]any) []any {
	out := make([]any, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// objects returns the items of a list that holds only objects.
func objects(vs []any) ([]map[string]any, bool) {
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		out = append(out, m)
	}
	return out, len(out) > 0
}

func sortedKV(m map[string]any) []KV {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]KV, len(keys))
	for i, k := range keys {
		out[i] = KV{k, plainValue(m[k])}
	}
	return out
}

// hiddenValue stands for a secret in the spec's JSON.
const hiddenValue = "[hidden]"

// redactSpec replaces the values schema raw marks secret, at any depth,
// so that the spec's JSON can be shown.
func redactSpec(raw json.RawMessage, v any) any {
	if ps := readProp(raw); ps.Secret || ps.WriteOnly {
		return hiddenValue
	}
	switch x := v.(type) {
	case map[string]any:
		props := properties(raw)
		out := make(map[string]any, len(x))
		for k, e := range x {
			i := slices.IndexFunc(props, func(p schema.Property) bool { return p.Name == k })
			switch {
			case i < 0:
				out[k] = e
			case props[i].Secret:
				out[k] = hiddenValue
			default:
				out[k] = redactSpec(props[i].Schema, e)
			}
		}
		return out
	case []any:
		items := readProp(raw).Items
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactSpec(items, e)
		}
		return out
	}
	return v
}

// redactedSpecJSON is the spec's JSON with its secrets hidden, indented.
func redactedSpecJSON(raw json.RawMessage, spec json.RawMessage) string {
	b, _ := json.MarshalIndent(redactSpec(raw, form.Decode(spec)), "", "  ")
	return string(b)
}

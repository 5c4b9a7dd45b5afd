package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// Field is one input of a form generated from a plugin's JSON Schema, so a
// third-party plugin gets create, edit and config forms for free. Objects
// with known properties become groups of sub-fields and arrays of such
// objects become repeatable rows, a few levels deep; anything else is a JSON
// textarea.
type Field struct {
	Name string // the property's own name
	// Path is the JSON pointer of the value without its leading "/"; a
	// top-level property's Path is its (escaped) name.
	Path     string
	Label    string
	Help     string
	Kind     string // text, secret, integer, number, bool, select, kv, lines, json, group, rows
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
	// Placeholder, when set, replaces the textarea's usual hint.
	Placeholder string
	// Set says the value differs from the schema's default (or there is
	// one while the schema has no default): "More options" opens for it.
	Set bool
	// Children are a group's sub-fields.
	Children []Field
	// Rows are the items of a rows field, plus one empty row to fill in.
	Rows []Row
	// Choices says the schema annotates the property "x-choices" (ABI
	// 1.3): the plugin can list its possible values. List is then the id
	// of the <datalist> holding them, once they were fetched.
	Choices bool
	List    string
}

// Row is one item of an array of objects.
type Row struct {
	Index  int
	Fields []Field
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
	kindGroup   = "group"
	kindRows    = "rows"
)

// maxDepth bounds how deep groups nest before the JSON textarea takes over:
// deeper forms are harder to read than the JSON itself.
const maxDepth = 3

// InputName is the form name of the field's input.
func (f Field) InputName() string { return "f." + f.Path }

// ID is the HTML id of the field's input.
func (f Field) ID() string { return "fld-" + strings.ReplaceAll(f.Path, "/", "-") }

// HasErrors reports whether the field or one below it has an error.
func (f Field) HasErrors() bool {
	if len(f.Errors) > 0 {
		return true
	}
	return hasErrors(f.Children) || slices.ContainsFunc(f.Rows, func(r Row) bool { return hasErrors(r.Fields) })
}

// escapeToken escapes a JSON pointer segment.
func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// subschema holds the bits of a property's schema that choose the widget.
type subschema struct {
	Type                 any             `json:"type"`
	Properties           map[string]any  `json:"properties"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
	Items                json.RawMessage `json:"items"`
	Minimum              *float64        `json:"minimum"`
	Maximum              *float64        `json:"maximum"`
	Choices              bool            `json:"x-choices"`
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

// closedObject returns the properties of an object schema that lists its
// properties and allows no others (so a form of sub-fields loses nothing).
func closedObject(raw json.RawMessage) ([]schema.Property, bool) {
	var sub subschema
	if json.Unmarshal(raw, &sub) != nil || typeOf(sub.Type) != "object" || len(sub.Properties) == 0 ||
		string(bytes.TrimSpace(sub.AdditionalProperties)) != "false" {
		return nil, false
	}
	s, err := compileCached(raw)
	if err != nil { // e.g. a $ref into the parent schema: JSON it is
		return nil, false
	}
	return s.Properties(), true
}

func isScalarKind(k string) bool {
	switch k {
	case kindText, kindInteger, kindNumber, kindBool, kindSelect:
		return true
	}
	return false
}

// kindOf picks the widget for a property at depth (0 = top level); for
// groups and rows it also returns the sub-properties.
func kindOf(p schema.Property, depth int) (string, subschema, []schema.Property) {
	var sub subschema
	_ = json.Unmarshal(p.Schema, &sub)
	switch p.Type {
	case "string":
		switch {
		case p.Secret && depth == 0: // only top-level secrets are kept write-only
			return kindSecret, sub, nil
		case len(p.Enum) > 0:
			return kindSelect, sub, nil
		}
		return kindText, sub, nil
	case "integer":
		if len(p.Enum) > 0 {
			return kindSelect, sub, nil
		}
		return kindInteger, sub, nil
	case "number":
		if len(p.Enum) > 0 {
			return kindSelect, sub, nil
		}
		return kindNumber, sub, nil
	case "boolean":
		return kindBool, sub, nil
	case "object":
		ap := bytes.TrimSpace(sub.AdditionalProperties)
		if len(sub.Properties) == 0 && (len(ap) == 0 || string(ap) == "true" || isStringSchema(ap)) {
			return kindKV, sub, nil
		}
		if depth < maxDepth {
			if props, ok := closedObject(p.Schema); ok {
				return kindGroup, sub, props
			}
		}
	case "array":
		if isStringSchema(sub.Items) {
			return kindLines, sub, nil
		}
		if depth < maxDepth {
			if props, ok := closedObject(sub.Items); ok && !slices.ContainsFunc(props, func(c schema.Property) bool {
				k, _, _ := kindOf(c, depth+1)
				return !isScalarKind(k)
			}) {
				return kindRows, sub, props
			}
		}
	}
	return kindJSON, sub, nil
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

// decodeJSON decodes one JSON value, numbers kept exact, refusing one
// beyond jsonlimit.Body before parsing it.
func decodeJSON(raw []byte) (any, error) {
	return decodeLimited(raw, jsonlimit.Body)
}

// decodeLimited is decodeJSON within lim.
func decodeLimited(raw []byte, lim jsonlimit.Limits) (any, error) {
	if err := lim.Check(raw); err != nil {
		return nil, err
	}
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
// errors errs, keyed by Field.Path.
func buildFields(props []schema.Property, doc map[string]any, errs map[string][]string) []Field {
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
	if (kind == kindGroup || kind == kindRows) && has && v != nil && !fits(v, kind, children) {
		kind = kindJSON
	}
	f := Field{Name: p.Name, Path: path, Label: p.Title, Help: p.Description, Kind: kind, Required: p.Required, Errors: errs[path],
		Choices: sub.Choices && kind == kindText}
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
	case kindGroup:
		m, _ := v.(map[string]any)
		f.Children = buildLevel(children, m, errs, path+"/", depth+1)
		f.Set = slices.ContainsFunc(f.Children, func(c Field) bool { return c.Set })
	case kindRows:
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
	if kind == kindGroup {
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

// parseFields reads a submitted form into a document following props.
// Empty inputs are left out (the schema's "required" reports them), and so
// are groups and rows left wholly empty. Input that cannot be parsed is
// reported at its Field.Path, and kept as typed.
func parseFields(props []schema.Property, form url.Values) (map[string]any, map[string][]string) {
	errs := map[string][]string{}
	return parseLevel(props, form, "", 0, errs), errs
}

func parseLevel(props []schema.Property, form url.Values, prefix string, depth int, errs map[string][]string) map[string]any {
	doc := map[string]any{}
	for _, p := range props {
		path := prefix + escapeToken(p.Name)
		if v, ok := parseField(p, form, path, depth, errs); ok {
			doc[p.Name] = v
		}
	}
	return doc
}

func parseField(p schema.Property, form url.Values, path string, depth int, errs map[string][]string) (any, bool) {
	kind, _, children := kindOf(p, depth)
	name := "f." + path
	if _, asJSON := form[name]; asJSON && (kind == kindGroup || kind == kindRows) {
		kind = kindJSON // drawn as JSON because its value did not fit the sub-fields
	}
	fail := func(msg string, raw string) (any, bool) {
		errs[path] = append(errs[path], msg)
		return rawText(raw), true
	}
	raw := strings.TrimSpace(form.Get(name))
	switch kind {
	case kindText, kindSecret:
		return raw, raw != ""
	case kindSelect:
		if raw == "" {
			return nil, false
		}
		for _, e := range p.Enum {
			if enumString(e) == raw {
				return e, true
			}
		}
		return fail("choose one of the listed values", raw)
	case kindInteger:
		if raw == "" {
			return nil, false
		}
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n, true
		}
		return fail("must be a whole number", raw)
	case kindNumber:
		if raw == "" {
			return nil, false
		}
		if n, err := strconv.ParseFloat(raw, 64); err == nil {
			return n, true
		}
		return fail("must be a number", raw)
	case kindBool:
		if form.Get(name) == "true" {
			return true, true
		}
		return false, form.Get(name+".present") == "1"
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
					errs[path] = append(errs[path], fmt.Sprintf("row %d has a value but no name", i+1))
				}
				continue
			}
			if _, dup := m[k]; dup {
				errs[path] = append(errs[path], fmt.Sprintf("%q is given twice", k))
			}
			m[k] = val
		}
		return m, len(m) > 0
	case kindLines:
		var items []any
		for _, l := range strings.Split(form.Get(name), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				items = append(items, l)
			}
		}
		return items, len(items) > 0
	case kindGroup:
		m := parseLevel(children, form, path+"/", depth+1, errs)
		return m, len(m) > 0
	case kindRows:
		var items []any
		for _, i := range rowIndexes(form, name+"/") {
			// Rows are numbered by the form (the script adds and removes
			// them); the document counts only the rows filled in, and so
			// do the error paths, which are drawn back from the document.
			rowErrs := map[string][]string{}
			formPrefix := path + "/" + strconv.Itoa(i) + "/"
			m := parseLevel(children, form, formPrefix, depth+1, rowErrs)
			if len(m) == 0 {
				continue
			}
			docPrefix := path + "/" + strconv.Itoa(len(items)) + "/"
			for k, v := range rowErrs {
				errs[docPrefix+strings.TrimPrefix(k, formPrefix)] = v
			}
			items = append(items, m)
		}
		return items, len(items) > 0
	case kindJSON:
		if raw == "" {
			return nil, false
		}
		// The value sits inside the document and each group or row above
		// it: the whole document must stay within jsonlimit.Body.
		above := 1 + strings.Count(path, "/")
		lim := jsonlimit.Limits{MaxBytes: jsonlimit.Body.MaxBytes, MaxDepth: max(jsonlimit.Body.MaxDepth-above, 0)}
		v, err := decodeLimited([]byte(raw), lim)
		var le *jsonlimit.Error
		if errors.As(err, &le) {
			return fail(fmt.Sprintf("is refused: %v (a spec may nest %d levels, and this field is %d down)", le, jsonlimit.Body.MaxDepth, above), raw)
		}
		if err != nil {
			return fail("is not valid JSON: "+err.Error(), raw)
		}
		return v, true
	}
	return nil, false
}

// rowIndexes lists, in order, the row numbers of inputs named prefix+N/...
func rowIndexes(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, "/")
		if i, err := strconv.Atoi(n); err == nil && i >= 0 {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
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

// applyFieldErrors puts each violation of pe at the deepest field its JSON
// pointer reaches; it returns the ones that belong to no field (to be shown
// above the form).
func applyFieldErrors(fields []Field, pe *pluginapi.Error) []string {
	var rest []string
	for _, fe := range fieldErrors(pe) {
		ptr := strings.TrimPrefix(fe.Field, "/")
		f := deepestField(fields, ptr)
		if ptr == "" || f == nil {
			rest = append(rest, fe.Message)
			continue
		}
		msg := fe.Message
		if f.Path != ptr { // deeper than any field drawn
			msg += " (at " + fe.Field + ")"
		}
		f.Errors = append(f.Errors, msg)
	}
	return rest
}

// deepestField finds the field whose Path is ptr, or the deepest one
// holding it.
func deepestField(fields []Field, ptr string) *Field {
	for i := range fields {
		f := &fields[i]
		if f.Path != ptr && !strings.HasPrefix(ptr, f.Path+"/") {
			continue
		}
		if d := deepestField(f.Children, ptr); d != nil {
			return d
		}
		for j := range f.Rows {
			if d := deepestField(f.Rows[j].Fields, ptr); d != nil {
				return d
			}
		}
		return f
	}
	return nil
}

// hasErrors reports whether any field, or one below it, has an error.
func hasErrors(fields []Field) bool {
	return slices.ContainsFunc(fields, Field.HasErrors)
}

// anySet reports whether any field has a value worth showing or an error.
func anySet(fields []Field) bool {
	return slices.ContainsFunc(fields, func(f Field) bool { return f.Set || f.HasErrors() })
}

// splitOptional puts required fields first and the optional ones apart,
// to be folded under "More options", when there are enough of them for
// the fold to help.
func splitOptional(fields []Field) (main, more []Field) {
	for _, f := range fields {
		if f.Required {
			main = append(main, f)
		} else {
			more = append(more, f)
		}
	}
	if len(main) == 0 || len(more) < 4 {
		return fields, nil
	}
	return main, more
}

// countSet counts the fields holding a value (for the fold's summary).
func countSet(fields []Field) int {
	n := 0
	for _, f := range fields {
		if f.Set {
			n++
		}
	}
	return n
}

// encodeDoc marshals a parsed document (no rawText left in it).
func encodeDoc(doc map[string]any) json.RawMessage {
	b, _ := json.Marshal(doc)
	return b
}

// inRow reports whether f is a sub-field of a row (its help is shown once,
// above the rows, instead of in every row).
func inRow(f Field) bool {
	_, rest, ok := strings.Cut(f.Path, "/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts[:len(parts)-1] {
		if _, err := strconv.Atoi(p); err == nil {
			return true
		}
	}
	return false
}

// rowHints are the help texts of a rows field's columns.
func rowHints(f Field) []KV {
	if len(f.Rows) == 0 {
		return nil
	}
	var out []KV
	for _, c := range f.Rows[0].Fields {
		if c.Help != "" {
			out = append(out, KV{c.Label, c.Help})
		}
	}
	return out
}

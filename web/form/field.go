package form

import (
	"slices"
	"strings"
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
	// Group and Order are the plugin's layout of a top-level field
	// (x-group, x-order): the section it is drawn in ("" for the basics)
	// and its place.
	Group string
	Order *int
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

// The kinds of Field: the widget that edits the value.
const (
	KindText    = "text"    // a text input (with a datalist when Field.List is set)
	KindSecret  = "secret"  // a write-only password input (top-level secrets)
	KindInteger = "integer" // a whole-number input
	KindNumber  = "number"  // a number input
	KindBool    = "bool"    // a checkbox
	KindSelect  = "select"  // a drop-down of Field.Options (an enum)
	KindKV      = "kv"      // name/value rows (Field.Pairs): a map of strings
	KindLines   = "lines"   // a textarea, one item per line: a list of strings
	KindJSON    = "json"    // a JSON textarea: anything the other kinds cannot hold
	KindGroup   = "group"   // a fieldset of sub-fields (Field.Children): a closed object
	KindRows    = "rows"    // repeatable rows of sub-fields (Field.Rows): a list of closed objects
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

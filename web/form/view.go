package form

import (
	"fmt"
	"github.com/a-h/templ"
	"slices"
	"strconv"
	"strings"
)

// hasErrors reports whether any field, or one below it, has an error.
func hasErrors(fields []Field) bool {
	return slices.ContainsFunc(fields, Field.HasErrors)
}

// anySet reports whether any field has a value worth showing or an error.
func anySet(fields []Field) bool {
	return slices.ContainsFunc(fields, func(f Field) bool { return f.Set || f.HasErrors() })
}

// Section is a titled, folded part of a spec form (x-group).
type Section struct {
	Title  string
	Fields []Field
}

// laidOut reports whether the plugin lays its form out (x-group or
// x-order on some field).
func laidOut(fields []Field) bool {
	return slices.ContainsFunc(fields, func(f Field) bool { return f.Group != "" || f.Order != nil })
}

// arrange orders fields by x-order (those without one after, in schema
// order) and splits them into the basics (no x-group) and the sections,
// in the order of their first field.
func arrange(fields []Field) (basics []Field, sections []Section) {
	sorted := slices.Clone(fields)
	slices.SortStableFunc(sorted, func(a, b Field) int {
		switch {
		case a.Order == nil && b.Order == nil:
			return 0
		case a.Order == nil:
			return 1
		case b.Order == nil:
			return -1
		}
		return *a.Order - *b.Order
	})
	at := map[string]int{}
	for _, f := range sorted {
		if f.Group == "" {
			basics = append(basics, f)
			continue
		}
		i, ok := at[f.Group]
		if !ok {
			i = len(sections)
			at[f.Group] = i
			sections = append(sections, Section{Title: f.Group})
		}
		sections[i].Fields = append(sections[i].Fields, f)
	}
	return basics, sections
}

// opens reports whether a section starts open: it holds a value, an
// error, or a field the spec requires.
func opens(fields []Field) bool {
	return anySet(fields) || slices.ContainsFunc(fields, func(f Field) bool { return f.Required })
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

func itoa(n int) string { return fmt.Sprint(n) }

// rowsFor sizes a textarea to its content, within reason.
func rowsFor(s string, min int) int {
	n := strings.Count(s, "\n") + 2
	if n < min {
		return min
	}
	if n > 20 {
		return 20
	}
	return n
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// InvalidAttr is aria-invalid="true" on a field with an error, nothing
// otherwise: a bare aria-invalid reads as not invalid to assistive
// technology.
func InvalidAttr(invalid bool) templ.Attributes {
	if invalid {
		return templ.Attributes{"aria-invalid": "true"}
	}
	return nil
}

func fieldsWord(n int) string {
	if n == 1 {
		return "field"
	}
	return "fields"
}

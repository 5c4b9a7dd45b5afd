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

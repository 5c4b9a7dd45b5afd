package form

import (
	"encoding/json"
	"strings"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

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

// AtFields reports whether pe belongs at form fields: an invalid error,
// or any other (a conflict on a taken name) that names its field.
func AtFields(pe *pluginapi.Error) bool {
	return pe != nil && (pe.Code == pluginapi.CodeInvalid || pe.Field != "")
}

// Under is pe for a form of the document at base (a connection's
// "/config"): its pointers made relative to base; a violation elsewhere
// loses its pointer, so that it is shown above the form, not at a field
// that happens to have the same name.
func Under(pe *pluginapi.Error, base string) *pluginapi.Error {
	if pe == nil {
		return nil
	}
	rel := func(ptr string) string {
		if r, ok := strings.CutPrefix(ptr, base+"/"); ok {
			return "/" + r
		}
		return ""
	}
	out := *pe
	out.Field = rel(pe.Field)
	errs := fieldErrors(pe)
	for i := range errs {
		errs[i].Field = rel(errs[i].Field)
	}
	out.Detail = map[string]any{"errors": errs}
	return &out
}

// PlaceErrors puts each violation of pe at the deepest field its JSON
// pointer reaches; it returns the ones that belong to no field (to be shown
// above the form).
func PlaceErrors(fields []Field, pe *pluginapi.Error) []string {
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
			msg += " (at " + Label(nil, strings.TrimPrefix(ptr, f.Path)) + ")"
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

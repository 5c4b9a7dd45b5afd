package web

import (
	"context"
	"strconv"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// ChoiceList is the suggestions of one spec field (a <datalist>), shared
// by every input of that field (each row of a list).
type ChoiceList struct {
	ID      string
	Choices []pluginapi.Choice
}

// choiceFields calls visit with each field annotated "x-choices" and its
// field pattern, the JSON pointer with "*" for a row's index
// ("/secrets/*/name"), as the plugin's choices operation takes it.
func choiceFields(fields []Field, prefix string, visit func(f *Field, pattern string)) {
	for i := range fields {
		f := &fields[i]
		pattern := prefix + "/" + escapeToken(f.Name)
		if f.Choices {
			visit(f, pattern)
		}
		choiceFields(f.Children, pattern, visit)
		for j := range f.Rows {
			choiceFields(f.Rows[j].Fields, pattern+"/*", visit)
		}
	}
}

// fillChoices asks the plugin for the choices of v's annotated fields,
// once per field pattern, and points their inputs at the lists. A plugin
// without "choices", or one that fails, leaves plain text inputs: the
// suggestions are a help, never in the way of the form.
func (p *portal) fillChoices(ctx context.Context, caller ops.Caller, v *FormView) {
	if !v.Plugin.Describe.Supports(pluginapi.OpChoices) {
		return
	}
	ids := map[string]string{} // pattern → datalist id; "" when it failed
	choiceFields(v.Fields, "", func(f *Field, pattern string) {
		id, asked := ids[pattern]
		if !asked {
			res, err := p.host.Choices(ctx, caller, v.Conn, pattern, ops.ChoicesOptions{})
			if err != nil {
				p.log.Warn("portal: no choices for a field", "connection", v.Conn, "field", pattern, "err", err)
			} else {
				id = "choices-" + strconv.Itoa(len(v.Choices)+1)
				v.Choices = append(v.Choices, ChoiceList{ID: id, Choices: res.Choices})
			}
			ids[pattern] = id
		}
		f.List = id
	})
}

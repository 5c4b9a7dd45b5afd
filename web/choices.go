package web

import (
	"context"
	"strconv"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
)

// fillChoices asks the plugin for the choices of v's annotated fields,
// once per field pattern, and points their inputs at the lists. A plugin
// without "choices", or one that fails, leaves plain text inputs: the
// suggestions are a help, never in the way of the form.
func (p *portal) fillChoices(ctx context.Context, caller ops.Caller, v *FormView) {
	if !v.Plugin.Describe.Supports(pluginapi.OpChoices) {
		return
	}
	ids := map[string]string{} // pattern → datalist id; "" when it failed
	form.EachChoice(v.Fields, func(f *form.Field, pattern string) {
		id, asked := ids[pattern]
		if !asked {
			res, err := p.host.Choices(ctx, caller, v.Conn, pattern, ops.ChoicesOptions{})
			if err != nil {
				p.log.Warn("portal: no choices for a field", "connection", v.Conn, "field", pattern, "err", err)
			} else {
				id = "choices-" + strconv.Itoa(len(v.Choices)+1)
				v.Choices = append(v.Choices, form.ChoiceList{ID: id, Choices: res.Choices})
			}
			ids[pattern] = id
		}
		f.List = id
	})
}

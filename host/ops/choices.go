package ops

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// ChoicesOptions narrow a listing of a field's possible values.
type ChoicesOptions struct {
	// Prefix keeps the values starting with it (case sensitive).
	Prefix string
	// Limit is the most choices wanted, 1 to pluginapi.MaxChoices; 0 means
	// pluginapi.MaxChoices.
	Limit int
}

// ChoicesResult is the possible values of a spec field.
type ChoicesResult struct {
	Choices []pluginapi.Choice `json:"choices"`
	// More says the plugin has more values than were asked for: narrow
	// with a prefix.
	More bool `json:"more"`
}

// Bounds of a choices request: a field pointer and a prefix are short.
const (
	maxChoicesField  = 512
	maxChoicesPrefix = 256
)

// Choices lists the values a spec field may take on the connection's
// platform (the secrets of a swarm, say), for a form to offer. field is the
// property's JSON pointer with "*" for any array index or map key
// ("/secrets/*/name"); its schema property must be annotated "x-choices".
// Unsupported when the plugin does not offer "choices". Viewer.
func (h *Host) Choices(ctx context.Context, c Caller, conn, field string, opts ChoicesOptions) (*ChoicesResult, error) {
	// A plugin without the operation answers unsupported whatever is asked.
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "listing choices")
	if err != nil {
		return nil, err
	}
	if err := t.supports(pluginapi.OpChoices); err != nil {
		return nil, err
	}
	switch {
	case field == "":
		return nil, pluginapi.Invalid("/field", "field is required: the JSON pointer of a spec property, such as /secrets/*/name")
	case !strings.HasPrefix(field, "/"):
		return nil, pluginapi.Invalid("/field", "field must be a JSON pointer starting with /, such as /secrets/*/name")
	case len(field) > maxChoicesField:
		return nil, pluginapi.Invalid("/field", "field is longer than %d bytes", maxChoicesField)
	case len(opts.Prefix) > maxChoicesPrefix:
		return nil, pluginapi.Invalid("/prefix", "prefix is longer than %d bytes", maxChoicesPrefix)
	case opts.Limit < 0 || opts.Limit > pluginapi.MaxChoices:
		return nil, pluginapi.Invalid("/limit", "limit must be between 1 and %d (0 or none: %d)", pluginapi.MaxChoices, pluginapi.MaxChoices)
	}
	limit := opts.Limit
	if limit == 0 {
		limit = pluginapi.MaxChoices
	}
	if !hasChoices(t.p.desc.SpecSchema, field) {
		return nil, pluginapi.Invalid("/field", "plugin %s offers no choices for %s: no spec property there is annotated %s",
			t.p.rt.Name(), field, pluginapi.KeyChoices)
	}
	var resp pluginapi.ChoicesResponse
	req := pluginapi.ChoicesRequest{Request: t.request(), Field: field, Prefix: opts.Prefix, Limit: limit}
	if err := h.call(ctx, t, pluginapi.OpChoices, req, &resp); err != nil {
		return nil, err
	}
	return boundChoices(&resp, opts.Prefix, limit), nil
}

// boundChoices keeps the plugin's answer within what was asked: values
// with the prefix, at most limit (more set when some were cut). A plugin
// is not trusted to have done so.
func boundChoices(resp *pluginapi.ChoicesResponse, prefix string, limit int) *ChoicesResult {
	out := &ChoicesResult{Choices: make([]pluginapi.Choice, 0, min(len(resp.Choices), limit)), More: resp.More}
	for _, ch := range resp.Choices {
		if ch.Value == "" || !strings.HasPrefix(ch.Value, prefix) {
			continue
		}
		if len(out.Choices) == limit {
			out.More = true
			break
		}
		out.Choices = append(out.Choices, ch)
	}
	return out
}

// hasChoices reports whether the property of spec schema raw at the JSON
// pointer pattern field ("*" for any array item or map value) is annotated
// "x-choices": true. It follows "properties", "items" and
// "additionalProperties"; a property reached otherwise ($ref, allOf) is
// not found.
func hasChoices(raw json.RawMessage, field string) bool {
	node := raw
	rest, ok := strings.CutPrefix(field, "/")
	if !ok {
		return false
	}
	for _, tok := range strings.Split(rest, "/") {
		var s struct {
			Properties           map[string]json.RawMessage `json:"properties"`
			Items                json.RawMessage            `json:"items"`
			AdditionalProperties json.RawMessage            `json:"additionalProperties"`
		}
		if json.Unmarshal(node, &s) != nil {
			return false
		}
		switch {
		case tok == "*" && len(s.Items) > 0:
			node = s.Items
		case tok == "*" && len(s.AdditionalProperties) > 0:
			node = s.AdditionalProperties
		default:
			sub, ok := s.Properties[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
			if !ok {
				return false
			}
			node = sub
		}
	}
	var leaf map[string]json.RawMessage
	if json.Unmarshal(node, &leaf) != nil {
		return false
	}
	var marked bool
	return json.Unmarshal(leaf[pluginapi.KeyChoices], &marked) == nil && marked
}

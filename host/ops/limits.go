package ops

import (
	"encoding/json"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/mergepatch"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
)

// answerLimits bound a plugin's answer before it is decoded. Answers may be
// long lists, so the size is the runtime's default output cap (the runtime
// enforces its configured one first); the depth is twice a request's, room
// for a platform's raw objects.
var answerLimits = jsonlimit.Limits{MaxBytes: runtime.DefaultMaxOutputBytes, MaxDepth: 2 * jsonlimit.Body.MaxDepth}

// checkDoc refuses a document the facade takes (a spec, a patch, action
// params, a config) beyond jsonlimit.Body, naming what and the limit. The
// faces check their bodies already; a Go program embedding the host gets
// the same bound here.
func checkDoc(field, what string, doc json.RawMessage) error {
	if err := jsonlimit.Body.Check(doc); err != nil {
		return pluginapi.Invalid(field, "%s refused: %v", what, err)
	}
	return nil
}

// mergePatch applies a JSON merge patch (RFC 7386) onto base. Merging costs
// size × depth (see host/mergepatch; 20 arrays nested 9,000 deep took 15 s
// and 1.9 GB with the library used before), and the result nests no deeper
// than the deeper of its inputs, so both are bounded first; what names the
// patched document in errors.
func mergePatch(what string, base, patch json.RawMessage) (json.RawMessage, error) {
	if err := checkDoc("", "the patch", patch); err != nil {
		return nil, err
	}
	if err := jsonlimit.Body.Check(base); err != nil {
		return nil, pluginapi.Invalid("", "the current %s cannot be patched (%v): send the whole document instead", what, err)
	}
	merged, err := mergepatch.Apply(base, patch)
	if err != nil {
		return nil, pluginapi.Invalid("", "the patch cannot be applied to the %s: %v", what, err)
	}
	return merged, nil
}

// decodeAnswer decodes plugin's answer to op into resp, refusing one beyond
// answerLimits before parsing it; scrub runs on the bounded bytes.
func decodeAnswer(plugin, op string, out []byte, scrub func([]byte) []byte, resp any) error {
	if err := answerLimits.Check(out); err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s answered %s with a document the host refuses: %v", plugin, op, err)
	}
	if err := json.Unmarshal(scrub(out), resp); err != nil {
		return pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s answered %s with malformed JSON: %v", plugin, op, err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// Choices (ABI 1.3) lists the swarm's secrets or configs for the spec
// fields naming them, so that a form can offer the existing ones. Only
// names and creation dates are read: the engine never answers a secret's
// data, and a config's data is ignored.

// maxChoicesListBytes bounds the answer of a secret or config listing; a
// config listing carries every config's data (up to 500 KB each).
const maxChoicesListBytes = 16 << 20

// choiceKinds maps the fields annotated "x-choices" to the engine's kind.
var choiceKinds = map[string]string{
	"/secrets/*/name": "secret",
	"/configs/*/name": "config",
}

// Choices answers the secrets or configs whose names start with
// req.Prefix, by name, at most req.Limit.
func (provider) Choices(ctx context.Context, req *pluginapi.ChoicesRequest) (*pluginapi.ChoicesResponse, error) {
	kind, ok := choiceKinds[req.Field]
	if !ok {
		return nil, pluginapi.Invalid("/field", "no choices for field %s: this plugin lists /secrets/*/name and /configs/*/name", req.Field)
	}
	limit := req.Limit
	if limit <= 0 || limit > pluginapi.MaxChoices {
		limit = pluginapi.MaxChoices
	}
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	c := call{method: "GET", path: "/" + kind + "s", maxBody: maxChoicesListBytes}
	if req.Prefix != "" {
		// The engine matches a name filter as a prefix; kept exact below.
		c.query = url.Values{"filters": {filtersJSON(map[string][]string{"name": {req.Prefix}})}}
	}
	resp, err := e.do(c)
	if err != nil {
		return nil, err
	}
	if resp.Truncated {
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "the swarm's %ss do not fit in %d MiB: narrow the listing with a prefix", kind, maxChoicesListBytes>>20)
	}
	var listed []struct {
		CreatedAt time.Time
		Spec      struct{ Name string }
	}
	if err := json.Unmarshal(resp.Body, &listed); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected answer from the Docker engine to GET /%ss: %v", kind, err)
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].Spec.Name < listed[j].Spec.Name })
	out := &pluginapi.ChoicesResponse{Choices: []pluginapi.Choice{}}
	for _, l := range listed {
		if l.Spec.Name == "" || !strings.HasPrefix(l.Spec.Name, req.Prefix) {
			continue
		}
		if len(out.Choices) == limit {
			out.More = true
			break
		}
		label := l.Spec.Name + " (" + kind
		if !l.CreatedAt.IsZero() {
			label += ", created " + l.CreatedAt.UTC().Format("2006-01-02 15:04")
		}
		out.Choices = append(out.Choices, pluginapi.Choice{Value: l.Spec.Name, Label: label + ")"})
	}
	return out, nil
}

var _ plugin.ChoicesProvider = provider{}

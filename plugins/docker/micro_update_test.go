package main

import (
	"encoding/json"
	"testing"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// BenchmarkMicroUpdate is an update of a service made outside Wharf (with
// settings the spec does not model) from the spec a get shows: a label
// change, and the same spec again (a no-op), against recorded answers.
func BenchmarkMicroUpdate(b *testing.B) {
	for _, c := range []struct {
		name  string
		label string
	}{{"label", "1"}, {"noop", ""}} {
		b.Run(c.name, func(b *testing.B) {
			ctx, rd, _, cfg := microEnv(b, 0, dockeremu.Options{})
			if resp := rd.Do(&pluginapi.HTTPRequest{Method: "POST", Path: "/v1.47/services/create", Body: []byte(outsideSpec)}); resp.Status != 201 {
				b.Fatalf("create: %d %s", resp.Status, resp.Body)
			}
			req := pluginapi.Request{Config: cfg}
			getIn, _ := json.Marshal(pluginapi.GetRequest{Request: req, ID: "demo"})
			var got pluginapi.ServiceResponse
			_ = json.Unmarshal(check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpGet, getIn)), &got)
			var spec map[string]any
			_ = json.Unmarshal(got.Service.Spec, &spec)
			if c.label != "" {
				spec["labels"].(map[string]any)["patched"] = c.label
			}
			b2, _ := json.Marshal(spec)
			microRun(b, ctx, rd, pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: req, ID: "demo", Spec: b2})
		})
	}
}

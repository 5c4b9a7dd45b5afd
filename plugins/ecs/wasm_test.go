package main

import (
	"encoding/json"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginkit"
)

// TestWasm builds the plugin to wasm, loads it with the host's runtime,
// checks describe and runs create and get with wharf_http served by a doer
// that signs like the host, against the emulator.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm")
	}
	e := newEnv(t, ecsemu.Options{})
	w := pluginkit.BuildAndLoad(t, "./plugins/ecs")
	call := func(op string, req any, out any) {
		t.Helper()
		b := w.Call(t, e.doer, op, req)
		var r pluginapi.Response
		if json.Unmarshal(b, &r); r.Error != nil {
			t.Fatalf("%s: %v", op, r.Error)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v: %s", op, err, b)
		}
	}
	var d pluginapi.DescribeResponse
	call("describe", map[string]any{}, &d)
	if d.Name != "ecs" || pluginapi.CheckABIVersion(d.ABIVersion) != nil || !json.Valid(d.ConfigSchema) || !json.Valid(d.SpecSchema) || !d.Supports(pluginapi.OpDeployments) {
		t.Fatalf("describe: %+v", d)
	}
	var r pluginapi.ServiceResponse
	call("create", map[string]any{"config": e.publicConfig(), "spec": map[string]any{"service_name": "wasm", "task_definition": "web:1", "desired_count": 1}}, &r)
	if r.Service == nil || r.Service.Status != pluginapi.StatusDeploying {
		t.Fatalf("create: %+v", r.Service)
	}
	e.clk.Advance(step)
	call("get", map[string]any{"config": e.publicConfig(), "id": "wasm"}, &r)
	if r.Service.Status != pluginapi.StatusRunning {
		t.Fatalf("get: %s", r.Service.Status)
	}
	var l pluginapi.LogsResponse
	call("logs", map[string]any{"config": e.publicConfig(), "id": "wasm"}, &l)
	if len(l.Entries) != 1 || l.Cursor == "" {
		t.Fatalf("logs: %+v", l)
	}
}

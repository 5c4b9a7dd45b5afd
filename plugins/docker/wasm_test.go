package main

import (
	"encoding/json"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginkit"
)

// TestWasm builds the plugin to wasm, loads it with the host's runtime,
// serves wharf_http from the test's doer and runs describe, create, get
// and logs through the wasm exports.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("wasm build and compile take a few seconds")
	}
	h := newHarness(t, dockeremu.Options{})

	w := pluginkit.BuildAndLoad(t, "./plugins/docker")
	call := func(op string, req any, out any) {
		t.Helper()
		raw := w.Call(t, h.doer, op, req)
		var r pluginapi.Response
		if err := json.Unmarshal(raw, &r); err != nil || r.Error != nil {
			t.Fatalf("%s: %s %v", op, raw, err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}

	var d pluginapi.DescribeResponse
	call(pluginapi.OpDescribe, struct{}{}, &d)
	if d.Name != "docker" || pluginapi.CheckABIVersion(d.ABIVersion) != nil || !json.Valid(d.SpecSchema) || !json.Valid(d.ConfigSchema) {
		t.Fatalf("describe: %+v", d)
	}
	if want := (provider{}).Describe(); len(d.Operations) != len(want.Operations) || len(d.Actions) != len(want.Actions) {
		t.Fatalf("wasm describe differs from native: %+v", d)
	}

	var created pluginapi.ServiceResponse
	call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(`{"name":"wasm","image":"x:1","replicas":2}`)}, &created)
	h.clk.Advance(3 * time.Second)
	var got pluginapi.ServiceResponse
	call(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: created.Service.ID}, &got)
	if got.Service.Status != pluginapi.StatusRunning || *got.Service.Running != 2 {
		t.Fatalf("get through wasm: %+v", got.Service)
	}
	var logs pluginapi.LogsResponse
	call(pluginapi.OpLogs, pluginapi.LogsRequest{Request: h.req(), ID: created.Service.ID}, &logs)
	if len(logs.Entries) != 4 || logs.Cursor == "" {
		t.Fatalf("logs through wasm: %+v", logs)
	}
}

package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestWasm builds the plugin to wasm, loads it with the Extism SDK (the
// host's runtime), serves wharf_http from a test host function and runs
// describe, create, get and logs through the wasm exports.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("wasm build and compile take a few seconds")
	}
	path := wasmbuild.Build(t, "./plugins/docker")
	h := newHarness(t, dockeremu.Options{})

	hf := extism.NewHostFunctionWithStack(pluginapi.HTTPFunction, func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
		in, err := p.ReadBytes(stack[0])
		var resp *pluginapi.HTTPResponse
		var req pluginapi.HTTPRequest
		if err == nil {
			err = json.Unmarshal(in, &req)
		}
		if err != nil {
			resp = &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "bad request: %v", err)}
		} else {
			resp = h.doer.Do(&req)
		}
		out, _ := json.Marshal(resp)
		off, err := p.WriteBytes(out)
		if err != nil {
			t.Errorf("write answer: %v", err)
		}
		stack[0] = off
	}, []extism.ValueType{extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})
	hf.SetNamespace("extism:host/user")

	ctx := context.Background()
	pl, err := extism.NewPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: path}}},
		extism.PluginConfig{EnableWasi: true}, []extism.HostFunction{hf})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(ctx)
	call := func(op string, req any, out any) {
		t.Helper()
		in, _ := json.Marshal(req)
		_, raw, err := pl.Call(op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
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

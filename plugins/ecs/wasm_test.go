package main

import (
	"context"
	"encoding/json"
	"testing"

	extism "github.com/extism/go-sdk"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestWasm builds the plugin to wasm, loads it with extism, checks describe
// and runs create and get through a wharf_http host function that signs like
// the host, against the emulator.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm")
	}
	path := wasmbuild.Build(t, "./plugins/ecs")
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	host := extism.NewHostFunctionWithStack(pluginapi.HTTPFunction, func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
		in, err := p.ReadBytes(stack[0])
		resp := &pluginapi.HTTPResponse{}
		req := &pluginapi.HTTPRequest{}
		if err == nil {
			err = json.Unmarshal(in, req)
		}
		if err != nil {
			resp.Error = pluginapi.Errorf(pluginapi.CodeInternal, "bad request: %v", err)
		} else {
			resp = e.doer.Do(req)
		}
		out, _ := json.Marshal(resp)
		off, err := p.WriteBytes(out)
		if err != nil {
			panic(err)
		}
		stack[0] = off
	}, []extism.ValueType{extism.ValueTypeI64}, []extism.ValueType{extism.ValueTypeI64})
	host.SetNamespace("extism:host/user")
	pl, err := extism.NewPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: path}}},
		extism.PluginConfig{EnableWasi: true}, []extism.HostFunction{host})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(ctx)
	call := func(op string, req any, out any) {
		t.Helper()
		in, _ := json.Marshal(req)
		_, b, err := pl.Call(op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
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

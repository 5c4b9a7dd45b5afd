//go:build wasip1

package plugin

import (
	"context"
	"encoding/json"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

var registered Provider

// Register sets the provider the wasm exports serve. Call it from init.
func Register(p Provider) { registered = p }

func serve(op string) int32 {
	if registered == nil {
		pdk.OutputString(`{"error":{"code":"internal","message":"plugin did not call plugin.Register"}}`)
		return 0
	}
	pdk.Output(Dispatch(context.Background(), registered, op, pdk.Input()))
	return 0
}

//go:wasmexport describe
func describe() int32 { return serve(pluginapi.OpDescribe) }

//go:wasmexport create
func create() int32 { return serve(pluginapi.OpCreate) }

//go:wasmexport get
func get() int32 { return serve(pluginapi.OpGet) }

//go:wasmexport update
func update() int32 { return serve(pluginapi.OpUpdate) }

//go:wasmexport delete
func delete_() int32 { return serve(pluginapi.OpDelete) }

//go:wasmexport list
func list() int32 { return serve(pluginapi.OpList) }

//go:wasmexport logs
func logs() int32 { return serve(pluginapi.OpLogs) }

//go:wasmexport lifecycle
func lifecycle() int32 { return serve(pluginapi.OpLifecycle) }

//go:wasmexport instances
func instances() int32 { return serve(pluginapi.OpInstances) }

//go:wasmexport deployments
func deployments() int32 { return serve(pluginapi.OpDeployments) }

//go:wasmexport invoke
func invoke() int32 { return serve(pluginapi.OpInvoke) }

//go:wasmimport extism:host/user wharf_http
func hostHTTP(uint64) uint64

type hostDoer struct{}

func (hostDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	in, err := json.Marshal(r)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "encode http request: %v", err)}
	}
	mem := pdk.AllocateBytes(in)
	defer mem.Free()
	outOff := hostHTTP(mem.Offset())
	out := pdk.FindMemory(outOff)
	defer out.Free()
	resp := new(pluginapi.HTTPResponse)
	if err := json.Unmarshal(out.ReadBytes(), resp); err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "decode http answer: %v", err)}
	}
	return resp
}

//go:build wasip1

package plugin

import (
	"context"
	"encoding/json"
	"unsafe"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

var registered Provider

// Register sets the provider the wasm exports serve. Call it from init.
func Register(p Provider) { registered = p }

func serve(op string) int32 {
	if registered == nil {
		output([]byte(`{"error":{"code":"internal","message":"plugin did not call plugin.Register"}}`))
		return 0
	}
	output(Dispatch(context.Background(), registered, op, input()))
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

//go:wasmexport choices
func choices() int32 { return serve(pluginapi.OpChoices) }

// go-pdk manages the extism memory blocks; the bytes cross with Wharf's
// bulk copies (ABI 1.1), since go-pdk moves them one host call per 8 bytes,
// which cost a Docker get some 2,000 host calls.

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env input_offset
func inputOffset() uint64

//go:wasmimport extism:host/user wharf_load
func wharfLoad(block uint64, dst unsafe.Pointer, n uint32)

//go:wasmimport extism:host/user wharf_store
func wharfStore(block uint64, src unsafe.Pointer, n uint32)

//go:wasmimport extism:host/user wharf_http
func hostHTTP(uint64) uint64

// load copies n bytes of the extism memory at off into a new slice.
func load(off, n uint64) []byte {
	b := make([]byte, n)
	if n > 0 {
		wharfLoad(off, unsafe.Pointer(&b[0]), uint32(n))
	}
	return b
}

// loadBlock copies a whole block.
func loadBlock(m pdk.Memory) []byte { return load(m.Offset(), m.Length()) }

// store copies b into a new extism block.
func store(b []byte) pdk.Memory {
	m := pdk.Allocate(len(b))
	if len(b) > 0 {
		wharfStore(m.Offset(), unsafe.Pointer(&b[0]), uint32(len(b)))
	}
	return m
}

func input() []byte { return load(inputOffset(), inputLength()) }

func output(b []byte) { pdk.OutputMemory(store(b)) }

type hostDoer struct{}

// Do sends r through wharf_http, the body both ways raw in blocks of its
// own rather than base64 inside the JSON.
func (hostDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	req := *r
	req.AnswerBody = pluginapi.AnswerBodyBlock
	if len(req.Body) > 0 {
		body := store(req.Body)
		defer body.Free()
		req.BodyBlock, req.Body = body.Offset(), nil
	}
	in, err := json.Marshal(&req)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "encode http request: %v", err)}
	}
	inMem := store(in)
	defer inMem.Free()
	out := pdk.FindMemory(hostHTTP(inMem.Offset()))
	defer out.Free()
	resp := new(pluginapi.HTTPResponse)
	if err := json.Unmarshal(loadBlock(out), resp); err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "decode http answer: %v", err)}
	}
	if resp.BodyBlock != 0 {
		body := pdk.FindMemory(resp.BodyBlock)
		resp.Body, resp.BodyBlock = loadBlock(body), 0
		body.Free()
	}
	return resp
}

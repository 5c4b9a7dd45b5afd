package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	extism "github.com/extism/go-sdk"

	"github.com/wharfhq/wharf/pluginapi"
)

// HTTPHandler sends the HTTP requests a plugin makes through wharf_http.
// The host's egress client implements it: it checks the target against the
// connection's allowed hosts and adds the credentials the plugin never sees.
// Do must answer every failure as HTTPResponse.Error and honour ctx, which
// carries the call's deadline.
type HTTPHandler interface {
	Do(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse
}

// callKey carries a call's callState in the context wazero hands to host
// functions.
type callKey struct{}

type callState struct {
	plugin string
	op     string
	http   HTTPHandler
}

// httpHostFunction is wharf_http: (request offset) -> (response offset),
// both JSON in extism memory blocks. It never traps on the plugin's
// behalf: bad JSON, a missing handler or a handler panic come back as
// HTTPResponse.Error.
func httpHostFunction() extism.HostFunction {
	return extism.NewHostFunctionWithStack(pluginapi.HTTPFunction,
		func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
			resp := serveHTTP(ctx, cp, stack[0])
			b, err := json.Marshal(resp)
			if err != nil {
				b, _ = json.Marshal(&pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "encode http answer: %v", err)})
			}
			off, err := writeBlock(cp, b)
			if err != nil {
				// Most likely the answer does not fit in the plugin's
				// memory limit: say so in a short answer instead.
				small, _ := json.Marshal(&pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal,
					"http answer of %d bytes does not fit in plugin memory: %v", len(b), err)})
				if off, err = writeBlock(cp, small); err != nil {
					// Not even that fits: the instance is unusable, so
					// trap; the host discards it.
					panic(fmt.Sprintf("wharf_http: cannot write answer into plugin memory: %v", err))
				}
			}
			stack[0] = off
		},
		[]extism.ValueType{extism.ValueTypePTR},
		[]extism.ValueType{extism.ValueTypePTR},
	)
}

// serveHTTP decodes the plugin's request and asks the call's handler.
func serveHTTP(ctx context.Context, cp *extism.CurrentPlugin, offset uint64) (resp *pluginapi.HTTPResponse) {
	st, _ := ctx.Value(callKey{}).(*callState)
	defer func() {
		if r := recover(); r != nil {
			resp = &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler panicked: %v", r)}
		}
	}()
	raw, err := cp.ReadBytes(offset)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "read http request from plugin memory: %v", err)}
	}
	req := new(pluginapi.HTTPRequest)
	if err := json.Unmarshal(raw, req); err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "decode http request: %v", err)}
	}
	if st == nil || st.http == nil {
		op := "this call"
		if st != nil {
			op = st.op
		}
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeForbidden, "no HTTP is allowed during %s", op)}
	}
	resp = st.http.Do(ctx, req)
	if resp == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "host http handler gave no answer")}
	}
	return resp
}

// writeBlock copies b into a new extism memory block. Unlike
// CurrentPlugin.WriteBytes it checks that the allocation succeeded: the
// kernel answers offset 0 when memory is exhausted.
func writeBlock(cp *extism.CurrentPlugin, b []byte) (uint64, error) {
	off, err := cp.Alloc(uint64(len(b)))
	if err != nil {
		return 0, err
	}
	if off == 0 {
		return 0, fmt.Errorf("allocation of %d bytes failed", len(b))
	}
	if !cp.Memory().Write(uint32(off), b) {
		return 0, fmt.Errorf("write of %d bytes at %d out of range", len(b), off)
	}
	return off, nil
}

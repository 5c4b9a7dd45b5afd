package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/wharfhq/wharf/pluginapi"
)

// Dispatch runs operation op of p on a JSON request and returns the JSON
// answer. It is what the wasm exports call; native tests may call it too to
// exercise the same decoding. A panic in the provider becomes an internal
// error carrying the panic message.
func Dispatch(ctx context.Context, p Provider, op string, input []byte) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = errorJSON(&pluginapi.Error{Code: pluginapi.CodeInternal,
				Message: fmt.Sprintf("plugin panicked in %s: %v", op, r),
				Detail:  map[string]any{"stack": string(debug.Stack())}})
		}
	}()
	resp, err := dispatch(ctx, p, op, input)
	if err != nil {
		return errorJSON(pluginapi.AsError(err))
	}
	if ae, ok := p.(AnswerEncoder); ok {
		if b, ok := ae.EncodeAnswer(op, resp); ok {
			return b
		}
	}
	if b, ok := EncodeAnswer(resp); ok {
		return b
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return errorJSON(pluginapi.Errorf(pluginapi.CodeInternal, "encode %s answer: %v", op, err))
	}
	return b
}

func dispatch(ctx context.Context, p Provider, op string, input []byte) (any, error) {
	switch op {
	case pluginapi.OpDescribe:
		d := p.Describe()
		if d.ABIVersion == "" {
			d.ABIVersion = pluginapi.ABIVersion
		}
		return d, nil
	case pluginapi.OpCreate:
		return call(ctx, input, p.Create)
	case pluginapi.OpGet:
		return call(ctx, input, p.Get)
	case pluginapi.OpUpdate:
		return call(ctx, input, p.Update)
	case pluginapi.OpDelete:
		return call(ctx, input, p.Delete)
	case pluginapi.OpList:
		return call(ctx, input, p.List)
	case pluginapi.OpLogs:
		return call(ctx, input, p.Logs)
	case pluginapi.OpLifecycle:
		return call(ctx, input, p.Lifecycle)
	case pluginapi.OpInstances:
		if ip, ok := p.(InstancesProvider); ok {
			return call(ctx, input, ip.Instances)
		}
	case pluginapi.OpDeployments:
		if dp, ok := p.(DeploymentsProvider); ok {
			return call(ctx, input, dp.Deployments)
		}
	case pluginapi.OpInvoke:
		if vp, ok := p.(InvokeProvider); ok {
			return call(ctx, input, vp.Invoke)
		}
	case pluginapi.OpChoices:
		if cp, ok := p.(ChoicesProvider); ok {
			return call(ctx, input, cp.Choices)
		}
	default:
		return nil, pluginapi.Unsupported("unknown operation %q", op)
	}
	return nil, pluginapi.Unsupported("this plugin does not offer %q", op)
}

func call[Req any, Resp any](ctx context.Context, input []byte, fn func(context.Context, *Req) (*Resp, error)) (any, error) {
	req := new(Req)
	if len(input) > 0 {
		if err := json.Unmarshal(input, req); err != nil {
			return nil, pluginapi.Invalid("", "decode request: %v", err)
		}
	}
	resp, err := fn(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func errorJSON(e *pluginapi.Error) []byte {
	b, err := json.Marshal(pluginapi.Response{Error: e})
	if err != nil {
		return []byte(`{"error":{"code":"internal","message":"encode error"}}`)
	}
	return b
}

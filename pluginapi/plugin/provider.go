// Package plugin is the helper for writing a Wharf provider plugin in Go on
// github.com/extism/go-pdk. A plugin's main package calls Register with its
// Provider in init; this package holds the wasm exports, decodes requests,
// turns panics into structured errors and encodes answers.
//
//	func init() { plugin.Register(myProvider{}) }
//	func main() {}
//
// Build with: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my.wasm .
//
// The provider logic itself takes an HTTP Doer, so that it can be tested
// natively, off wasm, against an emulator with NativeDoer.
package plugin

import (
	"context"

	"github.com/wharfhq/wharf/pluginapi"
)

// Doer sends one HTTP request through the host.
type Doer interface {
	Do(req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse
}

// Provider is what a plugin implements: the required operations. Optional
// ones are the interfaces below, detected at run time; list them in
// Describe's Operations too.
type Provider interface {
	Describe() pluginapi.DescribeResponse
	Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error)
	Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error)
	Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error)
	Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error)
	List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error)
	Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error)
	Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error)
}

// InstancesProvider is implemented by providers offering "instances".
type InstancesProvider interface {
	Instances(ctx context.Context, req *pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error)
}

// DeploymentsProvider is implemented by providers offering "deployments".
type DeploymentsProvider interface {
	Deployments(ctx context.Context, req *pluginapi.DeploymentsRequest) (*pluginapi.DeploymentsResponse, error)
}

// InvokeProvider is implemented by providers offering "invoke".
type InvokeProvider interface {
	Invoke(ctx context.Context, req *pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, error)
}

// ChoicesProvider is implemented by providers offering "choices" (ABI
// 1.3): the possible values of spec fields annotated "x-choices".
type ChoicesProvider interface {
	Choices(ctx context.Context, req *pluginapi.ChoicesRequest) (*pluginapi.ChoicesResponse, error)
}

type doerKey struct{}

// WithDoer returns a context carrying d, for tests that run a Provider natively.
func WithDoer(ctx context.Context, d Doer) context.Context {
	return context.WithValue(ctx, doerKey{}, d)
}

// HTTP returns the Doer of ctx: the host function inside wasm, or the one set
// with WithDoer in native tests.
func HTTP(ctx context.Context) Doer {
	if d, ok := ctx.Value(doerKey{}).(Doer); ok {
		return d
	}
	return hostDoer{}
}

// AnswerEncoder may be implemented by a Provider to encode its successful
// answers itself; few need to, since Dispatch already writes the answers
// that carry services, logs, instances and deployments with the fast
// EncodeAnswer (encoding/json is slow inside wasm: reflection, and every
// json.RawMessage is re-validated byte by byte). Dispatch calls the
// provider's EncodeAnswer first with the operation and the answer value
// (for example a *pluginapi.ServiceResponse for get); ok false falls back
// to the default encoder, then to encoding/json. The host decodes and
// checks the answer either way, so the output must be exactly what
// encoding/json would decode to the same value.
type AnswerEncoder interface {
	EncodeAnswer(op string, answer any) (out []byte, ok bool)
}

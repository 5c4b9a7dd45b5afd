package plugin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// acme is a whole provider: Get asks the platform through the host, the
// rest is unsupported. A real plugin's main package calls
// plugin.Register(acme{}) in init and is built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
type acme struct{}

func (acme) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{Name: "acme", Version: "0.1.0", Title: "Acme",
		ConfigSchema: []byte(`{"type":"object","properties":{"endpoint":{"type":"string","x-endpoint":true},"token":{"type":"string","x-secret":true}}}`),
		SpecSchema:   []byte(`{"type":"object"}`),
		Operations:   pluginapi.RequiredOperations}
}

func (acme) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	// The host adds the token itself: the plugin names the secret, never sees it.
	resp := plugin.HTTP(ctx).Do(&pluginapi.HTTPRequest{Endpoint: "endpoint", Path: "/apps/" + req.ID,
		Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}})
	switch {
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Status == http.StatusNotFound:
		return nil, pluginapi.NotFound("app %q not found", req.ID)
	}
	return &pluginapi.ServiceResponse{Service: &pluginapi.Service{ID: req.ID, Name: strings.TrimSpace(string(resp.Body)),
		Status: pluginapi.StatusRunning}}, nil
}

func (acme) Create(context.Context, *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("create is not offered")
}
func (acme) Update(context.Context, *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("update is not offered")
}
func (acme) Delete(context.Context, *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	panic("delete is broken")
}
func (acme) List(context.Context, *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	return &pluginapi.ListResponse{}, nil
}
func (acme) Logs(context.Context, *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	return nil, pluginapi.Unsupported("no logs")
}
func (acme) Lifecycle(context.Context, *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("no actions")
}

var _ plugin.Provider = acme{}

// Dispatch runs an operation on the JSON the host sends, as the wasm
// exports do; with a NativeDoer a provider can be tried without wasm.
func ExampleDispatch() {
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apps/a1" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "web")
	}))
	defer platform.Close()
	ctx := plugin.WithDoer(context.Background(), &plugin.NativeDoer{Endpoints: map[string]string{"endpoint": platform.URL}})

	fmt.Printf("%s\n", plugin.Dispatch(ctx, acme{}, pluginapi.OpGet, []byte(`{"connection":"c","id":"a1"}`)))
	fmt.Printf("%s\n", plugin.Dispatch(ctx, acme{}, pluginapi.OpGet, []byte(`{"connection":"c","id":"zz"}`)))
	fmt.Printf("%s\n", plugin.Dispatch(ctx, acme{}, "nosuch", []byte(`{}`)))
	// Output:
	// {"service":{"id":"a1","name":"web","status":"running"}}
	// {"error":{"code":"not_found","message":"app \"zz\" not found"}}
	// {"error":{"code":"unsupported","message":"unknown operation \"nosuch\""}}
}

// Package base is a plugin.Provider for test plugins: every operation
// answers "unsupported", so a test plugin only writes the one it needs.
package base

import (
	"context"
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
)

// Provider answers describe with Name and "unsupported" to everything else.
type Provider struct {
	Name string
}

// Describe lists the required operations and minimal schemas.
func (p Provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name:         p.Name,
		Version:      "0.0.1",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Test plugin " + p.Name,
		ConfigSchema: json.RawMessage(`{"type":"object"}`),
		SpecSchema:   json.RawMessage(`{"type":"object"}`),
		Operations:   append([]string(nil), pluginapi.RequiredOperations...),
	}
}

// Create answers unsupported.
func (Provider) Create(context.Context, *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("create")
}

// Get answers unsupported.
func (Provider) Get(context.Context, *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("get")
}

// Update answers unsupported.
func (Provider) Update(context.Context, *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("update")
}

// Delete answers unsupported.
func (Provider) Delete(context.Context, *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("delete")
}

// List answers unsupported.
func (Provider) List(context.Context, *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	return nil, pluginapi.Unsupported("list")
}

// Logs answers unsupported.
func (Provider) Logs(context.Context, *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	return nil, pluginapi.Unsupported("logs")
}

// Lifecycle answers unsupported.
func (Provider) Lifecycle(context.Context, *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	return nil, pluginapi.Unsupported("lifecycle")
}

// Roundtrip answers "get" with a service made from the request, doing the
// JSON work of a real plugin (decode the request, encode a service) with
// no platform behind it: the runtime's benchmarks run it both as wasm and
// as plain Go.
type Roundtrip struct {
	Provider
}

// Get answers a running service named after the requested id.
func (Roundtrip) Get(_ context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	replicas := 2
	return &pluginapi.ServiceResponse{Service: &pluginapi.Service{
		ID:      req.ID,
		Name:    req.ID,
		Status:  pluginapi.StatusRunning,
		Desired: &replicas,
		Running: &replicas,
		Image:   "nginx:1.27",
		Labels:  map[string]string{"connection": req.Connection},
	}}, nil
}

//go:build wasip1

// Command flaky is a test plugin whose "get" does what its endpoint says:
// before anything else it asks GET <endpoint>/mode (so the test's server
// counts the calls that reached the plugin), then, by the answer, it traps
// (an unrecovered panic in another goroutine takes the module down: a real
// trap, not pluginapi/plugin's recovered one), hangs until the call
// timeout, answers not_found, or answers a running service. The failure
// policy tests drive it.
package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

const configSchema = `{
  "type": "object",
  "properties": {"endpoint": {"type": "string", "title": "Endpoint", "x-endpoint": true}},
  "additionalProperties": false
}`

type provider struct{ base.Provider }

func (p provider) Describe() pluginapi.DescribeResponse {
	d := p.Provider.Describe()
	d.ConfigSchema = json.RawMessage(configSchema)
	return d
}

// spins is global so that the compiler keeps the loop's work.
//
//lint:ignore U1000 written, never read, on purpose: the loop must not be optimized away
var spins uint64

func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	resp := plugin.HTTP(ctx).Do(&pluginapi.HTTPRequest{Method: "GET", Endpoint: "endpoint", Path: "/mode"})
	if resp.Error != nil {
		return nil, resp.Error
	}
	switch mode := strings.TrimSpace(string(resp.Body)); mode {
	case "trap":
		never := make(chan struct{})
		go func() { panic("testplugins/flaky: deliberate trap") }()
		<-never
	case "hang":
		for {
			spins++
		}
	case "notfound":
		return nil, pluginapi.NotFound("service %s not found", req.ID)
	}
	return &pluginapi.ServiceResponse{Service: &pluginapi.Service{ID: req.ID, Name: req.ID, Status: pluginapi.StatusRunning}}, nil
}

func init() { plugin.Register(provider{base.Provider{Name: "flaky"}}) }

func main() {}

// Command forbidden is a test plugin whose "get" asks the host for a URL
// that the host refuses; it returns the refusal as its own error, showing
// that a refused request reaches the plugin as data, not as a trap.
package main

import (
	"context"
	"fmt"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// URL is the address the plugin asks for.
const URL = "https://forbidden.example/secret"

type provider struct{ base.Provider }

func (provider) Get(ctx context.Context, _ *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	resp := plugin.HTTP(ctx).Do(&pluginapi.HTTPRequest{Method: "GET", URL: URL})
	if resp.Error != nil {
		return nil, resp.Error
	}
	return &pluginapi.ServiceResponse{Warnings: []string{fmt.Sprintf("unexpected answer: status %d", resp.Status)}}, nil
}

func init() { plugin.Register(provider{base.Provider{Name: "forbidden"}}) }

func main() {}

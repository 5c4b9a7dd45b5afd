// Command loops is a test plugin whose "get" never returns: the host must
// stop it with its call timeout. Before looping, get makes one HTTP request
// (its answer ignored), so a test's HTTP handler knows the call is running.
package main

import (
	"context"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

type provider struct{ base.Provider }

// spins is global so that the compiler keeps the loop's work.
//
//lint:ignore U1000 written, never read, on purpose: the loop must not be optimized away
var spins uint64

func (provider) Get(ctx context.Context, _ *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	plugin.HTTP(ctx).Do(&pluginapi.HTTPRequest{Method: "GET", URL: "https://loops.invalid/started"})
	for {
		spins++
	}
}

func init() { plugin.Register(provider{base.Provider{Name: "loops"}}) }

func main() {}

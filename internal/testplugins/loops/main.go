// Command loops is a test plugin whose "get" never returns: the host must
// stop it with its call timeout.
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

func (provider) Get(context.Context, *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	for {
		spins++
	}
}

func init() { plugin.Register(provider{base.Provider{Name: "loops"}}) }

func main() {}

// Command allocates is a test plugin whose "get" allocates memory without
// end and keeps it: the host's memory limit must stop it.
package main

import (
	"context"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

type provider struct{ base.Provider }

// hoard keeps every block reachable so the garbage collector frees nothing.
var hoard [][]byte

func (provider) Get(context.Context, *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	for {
		b := make([]byte, 1<<20)
		b[len(b)-1] = 1
		hoard = append(hoard, b)
	}
}

func init() { plugin.Register(provider{base.Provider{Name: "allocates"}}) }

func main() {}

// Command fills is a test plugin whose "get" allocates memory without end
// and writes every byte of it, so that all of it is resident: the host's
// memory limits must stop it, and its memory must go back to the system.
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
		for i := range b {
			b[i] = byte(i) | 1
		}
		hoard = append(hoard, b)
	}
}

func init() { plugin.Register(provider{base.Provider{Name: "fills"}}) }

func main() {}

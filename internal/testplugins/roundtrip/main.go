// Command roundtrip is a test plugin doing a real plugin's JSON work for
// "get" (see base.Roundtrip); the runtime's benchmarks use it.
package main

import (
	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func init() { plugin.Register(base.Roundtrip{Provider: base.Provider{Name: "roundtrip"}}) }

func main() {}

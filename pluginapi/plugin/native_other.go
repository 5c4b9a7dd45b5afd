//go:build !wasip1

package plugin

import "github.com/wharfhq/wharf/pluginapi"

// Register is a no-op off wasm: native tests call Dispatch or the Provider directly.
func Register(Provider) {}

type hostDoer struct{}

func (hostDoer) Do(*pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "no host HTTP outside wasm: use plugin.WithDoer in tests")}
}

// Command newerhost is a test plugin that needs a host of ABI 1.99
// (min_host_version), which a host speaking an older ABI must refuse.
package main

import (
	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

type provider struct{ base.Provider }

func (p provider) Describe() pluginapi.DescribeResponse {
	d := p.Provider.Describe()
	d.MinHostVersion = "1.99"
	return d
}

func init() { plugin.Register(provider{base.Provider{Name: "newerhost"}}) }

func main() {}

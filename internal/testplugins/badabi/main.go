// Command badabi is a test plugin that declares ABI 2.0, which a v1 host
// must refuse to load.
package main

import (
	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

type provider struct{ base.Provider }

func (p provider) Describe() pluginapi.DescribeResponse {
	d := p.Provider.Describe()
	d.ABIVersion = "2.0"
	return d
}

func init() { plugin.Register(provider{base.Provider{Name: "badabi"}}) }

func main() {}

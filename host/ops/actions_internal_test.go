package ops

import (
	"slices"
	"testing"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// The hint of a plugin built for ABI 1.5 is kept, cut to its declared
// actions; that of an older plugin is removed, since the host does not
// check actions against it either.
func TestKeepDeclaredActionsByABIVersion(t *testing.T) {
	declared := map[string]*schema.Schema{"start": nil, "stop": nil}
	for _, tc := range []struct {
		abi  string
		want []string
	}{
		{"1.5", []string{"stop"}},
		{"1.6", []string{"stop"}},
		{"1.4", nil},
		{"", nil},
	} {
		p := &loadedPlugin{desc: pluginapi.DescribeResponse{ABIVersion: tc.abi}, actions: declared}
		resp := &pluginapi.ListResponse{Services: []pluginapi.Service{{ID: "a", ActionsAvailable: []string{"stop", "dance"}}, {ID: "b"}}}
		p.keepDeclaredActions(resp)
		if got := resp.Services[0].ActionsAvailable; !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("ABI %q: actions available %#v, want %#v", tc.abi, got, tc.want)
		}
		if resp.Services[1].ActionsAvailable != nil {
			t.Errorf("ABI %q: no hint became %#v", tc.abi, resp.Services[1].ActionsAvailable)
		}
	}
}

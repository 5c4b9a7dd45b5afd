// Package wasmbuild is what Wharf's own tests build plugins with; it is
// pluginkit/gobuild, the public builder, under its old name.
package wasmbuild

import (
	"testing"

	"github.com/wharfhq/wharf/pluginkit/gobuild"
)

// Build compiles the main package pkg to wasm once per test process; see gobuild.Build.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	return gobuild.Build(tb, pkg)
}

// ModuleRoot returns the folder holding go.mod, found from the working directory up.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	return gobuild.ModuleRoot(tb)
}

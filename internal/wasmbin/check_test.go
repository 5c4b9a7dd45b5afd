package wasmbin

import (
	"os"
	"testing"

	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// TestCheckAcceptsRealPlugins: the check refuses none of the project's
// plugins, nor their instrumented rewrite.
func TestCheckAcceptsRealPlugins(t *testing.T) {
	for _, pkg := range []string{"./plugins/docker", "./plugins/ecs", "./internal/testplugins/good", "./internal/testplugins/loops"} {
		wasm, err := os.ReadFile(wasmbuild.Build(t, pkg))
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(wasm); err != nil {
			t.Errorf("%s: %v", pkg, err)
		}
		bin, _, err := Instrument(wasm)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(bin); err != nil {
			t.Errorf("%s instrumented: %v", pkg, err)
		}
	}
	for _, wasm := range [][]byte{testModule(false), testModule(true)} {
		if err := Check(wasm); err != nil {
			t.Errorf("test module: %v", err)
		}
	}
}

package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wharfhq/wharf/internal/wasmbin"
)

// Preemption: the rewrite itself (wasmbin.Instrument) is pure and lives in
// internal/wasmbin, with why it exists and when it can go; the runtime's
// part is the host function instrumented code calls and the choice, per
// plugin, between instrumented code and wazero's own checks (plugin.go).

// instrument is wasmbin.Instrument; a test replaces it to exercise the
// fallback to wazero's checks.
var instrument = wasmbin.Instrument

// instantiateYieldModule provides wharf:runtime.yield on rt.
func instantiateYieldModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(wasmbin.ImportModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), nil, []api.ValueType{api.ValueTypeI32}).
		Export(wasmbin.ImportFunction).
		Instantiate(ctx)
	return err
}

// yield is where instrumented code enters Go. Panicking with an error
// ends the call with that error, and the instance is discarded.
func yield(ctx context.Context, mod api.Module, stack []uint64) {
	if err := ctx.Err(); err != nil {
		panic(fmt.Errorf("stopped: %w", err))
	}
	if mod.IsClosed() {
		panic(errors.New("stopped: module closed"))
	}
	stack[0] = wasmbin.Budget
}

// Instrument rewrites a module the way the runtime does before compiling
// it (see wasmbin.Instrument), for tools that run plugin code outside a
// Plugin, such as internal/wasmexec. The result needs the host modules of
// InstantiateHostModules and a runtime without WithCloseOnContextDone.
func Instrument(wasm []byte) ([]byte, error) {
	bin, _, err := wasmbin.Instrument(wasm)
	return bin, err
}

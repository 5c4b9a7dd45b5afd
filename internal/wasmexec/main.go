// Command wasmexec runs a wasip1 Go test binary the way the Wharf runtime
// runs plugins: wazero's optimizing compiler, the Extism host modules and
// the runtime's preemption instrumentation. It exists to measure plugin
// code inside wasm piece by piece:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "go run ./internal/wasmexec" \
//	    -run '^$' -bench MicroPieces ./plugins/docker
//
// WASMEXEC_MODE picks how a call could be stopped: "wharf" (default: the
// runtime's instrumented loop budget, host/runtime/preempt.go), "wazero"
// (WithCloseOnContextDone) or "none" (no protection), for comparison.
// Host functions that need a call in progress (input, output, wharf_http)
// are not usable here: the benchmarks serve HTTP in-process.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wharfhq/wharf/host/runtime"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmexec file.wasm [args...]")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func run(path string, args []string) int {
	ctx := context.Background()
	wasm, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mode := os.Getenv("WASMEXEC_MODE")
	if mode == "" || mode == "wharf" {
		if wasm, err = runtime.Instrument(wasm); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(mode == "wazero")
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := runtime.InstantiateHostModules(ctx, rt); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mc := wazero.NewModuleConfig().
		WithArgs(append([]string{path}, args...)...).
		WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysNanotime().WithSysWalltime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			mc = mc.WithEnv(k, v)
		}
	}
	_, err = rt.InstantiateWithConfig(ctx, wasm, mc)
	if exit, ok := err.(*sys.ExitError); ok {
		return int(exit.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

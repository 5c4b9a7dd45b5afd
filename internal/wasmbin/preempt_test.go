package wasmbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// module assembles a wasm binary from (id, body) sections.
func module(sections ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s[0])
		out = appendU32(out, uint32(len(s)-1))
		out = append(out, s[1:]...)
	}
	return out
}

func sec(id byte, body ...byte) []byte { return append([]byte{id}, body...) }

// funcBody is one code-section entry: size, no locals or the given ones, code.
func funcBody(locals []byte, code ...byte) []byte {
	b := append(append([]byte{}, locals...), code...)
	return append(appendU32(nil, uint32(len(b))), b...)
}

// testModule imports env.nop and defines
//
//	count(n i32) i32: a loop run n times, each adding 3 through call_indirect
//	    (to add3, by an element segment) and calling env.nop; then add3 once more
//	spin(): loop br 0 end, forever
//	add3(x i32) i32
//
// so that the rewrite must renumber calls, exports and elements. withGlobal
// gives the module a global and a global export of its own.
func testModule(withGlobal bool, extra ...byte) []byte {
	types := sec(1, 2,
		0x60, 1, 0x7F, 1, 0x7F, // 0: (i32) -> i32
		0x60, 0, 0) // 1: () -> ()
	imports := sec(2, append(appendName(appendName([]byte{1}, "env"), "nop"), 0x00, 1)...)
	funcs := sec(3, 3, 0, 1, 0)
	table := sec(4, 1, 0x70, 0x00, 1)
	elems := sec(9, 1, 0x00, 0x41, 0x00, 0x0B, 1, 3) // table[0] = add3 (function 3)
	count := funcBody([]byte{1, 1, 0x7F},            // one i32 local
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0, 0x45, 0x0D, 1, // local.get 0; i32.eqz; br_if 1
		0x20, 1, 0x41, 0, 0x11, 0, 0, 0x21, 1, // acc = table[0](acc)
		0x10, 0, // call env.nop
		0x20, 0, 0x41, 1, 0x6B, 0x21, 0, // n -= 1
		0x0C, 0, // br 0
		0x0B, 0x0B, // end end
		0x20, 1, 0x10, 3, 0x0B) // add3(acc); end
	spin := funcBody([]byte{0}, append(extra, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B)...)
	add3 := funcBody([]byte{0}, 0x20, 0, 0x41, 3, 0x6A, 0x0B)
	code := sec(10, append(append(append([]byte{3}, count...), spin...), add3...)...)
	exports := []byte{7, 2}
	exports = append(appendName(exports, "count"), 0x00, 1)
	exports = append(appendName(exports, "spin"), 0x00, 2)
	if !withGlobal {
		return module(types, imports, funcs, table, exports, elems, code)
	}
	globals := sec(6, 1, 0x7E, 0x01, 0x42, 7, 0x0B) // (global (mut i64) (i64.const 7))
	exports[1] = 3
	exports = append(appendName(exports, "g"), 0x03, 0)
	return module(types, imports, funcs, table, globals, exports, elems, code)
}

// yield is the test's stand-in for host/runtime's: it stops the call once
// its context is done and otherwise hands out the next budget.
func yield(ctx context.Context, _ api.Module, stack []uint64) {
	if err := ctx.Err(); err != nil {
		panic(fmt.Errorf("stopped: %w", err))
	}
	stack[0] = Budget
}

func instantiateInstrumented(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	bin, loops, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if loops != 2 {
		t.Errorf("found %d loops, want 2", loops)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	t.Cleanup(func() { _ = rt.Close(ctx) })
	if _, err := rt.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), nil, []api.ValueType{api.ValueTypeI32}).
		Export(ImportFunction).Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func() {}).Export("nop").Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatalf("the rewritten module does not validate: %v", err)
	}
	return mod
}

func TestInstrumentedLoopsKeepTheirMeaningAndStop(t *testing.T) {
	for _, withGlobal := range []bool{false, true} {
		mod := instantiateInstrumented(t, testModule(withGlobal))
		ctx := context.Background()
		// 100,000 iterations spend the budget several times over.
		for _, n := range []uint64{0, 1000, 100_000} {
			res, err := mod.ExportedFunction("count").Call(ctx, n)
			if err != nil || res[0] != 3*n+3 {
				t.Fatalf("count(%d) = %v, %v; want %d", n, res, err, 3*n+3)
			}
		}
		if withGlobal && mod.ExportedGlobal("g").Get() != 7 {
			t.Errorf("the module's own global is %d, want 7", mod.ExportedGlobal("g").Get())
		}
		callCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { _, err := mod.ExportedFunction("spin").Call(callCtx); done <- err }()
		select {
		case err := <-done:
			t.Fatalf("spin returned before its context was done: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		// A garbage collection stops the world: it must not wait for the loop.
		gcDone := make(chan struct{})
		go func() { goruntime.GC(); close(gcDone) }()
		select {
		case <-gcDone:
		case <-time.After(10 * time.Second):
			t.Fatal("a GC could not stop the world while the loop ran")
		}
		cancel()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "context canceled") {
				t.Fatalf("spin stopped with %v, want the cancellation", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("spin went on after its context was cancelled")
		}
	}
}

func TestInstrumentRefusesWhatItDoesNotKnow(t *testing.T) {
	simd := testModule(false, 0xFD, 0x0C) // v128.const, without its 16 bytes
	for name, wasm := range map[string][]byte{
		"simd":      simd,
		"truncated": testModule(true)[:40],
		"not wasm":  []byte("hello, world"),
	} {
		if _, _, err := Instrument(wasm); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err %v, want ErrUnsupported", name, err)
		}
	}
}

// TestInstrumentPlugins rewrites every plugin of the project: each must be
// understood, keep validating and have its loops found.
func TestInstrumentPlugins(t *testing.T) {
	for _, dir := range []string{"./plugins/docker", "./plugins/ecs", "./plugins/peak", "./plugins/abeja", "./plugins/tenx", "./internal/testplugins/loops"} {
		wasm, err := os.ReadFile(wasmbuild.Build(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		bin, loops, err := Instrument(wasm)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if loops < 1000 {
			t.Errorf("%s: only %d loops found", dir, loops)
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		if _, err := rt.CompileModule(ctx, bin); err != nil {
			t.Errorf("%s: rewritten module does not validate: %v", dir, err)
		}
		_ = rt.Close(ctx)
	}
}

// FuzzInstrumentLoops: whatever the bytes, the rewrite returns an error or
// a module, never panics; a valid module it accepts stays valid.
//
// Inputs are bounded (fuzzMaxBytes, fuzzCompilable) so that the target runs in bounded
// memory and time: wazero's validator and compiler cost grows with the
// functions, their sizes and their nesting, and unbounded inputs took the
// fuzzer to 9–11 GB. Every compiled module is closed again.
func FuzzInstrumentLoops(f *testing.F) {
	f.Add(testModule(false))
	f.Add(testModule(true))
	f.Add(testModule(false, 0x41, 0x80, 0x80, 0x80, 0x80, 0x08, 0x1A)) // i32.const (long LEB); drop
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		if len(wasm) > fuzzMaxBytes {
			return
		}
		bin, loops, err := Instrument(wasm)
		if err != nil {
			return
		}
		if len(bin) > len(wasm)+64+20*loops {
			t.Fatalf("a %d-byte module with %d loops grew to %d bytes", len(wasm), loops, len(bin))
		}
		if !fuzzCompilable(wasm) {
			return
		}
		m, verr := compileModule(ctx, rt, wasm)
		if verr != nil {
			return
		}
		_ = m.Close(ctx)
		m, err = compileModule(ctx, rt, bin)
		if err != nil {
			t.Fatalf("valid module became invalid: %v", err)
		}
		_ = m.Close(ctx)
	})
}

// Bounds of FuzzInstrumentLoops' inputs.
const (
	fuzzMaxBytes     = 64 << 10
	fuzzMaxFunctions = 256
	fuzzMaxBody      = 8 << 10
	fuzzMaxNesting   = 64
)

// fuzzCompilable reports whether wasm is small enough to compile while
// fuzzing: few functions, body bytes and nested blocks, and sizes wazero
// can decode without allocating more than the module holds (Check).
func fuzzCompilable(wasm []byte) bool {
	if len(wasm) < 8 || Check(wasm) != nil {
		return false
	}
	r := reader{b: wasm, p: 8}
	for !r.done() && r.err == nil {
		id := r.byte()
		s := reader{b: r.bytes(int(r.u32()))}
		if id != secCode {
			continue
		}
		n := s.u32()
		if n > fuzzMaxFunctions {
			return false
		}
		for ; n > 0 && s.err == nil; n-- {
			body := s.bytes(int(s.u32()))
			if len(body) > fuzzMaxBody {
				return false
			}
			// Bytes that look like block, loop, if and end: immediates
			// are miscounted too, which only makes the bound stricter
			// or looser by a little.
			depth := 0
			for _, b := range body {
				switch b {
				case 0x02, 0x03, 0x04:
					if depth++; depth > fuzzMaxNesting {
						return false
					}
				case opEnd:
					depth = max(depth-1, 0)
				}
			}
		}
	}
	return true
}

// compileModule is rt.CompileModule after Check, with a panic of wazero's
// validator (some malformed modules) turned into an error, as the runtime
// compiles.
func compileModule(ctx context.Context, rt wazero.Runtime, wasm []byte) (m wazero.CompiledModule, err error) {
	if err := Check(wasm); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			m, err = nil, fmt.Errorf("the compiler panicked: %v", v)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

// Package wasmbin holds the host's pure functions over WebAssembly
// binaries: bytes in, bytes or an error out, no wazero. host/runtime runs
// both on every plugin before wazero sees it:
//
//   - Check refuses a module whose declared sizes would make wazero's
//     decoder allocate far more than the module's own size.
//   - Instrument rewrites a module for cheap preemption.
//
// # Preemption
//
// Stopping a plugin that loops without calling the host, and letting Go's
// scheduler and garbage collector in while it computes.
//
// Machine code compiled by wazero cannot be preempted by the Go runtime, so
// a goroutine running a long wasm loop would hold up every stop-the-world
// pause of the host (and a plugin looping forever would hang the host).
// wazero's answer, WithCloseOnContextDone, calls back into Go at the header
// of every wasm loop; Go's wasm output runs every jump of a function
// through its loop header, and that made Go plugins 4–7× slower on JSON
// work (measured with internal/wasmexec).
//
// Instrument does the same job for a fraction of the cost: it gives the
// module a counter (a mutable i32 global) and, at every loop header,
// decrements it; when it reaches zero the module calls the host function
// ImportModule.ImportFunction (wharf:runtime.yield, provided by
// host/runtime), which is a preemption point for Go, fails the call if its
// context is done or its module closed, and otherwise returns the next
// budget. A loop thus enters Go every Budget iterations instead of every
// iteration.
//
// The rewrite understands the core instruction set with the sign-extension,
// saturating-conversion, bulk-memory, reference-type and tail-call
// extensions. A module using anything else (SIMD, threads, exceptions, GC)
// is refused with ErrUnsupported, and the runtime compiles it unchanged
// with wazero's own checks instead.
//
// # When to delete the rewrite
//
// The rewrite exists only because wazero's own interrupt check is costly.
// wazero issue #2466 ("Very large performance impact of
// WithCloseOnContextDone(true)") tracks the fix, with pull requests #2482
// (WithInterruptCheckInterval: check every Nth loop iteration), #2525 (an
// inline check of the module's closed state at loop back-edges) and #2533
// (the check done natively, the goroutine marked as in a syscall while
// wasm runs). Once a wazero release ships one of them, measure Go plugins
// with WithCloseOnContextDone against this rewrite (internal/wasmexec,
// cmd/bench); if wazero is close enough, drop Instrument, the yield host
// function and the wharf-preempt cache folder, and compile every plugin
// with WithCloseOnContextDone.
package wasmbin

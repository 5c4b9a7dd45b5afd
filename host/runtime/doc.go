// Package runtime loads Wharf provider plugins (WebAssembly modules built
// against the Extism ABI) and runs their operations safely and in parallel.
//
// # Loading
//
// [Runtime.Load] reads <name>.wasm and the optional manifest <name>.json
// beside it:
//
//	{"name": "docker", "sha256": "<hex>", "limits": {"timeout_ms": 10000, "memory_mb": 128, "pool_size": 4}}
//
// The manifest is decoded strictly (an unknown field is an error), a sha256
// that does not match the file refuses the plugin, and its limits may only
// lower the host's [Config]. Its name, when given, replaces the one the
// plugin reports. Its failure_policy ([Plugin.FailurePolicy]) is kept for
// the host's breakers (host/breaker); [FaultOf] tells them which failed
// calls were the plugin's fault (a trap, its own timeout). Then describe is called on a throwaway instance run by
// wazero's interpreter, which prepares a module about ten times faster
// than the optimising compiler, so that a cold start lists its plugins
// within a second or so instead of after several seconds of compiling. The
// answer is checked: the ABI major version must be ours, the name must be
// lowercase letters, digits and dashes, and every required operation and
// every optional one the plugin lists must really be exported. A module that
// imports a function the host does not provide (or with another
// signature) is refused at load, naming the import. [Runtime.LoadDir]
// does this for every *.wasm file of a folder, several at a time, and
// reports each file that failed on its own, so one bad plugin never keeps
// the others out. Before wazero sees a module, wasmbin.Check (internal/wasmbin)
// walks it without allocating and refuses a file over 128 MiB or one that
// declares more entries or bytes than it holds: wazero's decoder allocates
// what a module declares, and a 15-byte file declaring 2^32 functions made
// it ask for 16 GiB, a fatal out of memory under a memory limit.
//
// # Machine code on demand
//
// A Go plugin compiles to some 20–25 MB of machine code, which stays
// resident while it is loaded, so it is only made when a call needs it:
// the first call compiles the module with the optimising compiler (callers
// arriving meanwhile wait for the same compilation), or, with
// Config.CacheDir, reads it from the [wazero.CompilationCache] folder,
// which every plugin and every start of the host share. Closing a plugin
// frees its code. With a cache folder, what load learnt (the describe
// answer and the exported operations) is also kept there, keyed by the
// wasm's sha256 and the memory limit, and checked again at the next load
// like a fresh answer: a warm start runs no plugin code at all. A plugin
// loaded with a fresh describe is then compiled in the background, one at
// a time, to fill the disk cache, and its code freed again unless a call
// is using it. The file is read again for compiling and refused if its
// sha256 is no longer the one loaded. The module as rewritten for
// preemption (internal/wasmbin) is kept in the cache folder too, and the memory
// a real compilation used is given back to the system at once.
//
// # The Extism host ABI
//
// Plugins are Extism plug-ins, but no Extism SDK runs them: this package
// implements the Extism host functions (module "extism:host/env": memory
// blocks, input, output, error, variables, config, logging) itself, in Go,
// on a plain byte slice per instance (see abi.go and memory.go). The
// Extism Go SDK routes every one of those calls through a second wasm
// module and looks its functions up again on each call, which made a small
// call cost some 60–90 µs and 217 KB of garbage; natively it is a few µs
// and under 1 KB, most of it wazero's and the context's. Every function of
// the SDK's env module is provided, so plugins of any Extism PDK load; the
// differences are on the side of safety (Extism's own http_request traps,
// config_get finds nothing, variables last one call, loads and stores
// outside the memory trap). An instance's language runtime is initialised
// once, when it is created (_initialize of a WASI reactor such as a Go
// c-shared module), and its exported functions are looked up once.
// Beside wharf_http, module "extism:host/user" offers wharf_load and
// wharf_store (ABI 1.1): one host call copies a whole block between the
// Extism memory and the plugin's own, where the PDKs take one per 8 bytes.
// A plugin that reports failure with Extism's error_set gets that message
// as the call's internal error; its instance is kept, as nothing trapped.
//
// # Pooling
//
// An instance runs one call at a time, and creating one costs far
// more than a call (Go plugins initialise their runtime first). Each
// [Plugin] therefore keeps a pool, empty after load: a call takes an idle
// instance, or creates one while fewer than PoolSize exist, or waits for
// one to come back. Calls on different instances run in parallel; idle
// instances are reused most-recent first.
//
// The pool is shared by every connection of the plugin, so it is shared
// fairly (pool.go): [Plugin.CallFor] names the connection a call is for,
// one connection runs at most MaxConnectionCalls calls at once (half the
// pool by default), and a freed instance goes to the waiting connections
// in turn, not to whichever caller wins a race. No call waits longer than
// MaxWait (10 s by default, a third of the call timeout): it then fails
// with a retryable unavailable error saying whether its connection had
// used its share or every instance was busy. A connection whose endpoint
// never answers thus slows only itself.
//
// # Memory
//
// Each instance's memory is bounded by its plugin's limit, and all of them
// together by Config.MaxTotalMemoryBytes (budget.go): a wasm memory or an
// Extism block memory takes its bytes from that budget as it grows, and a
// growth the budget cannot cover fails inside the plugin, whose call then
// ends with a retryable unavailable error naming the budget rather than
// the plugin's own limit. On Linux and macOS a wasm memory lives in an
// anonymous mapping of its own, reserved at its maximum and made usable as
// it grows (mapping_unix.go): it never moves, so growing copies nothing
// (wazero's own memories are Go slices, copied on every growth, which took
// eight hungry calls to 1.8 GB of RSS and 30-second timeouts), and it is
// unmapped, back to the system, when its instance is dropped. A memory
// wazero frees while a call still runs on it (a plugin closed under a
// running call) is unmapped when that call returns.
//
// # Discard on failure
//
// A call that traps, times out or runs out of memory leaves its instance in
// a state nobody can trust: a Go plugin that panicked has already exited, a
// timed-out one was stopped in the middle of its work (the runtime rewrites
// every module so that its loops enter the host every few thousand
// iterations, where a call past its deadline is ended; see internal/wasmbin), a
// trapped one may hold half-written memory. Such an
// instance is closed and dropped, never pooled again; the next call gets a
// fresh one, so one bad request never poisons the following ones. Each
// instance writes its stderr to a small buffer of its own, which is how the
// error of a crashed call carries the plugin's own panic message (Go prints
// "panic: ..." to stderr before exiting). A call whose answer is merely too
// large keeps its instance.
//
// # Why the host owns HTTP
//
// Plugins get no sockets, no files and no environment. Their only way out
// is the host function wharf_http (module "extism:host/user"), which hands
// the request to the [HTTPHandler] given to that very [Plugin.Call]. The
// host's handler checks the target against the connection's allowed hosts,
// adds credentials and enforces timeouts and size caps. So secrets never
// enter plugin memory, a compromised or buggy plugin cannot reach anything
// the connection does not allow, and every request can be audited in one
// place. Failures of that path (bad request JSON, no handler, a handler
// panic) come back to the plugin as HTTPResponse.Error, never as a trap.
// Extism's own http_request host function traps.
package runtime

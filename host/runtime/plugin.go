package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/pluginapi"
)

// Plugin is one loaded plugin: its compiled module and a pool of instances.
// It is safe for concurrent use; calls on different instances run in
// parallel.
type Plugin struct {
	rt          *Runtime
	name        string
	path        string
	digest      string
	trust       plugintrust.Verdict
	describe    pluginapi.DescribeResponse
	ops         map[string]bool // operations Call accepts; all exported
	timeout     time.Duration
	memoryLimit uint64
	failure     breaker.Policy // the manifest's failure_policy; zero fields unset
	maxOutput   int
	log         *slog.Logger
	registered  bool

	pool      *pool
	closeOnce sync.Once
	closeErr  error

	codeMu sync.Mutex
	code   *code   // the compiled plugin, nil until a call needs it
	flight *flight // the compilation in progress, if any
	closed bool    // Close has begun: no more code
}

// code is a plugin compiled to machine code, with the wazero runtime its
// instances live in (the plugin's own: the memory limit is runtime-wide)
// and its own cache handle, so that closing them frees the machine code.
type code struct {
	rt    wazero.Runtime
	mod   wazero.CompiledModule
	cache wazero.CompilationCache
}

// close ends every instance and frees the machine code; the disk cache
// keeps its copy.
func (c *code) close() error {
	err := c.rt.Close(context.Background())
	return errors.Join(err, c.cache.Close(context.Background()))
}

// errCodeWait marks a call that stopped waiting for the plugin's code.
var errCodeWait = errors.New("its code was still compiling")

// flight is one compilation that callers wait for together.
type flight struct {
	done chan struct{}
	code *code
	err  error
}

// loadCode returns the plugin's machine code, compiling it (or reading it
// from the compilation cache) on first use. Concurrent callers share one
// compilation, which goes on even if they stop waiting.
func (p *Plugin) loadCode(ctx context.Context) (*code, error) {
	p.codeMu.Lock()
	if p.code != nil {
		c := p.code
		p.codeMu.Unlock()
		return c, nil
	}
	if p.closed {
		p.codeMu.Unlock()
		return nil, errClosed
	}
	f := p.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		p.flight = f
		p.rt.compiling.Add(1)
		go p.compileFlight(f)
	}
	p.codeMu.Unlock()
	select {
	case <-f.done:
		return f.code, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Plugin) compileFlight(f *flight) {
	defer p.rt.compiling.Done()
	start := time.Now()
	c, compiled, err := p.compileCode()
	p.codeMu.Lock()
	p.flight = nil
	if err == nil && p.closed {
		_ = c.close()
		c, err = nil, errClosed
	}
	p.code = c
	p.codeMu.Unlock()
	f.code, f.err = c, err
	close(f.done)
	if err == nil {
		p.log.Debug("plugin code ready", "plugin", p.label(), "took", time.Since(start))
	}
	if compiled {
		freeScratchMemory() // after close(f.done): callers do not wait for it
	}
}

// compileCode reads the wasm file again, refusing it if it changed since
// load (its describe would not be its own), and compiles it through the
// compilation cache. compiled says the code was built now rather than read
// from the cache: the compiler's scratch memory is then worth freeing.
func (p *Plugin) compileCode() (_ *code, compiled bool, _ error) {
	wasm, err := readModule(p.path)
	if err != nil {
		return nil, false, err
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != p.digest {
		// The file was replaced (hot plug) while this version still serves
		// until the new one is swapped in: its instrumented copy in the
		// cache folder, made from the loaded bytes, will do.
		if !p.hasInstrumentedCopy() {
			return nil, false, fmt.Errorf("%s changed since the plugin was loaded; load it again", p.path)
		}
		wasm = nil
	}
	cache, err := p.rt.newCache()
	if err != nil {
		return nil, false, err
	}
	bin, preempt, rewritten := p.preemptible(wasm)
	// wazero's disk cache key ignores WithCloseOnContextDone, so the same
	// bytes must always get the same setting: instrumented bytes never need
	// it, original bytes always have it.
	cfg := wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(!preempt)
	rt, mod, err := p.newWazero(context.Background(), cfg, bin)
	if err != nil && preempt && !rewritten {
		// A damaged cache entry: rewrite from the original and try again.
		p.log.Warn("ignoring a bad instrumented-code cache entry", "plugin", p.label(), "error", err)
		_ = os.Remove(p.rt.instrumentedPath(p.digest))
		bin, preempt, rewritten = p.preemptible(wasm)
		cfg = cfg.WithCloseOnContextDone(!preempt)
		rt, mod, err = p.newWazero(context.Background(), cfg, bin)
	}
	if err != nil {
		_ = cache.Close(context.Background())
		return nil, false, fmt.Errorf("compile: %v", err)
	}
	return &code{rt: rt, mod: mod, cache: cache}, rewritten, nil
}

// preemptible returns the bytes to compile: wasm instrumented for
// preemption (preempt) or, for a module the rewrite does not support,
// wasm itself. The rewrite of a Go plugin takes some 60 ms, so its result
// is kept in the cache folder beside the machine code; rewritten says it
// was done now, which also means the machine code is not cached yet.
func (p *Plugin) preemptible(wasm []byte) (bin []byte, preempt, rewritten bool) {
	path := p.rt.instrumentedPath(p.digest)
	if path != "" {
		if b, err := os.ReadFile(path); err == nil {
			return b, true, false
		}
	}
	bin, loops, err := instrument(wasm)
	if err != nil {
		p.log.Info("plugin code stopped by wazero's own checks at its deadline (slower)", "plugin", p.label(), "reason", err)
		return wasm, false, true
	}
	p.log.Debug("plugin instrumented for preemption", "plugin", p.label(), "loops", loops)
	if path != "" {
		if err := writeFileAtomic(path, bin); err != nil {
			p.log.Warn("cannot cache a plugin's instrumented code", "path", path, "error", err)
		}
	}
	return bin, true, true
}

// Warm compiles the plugin's code now, instead of when a call first needs
// it, and keeps it: hot plug warms a new version before swapping it in.
func (p *Plugin) Warm(ctx context.Context) error {
	_, err := p.loadCode(ctx)
	return err
}

// hasInstrumentedCopy reports whether the cache folder holds this
// version's instrumented code, which preemptible then uses.
func (p *Plugin) hasInstrumentedCopy() bool {
	path := p.rt.instrumentedPath(p.digest)
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// releaseCode frees the machine code if no instance uses it; the next call
// loads it again from the compilation cache.
func (p *Plugin) releaseCode() {
	p.pool.mu.Lock()
	var c *code
	if p.pool.live == 0 {
		// live counts an instance before it asks for the code, so none can
		// be on its way to using c.
		p.codeMu.Lock()
		c, p.code = p.code, nil
		p.codeMu.Unlock()
	}
	p.pool.mu.Unlock()
	if c != nil {
		_ = c.close()
	}
}

// Name is the plugin's name: from its manifest, else from describe.
func (p *Plugin) Name() string { return p.name }

// Describe is the plugin's describe answer, fetched once at load.
func (p *Plugin) Describe() pluginapi.DescribeResponse { return p.describe }

// Path is the wasm file the plugin was loaded from.
func (p *Plugin) Path() string { return p.path }

// Digest is the sha256 of the wasm file, in hex.
func (p *Plugin) Digest() string { return p.digest }

// FailurePolicy is the manifest's failure_policy: zero fields are unset,
// for the host's defaults to fill (breaker.Policy.WithDefaults).
func (p *Plugin) FailurePolicy() breaker.Policy { return p.failure }

// Trust is what the signature check found when the plugin loaded.
func (p *Plugin) Trust() plugintrust.Verdict { return p.trust }

// PoolStats reports the plugin's instance pool: its size, live and idle
// instances, calls running and calls waiting for an instance.
func (p *Plugin) PoolStats() PoolStats { return p.pool.snapshot() }

// label names the plugin in messages, even before describe gave its name.
func (p *Plugin) label() string {
	if p.name != "" {
		return p.name
	}
	return filepath.Base(p.path)
}

// Call runs operation op with the JSON input on an idle instance, waiting
// while all PoolSize instances are busy. Requests the plugin makes through
// wharf_http go to http (nil refuses them all). It returns the plugin's raw
// JSON answer, which may itself hold {"error": ...}. Its own failures are
// *pluginapi.Error: timeout, internal (trap, too much output), unavailable
// (ctx done while waiting, plugin closed), unsupported (no such operation).
func (p *Plugin) Call(ctx context.Context, op string, input []byte, http HTTPHandler) ([]byte, error) {
	return p.CallFor(ctx, "", op, input, http)
}

// CallFor is Call made on behalf of key, the connection the call serves.
// The calls of one key run on at most Config.MaxConnectionCalls of the
// plugin's instances at once, and a freed instance goes to the waiting
// keys in turn, so one slow or hostile connection cannot starve the
// others of the same plugin. A call that gets no instance within
// Config.MaxWait fails with a retryable unavailable error saying why. Call
// is CallFor with no key, bounded by the pool size only.
func (p *Plugin) CallFor(ctx context.Context, key, op string, input []byte, http HTTPHandler) ([]byte, error) {
	if !p.ops[op] {
		return nil, pluginapi.Unsupported("plugin %s does not offer operation %q", p.label(), op)
	}
	inst, err := p.pool.acquire(ctx, key)
	if err != nil {
		return nil, p.waitError(key, op, err)
	}
	keep := false
	defer func() { p.pool.release(inst, key, keep && !inst.oversized()) }()
	return p.run(ctx, inst, op, input, http, &keep)
}

// retainMemoryLimit is the largest wasm memory an instance may have and still
// go back to the pool. A Go plugin's heap never shrinks, so one large call (a
// long log read, a big listing) would otherwise pin that much memory for
// every pooled instance for good; a fresh instance costs a few milliseconds.
const retainMemoryLimit = 64 << 20

// oversized reports whether inst's memory grew past retainMemoryLimit.
func (i *instance) oversized() bool {
	m := i.mod.Memory()
	return m != nil && uint64(m.Size()) > retainMemoryLimit
}

// waitError explains why no instance could be had for a call of op made
// for key.
func (p *Plugin) waitError(key, op string, err error) error {
	if busy := (*busyError)(nil); errors.As(err, &busy) {
		return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true,
			Message: fmt.Sprintf("plugin %s: %s: %v; try again later", p.label(), op, busy),
			Detail:  map[string]any{"plugin": p.label(), "operation": op, "connection": key}}
	}
	if errors.Is(err, errClosed) {
		return closedError{pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s is closed", p.label())}
	}
	if errors.Is(err, errBudget) {
		return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true,
			Message: fmt.Sprintf("plugin %s: cannot start an instance for %s: %v", p.label(), op, err),
			Detail:  map[string]any{"plugin": p.label(), "operation": op, "connection": key}}
	}
	if errors.Is(err, errCodeWait) {
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s: gave up waiting for %s: %v", p.label(), op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s: gave up waiting for a free instance for %s: %v", p.label(), op, err)
	}
	// Its code or initialisation failed: the plugin's own fault.
	return withFault(pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s: cannot start an instance for %s: %v", p.label(), op, err), FaultTrap)
}

// run makes one call on inst under the plugin's timeout. It sets *keep when
// the instance is still sound and may serve the next call.
func (p *Plugin) run(ctx context.Context, inst *instance, op string, input []byte, http HTTPHandler, keep *bool) ([]byte, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	st := inst.state
	defer st.end()
	if err := st.begin(callCtx, op, input, http); err != nil {
		*keep = true
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s: %v", p.label(), op, err),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}

	inst.stderr.Reset()
	if !inst.memory.enter() {
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s is closed", p.label())
	}
	rc, err := inst.call(context.WithValue(callCtx, stateKey{}, st), op)
	overBudget := inst.memory.leave() || st.mem.refused
	stderr := inst.stderr.String()
	if stderr != "" {
		p.log.DebugContext(ctx, "plugin stderr", "plugin", p.label(), "op", op, "stderr", stderr)
	}
	if exit := (*sys.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 0 {
		// The plugin exited cleanly (proc_exit(0)): its answer stands, as
		// with the Extism SDK, but its module is closed for good.
		err = nil
	} else {
		*keep = err == nil
	}
	if err != nil {
		// Whatever happened, the instance's state cannot be trusted: a Go
		// plugin that panicked has exited, a timed-out module was closed by
		// wazero, and a trapped one may hold half-written memory.
		e, fault := p.callError(ctx, callCtx, op, err, stderr)
		if overBudget && e.Code == pluginapi.CodeInternal {
			// Not the plugin's fault: the host's other instances hold the memory it needed.
			e.Code, e.Retryable = pluginapi.CodeUnavailable, true
			e.Message = fmt.Sprintf("plugin %s: %s ran out of memory: %s", p.label(), op, budgetError(p.rt.budget))
			fault = ""
		}
		p.log.WarnContext(ctx, "plugin call failed; instance discarded", "plugin", p.label(), "op", op, "error", e.Message)
		return nil, withFault(e, fault)
	}
	if st.errorOff != 0 {
		// The plugin reported a failure through error_set (Extism's way,
		// used by PDKs other than Go's): that is the call's error. The
		// instance did not trap, so it is kept.
		msg := st.blockStringOr(st.errorOff, "(error_set with a bad offset)")
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s failed: %s", p.label(), op, firstLine(msg)),
			Detail:  map[string]any{"plugin": p.label(), "operation": op, "plugin_error": msg}}
	}
	if rc != 0 {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s returned status %d", p.label(), op, rc),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}
	if st.outLen > uint64(p.maxOutput) {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s answered %d bytes, more than the %d allowed", p.label(), op, st.outLen, p.maxOutput),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}
	out, ok := st.mem.span(st.outputOff, st.outLen)
	if !ok {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s set an output of %d bytes at offset %d, outside its memory", p.label(), op, st.outLen, st.outputOff),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}
	answer := make([]byte, len(out))
	copy(answer, out)
	return answer, nil
}

// callError turns a failed call into a *pluginapi.Error, and says whose
// fault it was (see FaultOf): the caller's deadline or cancellation is not
// the plugin's.
func (p *Plugin) callError(ctx, callCtx context.Context, op string, err error, stderr string) (*pluginapi.Error, string) {
	detail := map[string]any{"plugin": p.label(), "operation": op, "wasm_error": err.Error()}
	if stderr != "" {
		detail["stderr"] = stderr
	}
	if callCtx.Err() != nil {
		switch ctx.Err() {
		case context.Canceled:
			return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true, Detail: detail,
				Message: fmt.Sprintf("plugin %s: %s was cancelled", p.label(), op)}, ""
		case context.DeadlineExceeded:
			return &pluginapi.Error{Code: pluginapi.CodeTimeout, Retryable: true, Detail: detail,
				Message: fmt.Sprintf("plugin %s: %s did not finish before the caller's deadline", p.label(), op)}, ""
		}
		return &pluginapi.Error{Code: pluginapi.CodeTimeout, Retryable: true, Detail: detail,
			Message: fmt.Sprintf("plugin %s: %s did not finish within %s", p.label(), op, p.timeout)}, FaultTimeout
	}
	why := crashText(stderr)
	if why == "" {
		why = firstLine(err.Error())
	}
	if strings.Contains(stderr, "out of memory") {
		return &pluginapi.Error{Code: pluginapi.CodeInternal, Detail: detail,
			Message: fmt.Sprintf("plugin %s ran out of memory in %s (limit %d MiB): %s", p.label(), op, p.memoryLimit>>20, why)}, FaultTrap
	}
	return &pluginapi.Error{Code: pluginapi.CodeInternal, Detail: detail,
		Message: fmt.Sprintf("plugin %s crashed in %s: %s", p.label(), op, why)}, FaultTrap
}

// crashText picks the Go runtime's panic or fatal error message out of a
// plugin's stderr: the text from "panic: " or "fatal error: " up to the
// blank line before the stack.
func crashText(stderr string) string {
	for _, marker := range []string{"panic: ", "fatal error: "} {
		i := strings.Index(stderr, marker)
		if i < 0 {
			continue
		}
		s := stderr[i:]
		if j := strings.Index(s, "\n\n"); j >= 0 {
			s = s[:j]
		}
		s = strings.TrimSpace(s)
		if len(s) > 1000 {
			s = s[:1000] + "…"
		}
		return s
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Close refuses new calls, waits for running ones until ctx is done, then
// frees the compiled module; calls still running then fail.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		if p.registered {
			p.rt.unregister(p)
		}
		if p.pool != nil {
			p.pool.close(ctx)
		}
		// Closing the code closes every module left and frees the machine
		// code; the disk cache keeps its copy. A compilation in flight frees
		// its own when it ends.
		p.codeMu.Lock()
		p.closed = true
		c := p.code
		p.code = nil
		p.codeMu.Unlock()
		if c != nil {
			p.closeErr = c.close()
		}
	})
	return p.closeErr
}

// instance is one instantiated module with its own stderr capture and
// call state.
type instance struct {
	mod    api.Module
	fns    map[string]api.Function // exported functions looked up so far
	stderr *stderrBuffer
	state  *callState
	stack  [1]uint64 // an operation's result, without allocating one per call
	memory *instanceMemory
}

// stderrLimit bounds what is kept of one call's stderr.
const stderrLimit = 16 << 10

// newInstance instantiates the compiled plugin and initialises its
// language runtime. Real clocks and randomness are given because wazero's
// defaults are deterministic fakes; no files, no sockets, no environment.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	c, err := p.loadCode(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", errCodeWait, ctx.Err())
		}
		return nil, err
	}
	return p.instantiate(ctx, c.rt, c.mod)
}

// instantiate makes an instance of the module m compiled on rt.
func (p *Plugin) instantiate(ctx context.Context, rt wazero.Runtime, m wazero.CompiledModule) (*instance, error) {
	buf := newStderrBuffer(stderrLimit)
	cfg := wazero.NewModuleConfig().
		WithName("").         // anonymous, so that many instances can coexist
		WithStartFunctions(). // _start of a command module would run main and exit
		WithStderr(buf).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	im := &instanceMemory{budget: p.rt.budget}
	mod, err := instantiateWith(ctx, rt, m, cfg, im)
	if err != nil {
		im.close()
		return nil, err
	}
	inst := &instance{mod: mod, fns: map[string]api.Function{}, stderr: buf, state: newCallState(p), memory: im}
	if err := p.initialize(ctx, inst, m.ExportedFunctions()); err != nil {
		inst.close()
		return nil, err
	}
	return inst, nil
}

// initialize runs the module's initialisers once, as the Extism SDK does
// before an instance's first call: the WASI reactor's _initialize (a Go
// c-shared module starts its runtime there) or else a command module's
// __wasm_call_ctors, then hs_init of a Haskell module. They run under the
// call timeout, so a module that hangs while starting is stopped too.
func (p *Plugin) initialize(ctx context.Context, inst *instance, exports map[string]api.FunctionDefinition) error {
	var inits []string
	for _, name := range []string{"_initialize", "__wasm_call_ctors"} {
		if def, ok := exports[name]; ok && len(def.ParamTypes()) == 0 {
			inits = append(inits, name)
			break
		}
	}
	if _, ok := exports["hs_init"]; ok {
		inits = append(inits, "hs_init")
	}
	if len(inits) == 0 {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	st := inst.state
	defer st.end()
	if err := st.begin(callCtx, "initialization", nil, nil); err != nil {
		return err
	}
	callCtx = context.WithValue(callCtx, stateKey{}, st)
	for _, name := range inits {
		fn := inst.mod.ExportedFunction(name)
		params := make([]uint64, len(fn.Definition().ParamTypes())) // hs_init(0, 0)
		if !inst.memory.enter() {
			return errClosed
		}
		_, err := fn.Call(callCtx, params...)
		overBudget := inst.memory.leave() || st.mem.refused
		if err != nil && overBudget {
			return fmt.Errorf("%w: %s: %s", errBudget, name, budgetError(p.rt.budget))
		}
		if err != nil {
			why := crashText(inst.stderr.String())
			if why == "" {
				why = firstLine(err.Error())
			}
			if callCtx.Err() != nil {
				why = fmt.Sprintf("did not finish within %s", p.timeout)
			}
			return fmt.Errorf("%s: %s", name, why)
		}
	}
	return nil
}

// call runs the exported function op and returns its status (0 when it
// returns nothing). Exports are looked up once per instance: a lookup
// builds a new wazero call engine, which costs more than the call.
func (i *instance) call(ctx context.Context, op string) (uint32, error) {
	fn := i.fns[op]
	if fn == nil {
		if fn = i.mod.ExportedFunction(op); fn == nil {
			return 1, fmt.Errorf("unknown function: %s", op)
		}
		i.fns[op] = fn
	}
	def := fn.Definition()
	if len(def.ParamTypes()) != 0 || len(def.ResultTypes()) > 1 {
		return 1, fmt.Errorf("export %s is %s, want () -> (i32)", op, signature(def))
	}
	if len(def.ResultTypes()) == 0 {
		return 0, fn.CallWithStack(ctx, nil)
	}
	if err := fn.CallWithStack(ctx, i.stack[:]); err != nil {
		return 0, err
	}
	return api.DecodeU32(i.stack[0]), nil
}

// close closes the module and gives its memories back to the system and
// the budget.
func (i *instance) close() {
	_ = i.mod.Close(context.Background())
	i.memory.close()
	i.state.mem.release()
}

// errBudget marks an instance that could not be made within the host's
// memory budget.
var errBudget = errors.New("memory budget")

// instantiateWith instantiates m with its memory allocated by im. A
// minimum memory the budget cannot cover is refused up front; wazero
// panics when an allocator refuses it, which is caught here as well.
func instantiateWith(ctx context.Context, rt wazero.Runtime, m wazero.CompiledModule, cfg wazero.ModuleConfig, im *instanceMemory) (mod api.Module, err error) {
	var need uint64
	for _, def := range m.ExportedMemories() {
		need += uint64(def.Min()) * wasmPageSize
	}
	if avail := im.budget.limit - im.budget.used.Load(); need > avail {
		return nil, fmt.Errorf("%w: %s (an instance needs %d MiB to start)", errBudget, budgetError(im.budget), need>>20)
	}
	im.enter() // nothing is allocated yet: always true
	defer func() {
		refused := im.leave()
		if v := recover(); v != nil {
			if !refused {
				panic(v)
			}
			mod, err = nil, fmt.Errorf("%w: %s", errBudget, budgetError(im.budget))
		}
	}()
	return rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, im), m, cfg)
}

package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wharfhq/wharf/internal/wasmbin"
	"github.com/wharfhq/wharf/pluginapi"
)

// Host modules a plugin may import functions from, besides WASI.
const (
	envModule  = "extism:host/env"  // the Extism host ABI, implemented here
	userModule = "extism:host/user" // Wharf's own host functions (wharf_http)
)

// maxVarBytes bounds the Extism variables of one call, as the Extism SDK
// does by default.
const maxVarBytes = 1 << 20

// callState is what host functions work on during one call of one
// instance: the instance's Extism memory and the call's input, output,
// error and variables. It belongs to the instance and is reset before each
// call, which is cheap: nothing is allocated once the memory has grown to
// what the plugin's calls need.
type callState struct {
	ctx  context.Context // the call's context: deadline and cancellation
	p    *Plugin
	op   string
	http HTTPHandler

	mem                blockMemory
	inputOff, inputLen uint64
	outputOff, outLen  uint64
	errorOff           uint64
	vars               map[string][]byte
	varBytes           int
}

func newCallState(p *Plugin) *callState {
	return &callState{p: p, mem: newBlockMemory(p.memoryLimit, p.rt.budget)}
}

// begin resets the state for a call of op and copies input into a block.
func (s *callState) begin(ctx context.Context, op string, input []byte, http HTTPHandler) error {
	s.ctx, s.op, s.http = ctx, op, http
	s.mem.reset()
	s.mem.refused = false
	s.outputOff, s.outLen, s.errorOff = 0, 0, 0
	clear(s.vars)
	s.varBytes = 0
	s.inputLen = uint64(len(input))
	s.inputOff = s.mem.write(input)
	if s.inputOff == 0 && len(input) > 0 {
		return fmt.Errorf("input of %d bytes does not fit in the plugin's memory limit", len(input))
	}
	return nil
}

// end drops the references a finished call holds.
func (s *callState) end() { s.ctx, s.http = nil, nil }

// stateKey is the context key under which host functions find the
// callState of the call they serve.
type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		// Only possible if a module calls an import outside Plugin.run.
		panic("extism host function called outside a plugin call")
	}
	return st
}

// trap aborts the call: wazero turns a host function's panic into the
// call's error, and the host then discards the instance.
func trap(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// load returns n bytes at off in the Extism memory, trapping when they are
// outside it.
func (s *callState) load(fn string, off, n uint64) []byte {
	b, ok := s.mem.span(off, n)
	if !ok {
		trap("%s: offset %d is outside the extism memory (%d bytes)", fn, off, len(s.mem.mem))
	}
	return b
}

// blockString reads the live block at off as a string, trapping when
// there is none: a host function was given a bad offset.
func (s *callState) blockString(fn string, off uint64) string {
	i, ok := s.mem.find(off)
	if !ok || s.mem.blocks[i].free {
		trap("%s: offset %d is not an extism memory block", fn, off)
	}
	b := s.mem.blocks[i]
	return string(s.mem.mem[b.off : b.off+b.used])
}

// blockStringOr is blockString for the host's own use: it answers
// fallback instead of trapping.
func (s *callState) blockStringOr(off uint64, fallback string) string {
	if b := s.mem.bytes(off); b != nil {
		return string(b)
	}
	return fallback
}

// hostFunc is one host function of the env module.
type hostFunc struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	fn      func(s *callState, stack []uint64)
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func vt(types ...api.ValueType) []api.ValueType { return types }

// envFunctions is the complete extism:host/env module of the Extism SDK
// (v1.7), so that plugins built with any Extism PDK load. Semantics follow
// the Extism kernel: offset 0 is "no block", length of something that is
// not a live block is 0, freeing it does nothing. Differences, all on the
// side of safety: loads and stores outside the memory trap instead of
// being ignored, Extism's own http_request traps (plugins reach the
// network through wharf_http only), config_get finds nothing (connection
// config is part of each request) and variables last for one call (an
// instance serves calls of many connections).
var envFunctions = []hostFunc{
	{"alloc", vt(i64), vt(i64), func(s *callState, st []uint64) { st[0] = s.mem.alloc(st[0]) }},
	{"free", vt(i64), nil, func(s *callState, st []uint64) { s.mem.free(st[0]) }},
	{"length", vt(i64), vt(i64), func(s *callState, st []uint64) { st[0] = s.mem.length(st[0]) }},
	{"length_unsafe", vt(i64), vt(i64), func(s *callState, st []uint64) { st[0] = s.mem.length(st[0]) }},
	{"load_u8", vt(i64), vt(i32), func(s *callState, st []uint64) { st[0] = uint64(s.load("load_u8", st[0], 1)[0]) }},
	{"load_u64", vt(i64), vt(i64), func(s *callState, st []uint64) { st[0] = le64(s.load("load_u64", st[0], 8)) }},
	{"store_u8", vt(i64, i32), nil, func(s *callState, st []uint64) { s.load("store_u8", st[0], 1)[0] = byte(st[1]) }},
	{"store_u64", vt(i64, i64), nil, func(s *callState, st []uint64) { putLE64(s.load("store_u64", st[0], 8), st[1]) }},
	{"input_length", nil, vt(i64), func(s *callState, st []uint64) { st[0] = s.inputLen }},
	{"input_offset", nil, vt(i64), func(s *callState, st []uint64) { st[0] = s.inputOff }},
	{"input_set", vt(i64, i64), nil, func(s *callState, st []uint64) { s.inputOff, s.inputLen = st[0], st[1] }},
	{"input_load_u8", vt(i64), vt(i32), func(s *callState, st []uint64) {
		st[0] = uint64(s.load("input_load_u8", s.inputOff+st[0], 1)[0])
	}},
	{"input_load_u64", vt(i64), vt(i64), func(s *callState, st []uint64) {
		st[0] = le64(s.load("input_load_u64", s.inputOff+st[0], 8))
	}},
	{"output_set", vt(i64, i64), nil, func(s *callState, st []uint64) { s.outputOff, s.outLen = st[0], st[1] }},
	{"output_offset", nil, vt(i64), func(s *callState, st []uint64) { st[0] = s.outputOff }},
	{"output_length", nil, vt(i64), func(s *callState, st []uint64) { st[0] = s.outLen }},
	{"error_set", vt(i64), nil, func(s *callState, st []uint64) { s.errorOff = st[0] }},
	{"error_get", nil, vt(i64), func(s *callState, st []uint64) { st[0] = s.errorOff }},
	{"reset", nil, nil, func(s *callState, st []uint64) {
		s.mem.reset()
		s.inputOff, s.inputLen, s.outputOff, s.outLen, s.errorOff = 0, 0, 0, 0, 0
	}},
	{"memory_bytes", nil, vt(i64), func(s *callState, st []uint64) { st[0] = uint64(len(s.mem.mem)) }},
	{"config_get", vt(i64), vt(i64), func(s *callState, st []uint64) { st[0] = 0 }},
	{"var_get", vt(i64), vt(i64), (*callState).varGet},
	{"var_set", vt(i64, i64), nil, (*callState).varSet},
	{"http_request", vt(i64, i64), vt(i64), func(s *callState, st []uint64) {
		trap("extism http_request is not available to Wharf plugins: use %s (module %s)", "wharf_http", userModule)
	}},
	{"http_status_code", nil, vt(i32), func(s *callState, st []uint64) { st[0] = 0 }},
	{"http_headers", nil, vt(i64), func(s *callState, st []uint64) { st[0] = 0 }},
	{"get_log_level", nil, vt(i32), (*callState).logLevel},
	{"log_trace", vt(i64), nil, func(s *callState, st []uint64) { s.log(slog.LevelDebug, "log_trace", st[0]) }},
	{"log_debug", vt(i64), nil, func(s *callState, st []uint64) { s.log(slog.LevelDebug, "log_debug", st[0]) }},
	{"log_info", vt(i64), nil, func(s *callState, st []uint64) { s.log(slog.LevelInfo, "log_info", st[0]) }},
	{"log_warn", vt(i64), nil, func(s *callState, st []uint64) { s.log(slog.LevelWarn, "log_warn", st[0]) }},
	{"log_error", vt(i64), nil, func(s *callState, st []uint64) { s.log(slog.LevelError, "log_error", st[0]) }},
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func putLE64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// varGet answers the value of the variable named by the block at st[0]
// in a new block, or 0. Like the SDK it frees the name's block.
func (s *callState) varGet(st []uint64) {
	name := s.blockString("var_get", st[0])
	s.mem.free(st[0])
	v, ok := s.vars[name]
	if !ok || len(v) == 0 {
		st[0] = 0
		return
	}
	if st[0] = s.mem.write(v); st[0] == 0 {
		trap("var_get: no room in the extism memory for the %d bytes of variable %q", len(v), name)
	}
}

// varSet sets the variable named by the block at st[0] to the contents of
// the block at st[1], or deletes it when st[1] is 0. Both blocks are freed.
func (s *callState) varSet(st []uint64) {
	name := s.blockString("var_set", st[0])
	s.mem.free(st[0])
	if old, ok := s.vars[name]; ok {
		s.varBytes -= len(name) + len(old)
		delete(s.vars, name)
	}
	if st[1] == 0 {
		return
	}
	v := []byte(s.blockString("var_set", st[1]))
	s.mem.free(st[1])
	if s.varBytes+len(name)+len(v) > maxVarBytes {
		trap("var_set: variables exceed %d bytes", maxVarBytes)
	}
	if s.vars == nil {
		s.vars = map[string][]byte{}
	}
	s.vars[name] = v
	s.varBytes += len(name) + len(v)
}

// logLevel answers the lowest level the host logs, in Extism's numbering
// (0 trace … 4 error, MaxInt32 off), so that PDKs skip the rest.
func (s *callState) logLevel(st []uint64) {
	lg := s.p.log
	switch {
	case lg.Enabled(s.ctx, slog.LevelDebug):
		st[0] = 1
	case lg.Enabled(s.ctx, slog.LevelInfo):
		st[0] = 2
	case lg.Enabled(s.ctx, slog.LevelWarn):
		st[0] = 3
	case lg.Enabled(s.ctx, slog.LevelError):
		st[0] = 4
	default:
		st[0] = math.MaxInt32
	}
}

// log writes the message in the block at off to the host's log and frees
// the block, as the SDK does.
func (s *callState) log(level slog.Level, fn string, off uint64) {
	msg := s.blockString(fn, off)
	s.mem.free(off)
	s.p.log.Log(s.ctx, level, msg, "plugin", s.p.label(), "op", s.op)
}

// instantiateHostModules adds the env module and wharf_http to rt.
func instantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	env := rt.NewHostModuleBuilder(envModule)
	for _, f := range envFunctions {
		fn := f.fn
		env.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
				fn(stateOf(ctx), stack)
			}), f.params, f.results).
			Export(f.name)
	}
	if _, err := env.Instantiate(ctx); err != nil {
		return fmt.Errorf("host module %s: %w", envModule, err)
	}
	user := rt.NewHostModuleBuilder(userModule)
	user.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, stack []uint64) {
			stateOf(ctx).wharfHTTP(stack)
		}), vt(i64), vt(i64)).
		Export(httpFunctionName)
	user.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			stateOf(ctx).wharfLoad(mod, stack)
		}), vt(i64, i32, i32), nil).
		Export(pluginapi.LoadFunction)
	user.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
			stateOf(ctx).wharfStore(mod, stack)
		}), vt(i64, i32, i32), nil).
		Export(pluginapi.StoreFunction)
	if _, err := user.Instantiate(ctx); err != nil {
		return fmt.Errorf("host module %s: %w", userModule, err)
	}
	if err := instantiateYieldModule(ctx, rt); err != nil {
		return fmt.Errorf("host module %s: %w", wasmbin.ImportModule, err)
	}
	return nil
}

// checkImports refuses a module that imports a function the host does not
// provide, or with another signature, naming it; wazero would only fail
// later, at the first instance, with a less helpful message.
func checkImports(rt wazero.Runtime, m wazero.CompiledModule) error {
	for _, imp := range m.ImportedFunctions() {
		mod, name, _ := imp.Import()
		host := rt.Module(mod)
		if host == nil {
			return fmt.Errorf("imports %s.%s, but this host has no module %q", mod, name, mod)
		}
		def, ok := host.ExportedFunctionDefinitions()[name]
		if !ok {
			return fmt.Errorf("imports %s.%s, which this host does not provide", mod, name)
		}
		if !slices.Equal(def.ParamTypes(), imp.ParamTypes()) || !slices.Equal(def.ResultTypes(), imp.ResultTypes()) {
			return fmt.Errorf("imports %s.%s as %s, but the host's is %s", mod, name, signature(imp), signature(def))
		}
	}
	return nil
}

func signature(d api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		s := "("
		for i, t := range ts {
			if i > 0 {
				s += ", "
			}
			s += api.ValueTypeName(t)
		}
		return s + ")"
	}
	return names(d.ParamTypes()) + " -> " + names(d.ResultTypes())
}

// InstantiateHostModules adds the host modules a plugin imports (the Extism
// kernel and wharf_http) to rt, for tools that run plugin code outside a
// Plugin, such as wasm builds of a plugin's benchmarks. Functions that need
// a call in progress (input, output, wharf_http) panic there.
func InstantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	return instantiateHostModules(ctx, rt)
}

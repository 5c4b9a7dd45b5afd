package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Preemption: stopping a plugin that loops without calling the host, and
// letting Go's scheduler and garbage collector in while it computes.
//
// Machine code compiled by wazero cannot be preempted by the Go runtime, so
// a goroutine running a long wasm loop would hold up every stop-the-world
// pause of the host (and a plugin looping forever would hang the host).
// wazero's answer, WithCloseOnContextDone, calls back into Go at the header
// of every wasm loop; Go's wasm output runs every jump of a function
// through its loop header, and that made Go plugins 4–7× slower on JSON
// work (measured with internal/wasmexec).
//
// instrumentLoops does the same job for a fraction of the cost: it gives
// the module a counter (a mutable i32 global) and, at every loop header,
// decrements it; when it reaches zero the module calls the host function
// wharf:runtime.yield, which is a preemption point for Go, fails the call
// if its context is done or its module closed, and otherwise returns the
// next budget. A loop thus enters Go every yieldBudget iterations instead
// of every iteration.
//
// The rewrite understands the core instruction set with the sign-extension,
// saturating-conversion, bulk-memory, reference-type and tail-call
// extensions. A module using anything else (SIMD, threads, exceptions, GC)
// is compiled unchanged with wazero's own checks instead.

// yieldModule and yieldFunction name the host function instrumented code
// calls. They are the runtime's own, not part of the plugin ABI.
const (
	yieldModule   = "wharf:runtime"
	yieldFunction = "yield"
)

// yieldBudget is how many loop iterations run between two calls to the
// host: a Go-compiled loop iteration takes ~5–50 ns, so a stop request or
// a garbage-collector pause waits well under a millisecond.
const yieldBudget = 1 << 14

// errUnsupported marks a module the rewrite does not understand.
var errUnsupported = errors.New("not instrumented")

// instrument is instrumentLoops; a test replaces it to exercise the
// fallback to wazero's checks.
var instrument = instrumentLoops

// instantiateYieldModule provides wharf:runtime.yield on rt.
func instantiateYieldModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(yieldModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), nil, []api.ValueType{api.ValueTypeI32}).
		Export(yieldFunction).
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
	stack[0] = yieldBudget
}

// instrumentLoops returns wasm with a budget check at the top of every loop
// and how many loops it found. The added import goes last among the
// imported functions, so every function index at or above it moves up by
// one, everywhere a function index is written.
func instrumentLoops(wasm []byte) (_ []byte, loops int, err error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, 0, fmt.Errorf("%w: not a wasm 1.0 binary module", errUnsupported)
	}
	type section struct {
		id   byte
		body []byte
	}
	var sections []section
	r := reader{b: wasm, p: 8}
	for !r.done() {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, 0, r.err
		}
		if id > 12 {
			return nil, 0, fmt.Errorf("%w: section %d", errUnsupported, id)
		}
		sections = append(sections, section{id, body})
	}

	// First pass: the counts the new entries' indices depend on.
	var types, importedFuncs, importedGlobals, globals uint32
	for _, s := range sections {
		sr := reader{b: s.body}
		switch s.id {
		case secType:
			types = sr.u32()
		case secImport:
			importedFuncs, importedGlobals, err = countImports(s.body)
		case secGlobal:
			globals = sr.u32()
		}
		if err == nil {
			err = sr.err
		}
		if err != nil {
			return nil, 0, err
		}
	}
	w := rewriter{
		firstMoved: importedFuncs,
		yieldFunc:  importedFuncs,
		yieldTypeN: types,
		budget:     importedGlobals + globals,
	}

	out := append(make([]byte, 0, len(wasm)+len(wasm)/4), wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// Known sections come in a fixed order; type, import and global
	// sections are written where they belong if the module had none.
	wrote := map[byte]bool{}
	missing := map[byte][]byte{
		secType:   append(appendU32(nil, 1), yieldType...),
		secImport: appendU32(append(appendU32(nil, 1), yieldImport()...), types),
		secGlobal: append(appendU32(nil, 1), budgetGlobal()...),
	}
	flush := func(before byte) {
		for _, id := range []byte{secType, secImport, secGlobal} {
			if !wrote[id] && sectionOrder(before) > sectionOrder(id) {
				emit(id, missing[id])
				wrote[id] = true
			}
		}
	}
	for _, s := range sections {
		if s.id != secCustom {
			flush(s.id)
		}
		var body []byte
		switch s.id {
		case secType:
			body = appendCount(s.body, types+1, yieldType)
		case secImport:
			body, err = w.imports(s.body)
		case secGlobal:
			body, err = w.globals(s.body)
		case secExport:
			body, err = w.exports(s.body)
		case secStart:
			sr := reader{b: s.body}
			body = appendU32(nil, w.fn(sr.u32()))
			err = sr.err
		case secElement:
			body, err = w.elements(s.body)
		case secCode:
			body, err = w.code(s.body)
		case secCustom:
			body = w.custom(s.body)
		default:
			body = s.body
		}
		if err != nil {
			return nil, 0, err
		}
		if body != nil {
			emit(s.id, body)
		}
		wrote[s.id] = true
	}
	flush(0xFF)
	return out, w.loops, nil
}

const (
	secCustom  = 0
	secType    = 1
	secImport  = 2
	secGlobal  = 6
	secExport  = 7
	secStart   = 8
	secElement = 9
	secCode    = 10

	opEnd      = 0x0B
	opCall     = 0x10
	opGlobalGt = 0x23
	opGlobalSt = 0x24
	opI32Const = 0x41
)

// yieldType is the function type () -> i32, added last to the type section.
var yieldType = []byte{0x60, 0x00, 0x01, 0x7F}

// sectionOrder is the position a known section must have (the data count
// section, id 12, comes before code); unknown ids sort last.
func sectionOrder(id byte) int {
	switch {
	case id == 12:
		return 10
	case id >= 10 && id <= 11:
		return int(id) + 1
	case id >= 1 && id <= 9:
		return int(id)
	}
	return 100
}

// appendCount re-encodes a vector section with a new count and one more
// entry at the end.
func appendCount(body []byte, count uint32, entry []byte) []byte {
	r := reader{b: body}
	r.u32()
	out := appendU32(nil, count)
	out = append(out, body[r.p:]...)
	return append(out, entry...)
}

// countImports reads the import section: functions and globals defined by
// the module are numbered after the imported ones.
func countImports(body []byte) (funcs, globals uint32, _ error) {
	r := reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.bytes(int(r.u32())) // module
		r.bytes(int(r.u32())) // name
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
			funcs++
		case 0x01: // table: reference type, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: value type, mutability
			r.byte()
			r.byte()
			globals++
		default:
			return 0, 0, fmt.Errorf("%w: import of kind 0x%02x", errUnsupported, kind)
		}
	}
	return funcs, globals, r.err
}

// rewriter renumbers function indices and instruments loops.
type rewriter struct {
	firstMoved uint32 // function indices from here up move by one
	yieldFunc  uint32 // the added import's function index
	yieldTypeN uint32 // the added type's index
	budget     uint32 // the added global's index
	loops      int
}

// fn maps an original function index to its new one.
func (w *rewriter) fn(i uint32) uint32 {
	if i >= w.firstMoved {
		return i + 1
	}
	return i
}

func yieldImport() []byte {
	b := appendName(nil, yieldModule)
	b = appendName(b, yieldFunction)
	return append(b, 0x00) // function; its type index is appended by the caller
}

func budgetGlobal() []byte {
	b := []byte{0x7F, 0x01, opI32Const} // (mut i32) (i32.const yieldBudget)
	b = appendS32(b, yieldBudget)
	return append(b, opEnd)
}

// imports appends the yield function's import. Its type is the type
// section's new last entry.
func (w *rewriter) imports(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(nil, n+1)
	out = append(out, body[r.p:]...)
	out = append(out, yieldImport()...)
	return appendU32(out, w.yieldTypeN), r.err
}

// globals appends the budget counter and renumbers ref.func in the
// existing globals' initialisers.
func (w *rewriter) globals(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(nil, n+1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.p
		r.byte() // value type
		r.byte() // mutability
		out = append(out, body[start:r.p]...)
		out = w.expr(&r, out)
	}
	return append(out, budgetGlobal()...), r.err
}

// exports renumbers exported functions.
func (w *rewriter) exports(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		name := r.bytes(int(r.u32()))
		kind := r.byte()
		idx := r.u32()
		if kind == 0x00 {
			idx = w.fn(idx)
		}
		out = append(appendName(out, string(name)), kind)
		out = appendU32(out, idx)
	}
	return out, r.err
}

// elements renumbers the function indices of element segments, in all
// eight of their encodings.
func (w *rewriter) elements(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			return nil, fmt.Errorf("%w: element segment kind %d", errUnsupported, flags)
		}
		if flags&0x02 != 0 && flags&0x01 == 0 { // 2, 6: table index
			out = appendU32(out, r.u32())
		}
		if flags&0x01 == 0 { // 0, 2, 4, 6: offset expression
			out = w.expr(&r, out)
		}
		if flags&0x03 != 0 { // 1, 2, 3, 5, 6, 7: element kind or reference type
			out = append(out, r.byte())
		}
		count := r.u32()
		out = appendU32(out, count)
		for j := uint32(0); j < count && r.err == nil; j++ {
			if flags&0x04 == 0 {
				out = appendU32(out, w.fn(r.u32()))
			} else {
				out = w.expr(&r, out)
			}
		}
	}
	return out, r.err
}

// custom keeps custom sections, renumbering function names in the name
// section; debug information (which points into the code section) and the
// name section's other parts are dropped. nil drops the section.
func (w *rewriter) custom(body []byte) []byte {
	r := reader{b: body}
	name := string(r.bytes(int(r.u32())))
	if r.err != nil || len(name) >= 7 && name[:7] == ".debug_" {
		return nil
	}
	if name != "name" {
		return body
	}
	out := appendName(nil, name)
	for !r.done() && r.err == nil {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		switch id {
		case 0: // module name
			out = append(out, id)
			out = appendU32(out, uint32(len(sub)))
			out = append(out, sub...)
		case 1: // function names
			sr := reader{b: sub}
			n := sr.u32()
			names := appendU32(nil, n)
			for i := uint32(0); i < n && sr.err == nil; i++ {
				idx := w.fn(sr.u32())
				names = appendName(appendU32(names, idx), string(sr.bytes(int(sr.u32()))))
			}
			if sr.err != nil {
				return nil
			}
			out = append(out, id)
			out = appendU32(out, uint32(len(names)))
			out = append(out, names...)
		}
	}
	if r.err != nil {
		return nil
	}
	return out
}

// code rewrites every function body.
func (w *rewriter) code(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+len(body)/4), n)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		code := r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		cr := reader{b: code}
		for groups := cr.u32(); groups > 0 && cr.err == nil; groups-- { // locals
			cr.u32()
			cr.byte()
		}
		fn = append(fn[:0], code[:cr.p]...)
		for !cr.done() && cr.err == nil {
			fn = w.instruction(&cr, fn)
		}
		if cr.err != nil {
			return nil, fmt.Errorf("function %d: %w", i, cr.err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.err == nil && !r.done() {
		r.err = fmt.Errorf("%w: bytes after the last function", errUnsupported)
	}
	return out, r.err
}

// expr copies a constant expression up to and including its end.
func (w *rewriter) expr(r *reader, out []byte) []byte {
	for r.err == nil {
		op := r.peek()
		out = w.instruction(r, out)
		if op == opEnd {
			break
		}
	}
	return out
}

// instruction copies one instruction from r to out, renumbering function
// indices, and after a loop header adds the budget check:
//
//	global.get $budget; i32.const 1; i32.sub; global.set $budget
//	global.get $budget; i32.eqz
//	if; call $yield; global.set $budget; end
//
// The added code leaves the operand stack as it found it and holds no
// branch, so the branch depths around it keep their meaning.
func (w *rewriter) instruction(r *reader, out []byte) []byte {
	start := r.p
	op, idxAt := r.instruction()
	if r.err != nil {
		return out
	}
	if idxAt < 0 {
		out = append(out, r.b[start:r.p]...)
	} else {
		ir := reader{b: r.b, p: idxAt}
		idx := ir.u32()
		out = append(out, r.b[start:idxAt]...)
		out = appendU32(out, w.fn(idx))
	}
	if op == 0x03 {
		w.loops++
		out = append(out, opGlobalGt)
		out = appendU32(out, w.budget)
		out = append(out, opI32Const, 0x01, 0x6B, opGlobalSt) // i32.const 1; i32.sub; global.set
		out = appendU32(out, w.budget)
		out = append(out, opGlobalGt)
		out = appendU32(out, w.budget)
		out = append(out, 0x45, 0x04, 0x40, opCall) // i32.eqz; if; call
		out = appendU32(out, w.yieldFunc)
		out = append(out, opGlobalSt)
		out = appendU32(out, w.budget)
		out = append(out, opEnd)
	}
	return out
}

// reader reads a wasm binary; the first error sticks and later reads
// return zeros, so that malformed input can never panic.
type reader struct {
	b   []byte
	p   int
	err error
}

func (r *reader) done() bool { return r.p >= len(r.b) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errUnsupported}, args...)...)
	}
}

// errTruncated marks input that ends before what it declares.
var errTruncated = errors.New("unexpected end")

// failEnd records that the input ended early.
func (r *reader) failEnd() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %w at byte %d", errUnsupported, errTruncated, r.p)
	}
}

func (r *reader) peek() byte {
	if r.err != nil || r.p >= len(r.b) {
		r.failEnd()
		return 0
	}
	return r.b[r.p]
}

func (r *reader) byte() byte {
	b := r.peek()
	if r.err == nil {
		r.p++
	}
	return b
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.p {
		r.failEnd()
		return nil
	}
	r.p += n
	return r.b[r.p-n : r.p]
}

// leb skips a LEB128 number of at most max bytes and returns its low 32
// bits (enough for every count and index the rewrite reads).
func (r *reader) leb(max int) uint32 {
	var v uint32
	for i := 0; i < max; i++ {
		b := r.byte()
		if r.err != nil {
			return 0
		}
		if i < 5 {
			v |= uint32(b&0x7F) << (7 * i)
		}
		if b&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 number too long at byte %d", r.p)
	return 0
}

func (r *reader) u32() uint32 { return r.leb(5) }

func (r *reader) limits() {
	flags := r.byte()
	r.leb(10)
	if flags&0x01 != 0 {
		r.leb(10)
	}
}

// instruction skips one instruction with its immediates. It returns the
// opcode and, for instructions naming a function, where the index starts
// (else -1).
func (r *reader) instruction() (op byte, funcIdxAt int) {
	op = r.byte()
	funcIdxAt = -1
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == opEnd, op == 0x0F, // unreachable nop else end return
		op == 0x1A, op == 0x1B, op == 0xD1, // drop select ref.is_null
		op >= 0x45 && op <= 0xC4: // numeric, sign extension
	case op == 0x02, op == 0x03, op == 0x04: // block loop if
		r.blockType()
	case op == opCall, op == 0x12, op == 0xD2: // call return_call ref.func
		funcIdxAt = r.p
		r.u32()
	case op == 0x0C, op == 0x0D, // br br_if
		op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op == 0x0E: // br_table
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x11, op == 0x13: // call_indirect return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select with types
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.valType()
		}
	case op >= 0x28 && op <= 0x3E: // loads and stores: align, [memory], offset
		if align := r.u32(); align&0x40 != 0 {
			r.u32()
		}
		r.leb(10)
	case op == 0x3F, op == 0x40: // memory.size memory.grow
		r.u32()
	case op == opI32Const:
		r.leb(5)
	case op == 0x42: // i64.const
		r.leb(10)
	case op == 0x43: // f32.const
		r.bytes(4)
	case op == 0x44: // f64.const
		r.bytes(8)
	case op == 0xD0: // ref.null
		r.valType()
	case op == 0xFC:
		r.prefixedFC()
	default:
		r.fail("instruction 0x%02x at byte %d", op, r.p-1)
	}
	return op, funcIdxAt
}

func (r *reader) prefixedFC() {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init data memory
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop memory.fill elem.drop table.grow/size/fill
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy table.init table.copy
		r.u32()
		r.u32()
	default:
		r.fail("instruction 0xFC %d at byte %d", sub, r.p)
	}
}

// blockType is empty (0x40), one value type, or a type index (s33).
func (r *reader) blockType() {
	if b := r.peek(); r.err == nil && b&0xC0 == 0x40 { // one byte, negative: 0x40 or a value type
		if b != 0x40 {
			r.valType()
		} else {
			r.p++
		}
		return
	}
	r.leb(5)
}

func (r *reader) valType() {
	switch t := r.byte(); t {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x6F: // i32 i64 f32 f64 funcref externref
	default:
		r.fail("value type 0x%02x at byte %d", t, r.p-1)
	}
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS32 writes a signed LEB128 number.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

// Instrument rewrites a module the way the runtime does before compiling
// it (see instrumentLoops), for tools that run plugin code outside a
// Plugin, such as internal/wasmexec. The result needs the host modules of
// InstantiateHostModules and a runtime without WithCloseOnContextDone.
func Instrument(wasm []byte) ([]byte, error) {
	bin, _, err := instrumentLoops(wasm)
	return bin, err
}

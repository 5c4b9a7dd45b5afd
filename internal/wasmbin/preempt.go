package wasmbin

import (
	"errors"
	"fmt"
)

// ImportModule and ImportFunction name the host function instrumented code
// calls. They are the runtime's own, not part of the plugin ABI.
const (
	ImportModule   = "wharf:runtime"
	ImportFunction = "yield"
)

// Budget is how many loop iterations run between two calls to the
// host: a Go-compiled loop iteration takes ~5–50 ns, so a stop request or
// a garbage-collector pause waits well under a millisecond.
const Budget = 1 << 14

// ErrUnsupported marks a module the rewrite does not understand.
var ErrUnsupported = errors.New("not instrumented")

// Instrument returns wasm with a budget check at the top of every loop
// and how many loops it found. The added import goes last among the
// imported functions, so every function index at or above it moves up by
// one, everywhere a function index is written.
func Instrument(wasm []byte) (_ []byte, loops int, err error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, 0, fmt.Errorf("%w: not a wasm 1.0 binary module", ErrUnsupported)
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
			return nil, 0, fmt.Errorf("%w: section %d", ErrUnsupported, id)
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
			return 0, 0, fmt.Errorf("%w: import of kind 0x%02x", ErrUnsupported, kind)
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
	b := appendName(nil, ImportModule)
	b = appendName(b, ImportFunction)
	return append(b, 0x00) // function; its type index is appended by the caller
}

func budgetGlobal() []byte {
	b := []byte{0x7F, 0x01, opI32Const} // (mut i32) (i32.const Budget)
	b = appendS32(b, Budget)
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
			return nil, fmt.Errorf("%w: element segment kind %d", ErrUnsupported, flags)
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
		r.err = fmt.Errorf("%w: bytes after the last function", ErrUnsupported)
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

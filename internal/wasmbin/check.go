package wasmbin

import (
	"errors"
	"fmt"
)

// Bounds a module must keep before wazero decodes it.
//
// wazero's decoder trusts the counts and lengths a module declares: a
// vector count of 2^32-1 in a 19-byte file makes it allocate gigabytes up
// front, and Go's out-of-memory error is fatal, beyond recover. So
// Check walks the module first, without allocating, and refuses
// every count or length larger than the bytes left to hold it, and the
// few numbers that need no bytes (locals, table sizes) above the limits
// browsers set for the JavaScript API (webassembly.github.io/spec/js-api,
// "Limits"). A module that passes costs wazero memory in proportion to its
// size.
const (
	// MaxModuleBytes is the largest plugin file read at all; Go plugins
	// are 3–25 MB.
	MaxModuleBytes = 128 << 20
	// maxLocals is the most locals one function may declare.
	maxLocals = 50_000
	// maxTableSize bounds a table's declared sizes: wazero makes a table's
	// minimum size at once for every instance.
	maxTableSize = 10_000_000
)

// ErrMalformed marks a module Check refuses.
var ErrMalformed = errors.New("malformed module")

// Check refuses a module whose declared sizes could make decoding
// it cost far more memory than its own size. It only looks at what the
// decoder allocates from; everything else is left to wazero.
func Check(wasm []byte) error {
	if len(wasm) > MaxModuleBytes {
		return fmt.Errorf("%w: %d bytes, more than the %d MiB allowed", ErrMalformed, len(wasm), MaxModuleBytes>>20)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil // wazero refuses it without allocating
	}
	r := bounded{reader{b: wasm, p: 8}}
	for !r.done() && r.err == nil {
		id := r.byte()
		at := r.p
		n := r.u32()
		if r.err == nil && int64(n) > int64(len(r.b)-r.p) {
			return fmt.Errorf("%w: section %d at byte %d claims %d bytes, only %d are left", ErrMalformed, id, at-1, n, len(r.b)-r.p)
		}
		s := bounded{reader{b: r.bytes(int(n))}}
		s.section(id)
		if errors.Is(s.err, errTruncated) {
			return fmt.Errorf("%w: section %d at byte %d ends before the entries it declares", ErrMalformed, id, at-1)
		}
		if s.err != nil {
			return fmt.Errorf("%w: section %d at byte %d: %v", ErrMalformed, id, at-1, s.err)
		}
	}
	return nil
}

// bounded is a reader whose counts must fit in what is left of its input.
type bounded struct{ reader }

// errStop ends the check of a section the walk does not understand:
// wazero refuses such bytes without allocating from them.
var errStop = errors.New("stop")

// count reads a vector count or a length and refuses one larger than the
// bytes left, as each element takes at least one byte.
func (r *bounded) count(what string) uint32 {
	at := r.p
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)-r.p) {
		r.err = fmt.Errorf("%s of %d at byte %d of the section, but only %d bytes are left", what, n, at, len(r.b)-r.p)
		return 0
	}
	return n
}

// name skips a length-prefixed string.
func (r *bounded) name(what string) string { return string(r.bytes(int(r.count(what)))) }

// section walks one section's entries, refusing counts and lengths its
// bytes cannot hold. A section that ends before its declared entries do is
// refused too: wazero would have allocated for all of them first.
func (r *bounded) section(id byte) {
	switch id {
	case secCustom:
		if r.name("custom section name") == "name" {
			r.names()
		}
	case secType:
		for n := r.count("type count"); n > 0 && r.err == nil; n-- {
			form := r.byte()
			if form == 0x4E { // a recursive group of function types
				for k := r.count("recursive group size"); k > 0 && r.err == nil; k-- {
					r.funcType(r.byte())
				}
				continue
			}
			r.funcType(form)
		}
	case secImport:
		for n := r.count("import count"); n > 0 && r.err == nil; n-- {
			r.name("import module name")
			r.name("import name")
			switch r.byte() {
			case 0x00: // function
				r.u32()
			case 0x01: // table
				r.valueType()
				r.tableLimits()
			case 0x02: // memory
				r.limits()
			case 0x03: // global
				r.valueType()
				r.byte()
			case 0x04: // tag
				r.byte()
				r.u32()
			default:
				r.err = errStop
			}
		}
	case 3: // function: type indices
		for n := r.count("function count"); n > 0 && r.err == nil; n-- {
			r.u32()
		}
	case 4: // table
		for n := r.count("table count"); n > 0 && r.err == nil; n-- {
			if r.peek() == 0x40 {
				r.err = errStop // a table with an initialiser: not checked further
				break
			}
			r.valueType()
			r.tableLimits()
		}
	case 5: // memory
		for n := r.count("memory count"); n > 0 && r.err == nil; n-- {
			r.limits()
		}
	case secGlobal:
		for n := r.count("global count"); n > 0 && r.err == nil; n-- {
			r.valueType()
			r.byte()
			r.constExpr()
		}
	case secExport:
		for n := r.count("export count"); n > 0 && r.err == nil; n-- {
			r.name("export name")
			r.byte()
			r.u32()
		}
	case secElement:
		r.elements()
	case secCode:
		for n := r.count("function count"); n > 0 && r.err == nil; n-- {
			f := bounded{reader{b: r.bytes(int(r.count("function body size")))}}
			if r.err != nil {
				break
			}
			var locals uint64
			for g := f.count("local group count"); g > 0 && f.err == nil; g-- {
				locals += uint64(f.u32())
				f.valueType()
				if locals > maxLocals {
					f.err = fmt.Errorf("a function declares more than %d locals", maxLocals)
				}
			}
			r.err = f.err
		}
	case 11: // data
		for n := r.count("data segment count"); n > 0 && r.err == nil; n-- {
			switch r.u32() {
			case 0:
				r.constExpr()
			case 1:
			case 2:
				r.u32()
				r.constExpr()
			default:
				r.err = errStop
			}
			r.bytes(int(r.count("data segment size")))
		}
	case 13: // tag
		for n := r.count("tag count"); n > 0 && r.err == nil; n-- {
			r.byte()
			r.u32()
		}
	}
	if r.err != nil && !errors.Is(r.err, errTruncated) && (errors.Is(r.err, errStop) || errors.Is(r.err, ErrUnsupported)) {
		// An encoding the walk does not know: wazero refuses it or
		// decodes it; either way the counts read so far were sound.
		r.err = nil
	}
}

// funcType checks a function type: its parameter and result vectors.
func (r *bounded) funcType(form byte) {
	if form != 0x60 {
		r.err = errStop // not a function type: wazero refuses it
		return
	}
	for range 2 {
		for k := r.count("value type count"); k > 0 && r.err == nil; k-- {
			r.valueType()
		}
	}
}

// names checks the name section's function and local name maps, which
// wazero decodes in full.
func (r *bounded) names() {
	for !r.done() && r.err == nil {
		id := r.byte()
		s := bounded{reader{b: r.bytes(int(r.count("name subsection size")))}}
		switch id {
		case 0:
			s.name("module name")
		case 1:
			for n := s.count("function name count"); n > 0 && s.err == nil; n-- {
				s.u32()
				s.name("function name")
			}
		case 2:
			for n := s.count("local name count"); n > 0 && s.err == nil; n-- {
				s.u32()
				for k := s.count("local name count"); k > 0 && s.err == nil; k-- {
					s.u32()
					s.name("local name")
				}
			}
		}
		if r.err == nil {
			r.err = s.err
		}
	}
}

// elements checks element segments, in their eight encodings.
func (r *bounded) elements() {
	for n := r.count("element segment count"); n > 0 && r.err == nil; n-- {
		flags := r.u32()
		if flags > 7 {
			return
		}
		if flags&0x02 != 0 && flags&0x01 == 0 { // table index
			r.u32()
		}
		if flags&0x01 == 0 { // offset expression
			r.constExpr()
		}
		if flags&0x03 != 0 { // element kind or reference type
			r.valueType()
		}
		for k := r.count("element count"); k > 0 && r.err == nil; k-- {
			if flags&0x04 == 0 {
				r.u32()
			} else {
				r.constExpr()
			}
		}
	}
}

// constExpr skips instructions up to and including an end.
func (r *bounded) constExpr() {
	for r.err == nil {
		if r.peek() == 0xFD { // SIMD: only v128.const is constant
			r.p++
			if r.u32() != 12 {
				r.err = errStop
			}
			r.bytes(16)
			continue
		}
		if op, _ := r.instruction(); op == opEnd {
			return
		}
	}
}

// valueType skips a value type: one byte, or a reference type with a heap
// type (s33) after 0x63 or 0x64.
func (r *bounded) valueType() {
	if b := r.byte(); b == 0x63 || b == 0x64 {
		r.leb(5)
	}
}

// tableLimits reads a table's limits, refusing sizes past maxTableSize.
func (r *bounded) tableLimits() {
	flags := r.byte()
	if flags > 1 {
		r.err = errStop // 64-bit or shared tables: refused by wazero
		return
	}
	for i := 0; i <= int(flags); i++ {
		if n := r.u32(); r.err == nil && n > maxTableSize {
			r.err = fmt.Errorf("a table of %d elements, more than %d", n, maxTableSize)
		}
	}
}

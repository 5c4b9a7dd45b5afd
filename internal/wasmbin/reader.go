package wasmbin

import (
	"errors"
	"fmt"
)

type reader struct {
	b   []byte
	p   int
	err error
}

func (r *reader) done() bool { return r.p >= len(r.b) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
	}
}

// errTruncated marks input that ends before what it declares.
var errTruncated = errors.New("unexpected end")

// failEnd records that the input ended early.
func (r *reader) failEnd() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %w at byte %d", ErrUnsupported, errTruncated, r.p)
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

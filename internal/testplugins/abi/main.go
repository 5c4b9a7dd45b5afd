//go:build wasip1

// Command abi is a test plugin written directly on go-pdk that exercises
// the Extism host functions one by one, so that the runtime's own
// implementation of them can be checked from a real module. The required
// operations echo their input; the extra exports below are called by the
// runtime's tests directly.
package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/extism/go-pdk"
	"github.com/wharfhq/wharf/pluginapi"
)

//go:wasmimport extism:host/env alloc
func alloc(uint64) uint64

//go:wasmimport extism:host/env free
func free(uint64)

//go:wasmimport extism:host/env length
func length(uint64) uint64

//go:wasmimport extism:host/env length_unsafe
func lengthUnsafe(uint64) uint64

//go:wasmimport extism:host/env store_u8
func storeU8(uint64, uint32)

//go:wasmimport extism:host/env load_u8
func loadU8(uint64) uint32

//go:wasmimport extism:host/env load_u64
func loadU64(uint64) uint64

//go:wasmimport extism:host/env input_offset
func inputOffset() uint64

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env memory_bytes
func memoryBytes() uint64

//go:wasmexport describe
func describe() int32 {
	b, err := json.Marshal(pluginapi.DescribeResponse{
		Name:         "abi",
		Version:      "0.0.1",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Extism host function test plugin",
		ConfigSchema: json.RawMessage(`{"type":"object"}`),
		SpecSchema:   json.RawMessage(`{"type":"object"}`),
		Operations:   pluginapi.RequiredOperations,
	})
	if err != nil {
		panic(err)
	}
	pdk.Output(b)
	return 0
}

func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

//go:wasmexport create
func create() int32 { return echo() }

//go:wasmexport get
func get() int32 { return echo() }

//go:wasmexport update
func update() int32 { return echo() }

//go:wasmexport delete
func delete_() int32 { return echo() }

//go:wasmexport list
func list() int32 { return echo() }

//go:wasmexport logs
func logs() int32 { return echo() }

//go:wasmexport lifecycle
func lifecycle() int32 { return echo() }

// report answers a flat object of named numbers, in the order given.
func report(kv ...any) int32 {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	pdk.Output(b)
	return 0
}

// blocks allocates, writes, measures and frees blocks and reports what the
// host answered at each step.
//
//go:wasmexport blocks
func blocks() int32 {
	a := alloc(10)
	b := alloc(3)
	storeU8(b+2, 'z')
	lenA, lenB := length(a), lengthUnsafe(b)
	free(a)
	lenAFreed := length(a)
	free(a) // a second free is ignored
	c := alloc(10)
	return report(
		"a_nonzero", a != 0, "a_aligned", a%8 == 0, "b_after_a", b > a,
		"len_a", lenA, "len_b", lenB, "b_byte", loadU8(b+2),
		"len_a_freed", lenAFreed, "len_zero", length(0), "len_middle", length(a+1), "len_unknown", length(b+1<<20),
		"alloc_zero", alloc(0), "reused", c == a, "len_c", length(c),
		"memory_bytes_ok", memoryBytes() >= b+3,
	)
}

// input reports the input's place and reads it back through load_u64 at
// input_offset.
//
//go:wasmexport input
func input() int32 {
	off, n := inputOffset(), inputLength()
	first := loadU64(off)
	return report("length", n, "block_length", length(off), "first_word", strconv.FormatUint(first, 16), "input", string(pdk.Input()))
}

// vars reads "seen" (set by a previous call, if variables outlived a
// call), sets it, reads it back, deletes "gone" after setting it.
//
//go:wasmexport vars
func vars() int32 {
	before := pdk.GetVar("seen")
	pdk.SetVar("seen", pdk.Input())
	after := pdk.GetVar("seen")
	pdk.SetVar("gone", []byte("x"))
	goneSet := pdk.GetVar("gone")
	pdk.RemoveVar("gone")
	return report("before", before != nil, "after", string(after), "gone_set", string(goneSet), "gone_after", pdk.GetVar("gone") != nil)
}

// config asks for a config key: Wharf passes config in each request, so
// there is none.
//
//go:wasmexport config
func config() int32 {
	v, ok := pdk.GetConfig("endpoint")
	return report("found", ok, "value", v)
}

// fails reports its input as an Extism error and returns 1, the way PDKs
// other than Go's report failure.
//
//go:wasmexport fails
func fails() int32 {
	pdk.SetErrorString(string(pdk.Input()))
	return 1
}

// status returns its input as the call's status without an error.
//
//go:wasmexport status
func status() int32 {
	n, _ := strconv.Atoi(string(pdk.Input()))
	pdk.OutputString(`{}`)
	return int32(n)
}

// log_ logs its input at info level.
//
//go:wasmexport log
func log_() int32 {
	pdk.Log(pdk.LogInfo, string(pdk.Input()))
	pdk.OutputString(`{}`)
	return 0
}

// extismhttp uses Extism's own HTTP, which Wharf does not offer: it traps.
//
//go:wasmexport extismhttp
func extismhttp() int32 {
	req := pdk.NewHTTPRequest(pdk.MethodGet, "https://example.com/")
	res := req.Send()
	pdk.Output(res.Body())
	return 0
}

// outofbounds loads far outside the Extism memory: it traps.
//
//go:wasmexport outofbounds
func outofbounds() int32 {
	pdk.OutputString(strconv.FormatUint(loadU64(1<<40), 10))
	return 0
}

// badoutput sets an output that lies outside the Extism memory.
//
//go:wasmexport badoutput
func badoutput() int32 {
	setOutput(1<<40, 10)
	return 0
}

//go:wasmimport extism:host/env output_set
func setOutput(uint64, uint64)

//go:wasmimport extism:host/user wharf_load
func wharfLoad(block uint64, dst unsafe.Pointer, n uint32)

//go:wasmimport extism:host/user wharf_store
func wharfStore(block uint64, src unsafe.Pointer, n uint32)

// wharfStoreAt is wharf_store with the source as a plain address.
//
//go:wasmimport extism:host/user wharf_store
func wharfStoreAt(block uint64, src uint32, n uint32)

//go:wasmimport extism:host/user wharf_http
func wharfHTTP(uint64) uint64

// bulk copies its input out of the input block with one wharf_load, into
// a new block with one wharf_store, and reads that back word by word.
//
//go:wasmexport bulk
func bulk() int32 {
	n := inputLength()
	in := make([]byte, n+1) // never empty, so &in[0] exists
	wharfLoad(inputOffset(), unsafe.Pointer(&in[0]), uint32(n))
	in = in[:n]
	blk := alloc(n + 1)
	wharfStore(blk, unsafe.Pointer(&append(in, 0)[0]), uint32(n))
	back := make([]byte, n)
	for i := range back {
		back[i] = byte(loadU8(blk + uint64(i)))
	}
	return report("loaded", string(in), "stored", string(back))
}

// bulkoutofbounds loads from far outside the Extism memory: it traps.
//
//go:wasmexport bulkoutofbounds
func bulkoutofbounds() int32 {
	var b [8]byte
	wharfLoad(1<<40, unsafe.Pointer(&b[0]), 8)
	return report("b", b[0])
}

// bulkbadptr stores from past the end of the plugin's own memory: it traps.
//
//go:wasmexport bulkbadptr
func bulkbadptr() int32 {
	blk := alloc(16)
	wharfStoreAt(blk, 0xFFFFFFF0, 16)
	return report("blk", blk)
}

// httpblock sends its input as a raw body block through wharf_http and
// asks for the answer's body raw too.
//
//go:wasmexport httpblock
func httpblock() int32 {
	body := pdk.Input()
	blk := alloc(uint64(len(body)))
	wharfStore(blk, unsafe.Pointer(&body[0]), uint32(len(body)))
	req, _ := json.Marshal(pluginapi.HTTPRequest{Method: "POST", URL: "https://example.com/echo", BodyBlock: blk, AnswerBody: pluginapi.AnswerBodyBlock})
	reqMem := pdk.AllocateBytes(req)
	ans := wharfHTTP(reqMem.Offset())
	ansMem := pdk.FindMemory(ans)
	raw := ansMem.ReadBytes()
	var resp pluginapi.HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		panic(err)
	}
	got := make([]byte, length(resp.BodyBlock)+1)
	wharfLoad(resp.BodyBlock, unsafe.Pointer(&got[0]), uint32(len(got)-1))
	return report("status", resp.Status, "body", string(got[:len(got)-1]), "body_field", string(resp.Body),
		"answer_has_body_block", strings.Contains(string(raw), `"body_block":`), "answer_has_body", strings.Contains(string(raw), `"body":`))
}

func main() {}

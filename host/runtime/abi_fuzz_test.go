package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	goruntime "runtime"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wharfhq/wharf/pluginapi"
)

// Fuzz targets for everything the host decodes from a plugin: the Extism
// host functions' arguments, the block memory they work on, wharf_load and
// wharf_store, and wharf_http's request JSON and body blocks. A plugin is
// untrusted, so whatever it passes must end in an answer or a trap (a
// host function's panic with a message, which discards the instance),
// never in a Go runtime error, and must leave the block memory consistent.

// fuzzState is a call state as Plugin.run prepares it, without a module.
func fuzzState(t *testing.T, limit uint64, input []byte, http HTTPHandler) (*callState, *memoryBudget) {
	t.Helper()
	budget := &memoryBudget{limit: 1 << 30}
	p := &Plugin{name: "fuzz", memoryLimit: limit, log: slog.New(slog.DiscardHandler), rt: &Runtime{budget: budget}}
	st := newCallState(p)
	if err := st.begin(context.Background(), "fuzz", input, http); err != nil {
		t.Skip(err)
	}
	return st, budget
}

// checkBlocks fails the test when the block memory is inconsistent: blocks
// out of order, overlapping, outside the memory, or not accounted for.
func checkBlocks(t *testing.T, m *blockMemory, budget *memoryBudget) {
	t.Helper()
	end, free := uint64(firstBlock), 0
	for i, b := range m.blocks {
		if b.off < end || b.off%blockAlign != 0 || b.size%blockAlign != 0 || b.used > b.size || b.used == 0 {
			t.Fatalf("block %d %+v after end %d", i, b, end)
		}
		end = b.off + b.size
		if b.free {
			free++
		}
	}
	if n := len(m.blocks); n > 0 && m.blocks[n-1].free {
		t.Fatalf("the last block is free: %+v", m.blocks[n-1])
	}
	if end > m.top || m.top > max(uint64(len(m.mem)), firstBlock) || uint64(len(m.mem)) > m.limit {
		t.Fatalf("blocks end at %d, top %d, memory %d, limit %d", end, m.top, len(m.mem), m.limit)
	}
	if free != m.nfree {
		t.Fatalf("%d free blocks counted as %d", free, m.nfree)
	}
	if used := budget.used.Load(); used != uint64(len(m.mem)) {
		t.Fatalf("budget counts %d bytes for a memory of %d", used, len(m.mem))
	}
}

// trapped runs f and reports whether it trapped; any other panic fails.
func trapped(t *testing.T, what string, f func()) (trap bool) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(string); !ok {
				buf := make([]byte, 4096)
				t.Fatalf("%s panicked with %T %v, not a trap\n%s", what, v, v, buf[:goruntime.Stack(buf, false)])
			}
			trap = true
		}
	}()
	f()
	return false
}

// fuzzModule is a module with one page of linear memory, for wharf_load
// and wharf_store.
func fuzzModule(f *testing.F) api.Module {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { _ = rt.Close(ctx) })
	mod, err := rt.Instantiate(ctx, module(sec(5, 1, 0, 1)))
	if err != nil {
		f.Fatal(err)
	}
	return mod
}

// echoHTTP answers a request with its own body, checking what the host
// hands it: a decoded request whose body came out of its block.
type echoHTTP struct{ t *testing.T }

func (h echoHTTP) Do(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	if req.BodyBlock != 0 || req.AnswerBody != "" {
		h.t.Fatalf("the handler got block fields: %+v", req)
	}
	return &pluginapi.HTTPResponse{Status: 200, Body: req.Body}
}

// FuzzHostFunctions runs a program of host function calls, as a hostile
// plugin would make them, on one call state. Each step is an opcode byte
// choosing the function and one byte per argument: below 0x80 a small
// number, 0x80–0xBF an offset near the last block allocated, 0xC0 and up
// an extreme value.
func FuzzHostFunctions(f *testing.F) {
	f.Add([]byte("\x00\x10\x01\x80\x02\x80"))                 // alloc 16, free it, length
	f.Add([]byte("\x00\x20\x06\x80\x41\x05\x80\x04\x80"))     // alloc, store_u8, load_u8
	f.Add([]byte("\x00\x08\x07\x80\xc3\x05\x80\x16\x80\x80")) // alloc, store_u64, load_u64, var_set
	f.Add([]byte("\x00\x40\x20\x80\x10\x08\x21\x80\x10\x08")) // wharf_store, wharf_load
	f.Add([]byte("\x00\x30\x22\x80"))                         // wharf_http on garbage
	mod := fuzzModule(f)
	names := make([]string, 0, len(envFunctions)+3)
	for _, fn := range envFunctions {
		names = append(names, fn.name)
	}
	names = append(names, pluginapi.StoreFunction, pluginapi.LoadFunction, httpFunctionName)
	extremes := []uint64{0, 1, 7, 8, 1 << 16, 1<<20 - 1, 1 << 20, 1<<32 - 1, 1 << 32, math.MaxInt64, math.MaxUint64 - 7, math.MaxUint64}

	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 4096 {
			return
		}
		st, budget := fuzzState(t, 1<<20, []byte(`{"id":"x"}`), echoHTTP{t})
		last := st.inputOff
		arg := func(i *int) uint64 {
			if *i >= len(prog) {
				return 0
			}
			b := prog[*i]
			*i++
			switch {
			case b < 0x80:
				return uint64(b)
			case b < 0xC0:
				return last + uint64(b&0x3F) - 8
			}
			return extremes[int(b&0x3F)%len(extremes)]
		}
		for i := 0; i < len(prog); {
			op := int(prog[i]) % len(names)
			i++
			var stack [3]uint64
			for k := range stack {
				stack[k] = arg(&i)
			}
			name := names[op]
			trap := trapped(t, name, func() {
				switch {
				case op < len(envFunctions):
					envFunctions[op].fn(st, stack[:])
				case name == pluginapi.StoreFunction:
					st.wharfStore(mod, stack[:])
				case name == pluginapi.LoadFunction:
					st.wharfLoad(mod, stack[:])
				default:
					st.wharfHTTP(stack[:])
				}
			})
			checkBlocks(t, &st.mem, budget)
			if trap {
				return // the host discards a trapped instance
			}
			if name == "alloc" || name == httpFunctionName || name == "var_get" {
				if stack[0] != 0 {
					last = stack[0]
				}
			}
		}
		st.end()
		st.mem.release()
		if used := budget.used.Load(); used != 0 {
			t.Fatalf("%d bytes counted after release", used)
		}
	})
}

// FuzzWharfHTTP feeds wharf_http a request document and a body block: the
// answer must always be a block holding a well-formed HTTPResponse, and a
// request naming the body block must reach the handler with exactly that
// body.
func FuzzWharfHTTP(f *testing.F) {
	f.Add([]byte(`{"method":"GET","url":"https://example.com/"}`), []byte(nil), false)
	f.Add([]byte(`{"method":"POST","endpoint":"endpoint","path":"/x","body_block":%d,"answer_body":"block"}`), []byte("raw body"), true)
	f.Add([]byte(`{"method":"PUT","body":"aGk=","body_block":%d}`), []byte("both"), true)
	f.Add([]byte(`{"answer_body":"elsewhere"}`), []byte(nil), false)
	f.Add([]byte(`{"headers":{"a":["b"]},"timeout_ms":-1,"body_block":18446744073709551615}`), []byte("x"), false)
	f.Add([]byte(`[1,2,3]`), []byte(nil), false)
	f.Fuzz(func(t *testing.T, doc, body []byte, useBlock bool) {
		if len(doc) > 1<<16 || len(body) > 1<<16 {
			return
		}
		var got []byte
		handler := handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
			if req.BodyBlock != 0 || req.AnswerBody != "" {
				t.Fatalf("the handler got block fields: %+v", req)
			}
			got = req.Body
			return &pluginapi.HTTPResponse{Status: 201, Body: req.Body}
		})
		st, budget := fuzzState(t, 1<<20, nil, handler)
		var bodyOff uint64
		if len(body) > 0 {
			bodyOff = st.mem.write(body)
		}
		if useBlock { // name the body block where the document says %d
			doc = bytes.ReplaceAll(doc, []byte("%d"), strconv.AppendUint(nil, bodyOff, 10))
		}
		reqOff := st.mem.write(doc)
		stack := []uint64{reqOff}
		if trapped(t, "wharf_http", func() { st.wharfHTTP(stack) }) {
			t.Fatalf("wharf_http trapped on a %d-byte request with room to answer", len(doc))
		}
		checkBlocks(t, &st.mem, budget)
		answer := st.mem.bytes(stack[0])
		var resp pluginapi.HTTPResponse
		if err := json.Unmarshal(answer, &resp); err != nil {
			t.Fatalf("answer %q is not an HTTPResponse: %v", answer, err)
		}
		if resp.Error == nil && resp.Status != 201 {
			t.Fatalf("answer %+v neither an error nor the handler's", resp)
		}
		var req struct {
			BodyBlock uint64 `json:"body_block"`
		}
		if resp.Error == nil && json.Unmarshal(doc, &req) == nil && req.BodyBlock != 0 && !bytes.Equal(got, body) {
			t.Fatalf("body block %d reached the handler as %q, want %q", req.BodyBlock, got, body)
		}
		if resp.BodyBlock != 0 && !bytes.Equal(st.mem.bytes(resp.BodyBlock), got) {
			t.Fatalf("answer body block holds %q, want %q", st.mem.bytes(resp.BodyBlock), got)
		}
	})
}

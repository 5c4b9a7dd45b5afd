package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wharfhq/wharf/pluginapi"
)

func TestBlockMemory(t *testing.T) {
	m := newBlockMemory(64<<10, &memoryBudget{limit: 1 << 30})
	a := m.alloc(10)
	b := m.alloc(3)
	if a == 0 || a%blockAlign != 0 || b <= a || b%blockAlign != 0 {
		t.Fatalf("offsets %d and %d: want non-zero, aligned, increasing", a, b)
	}
	if m.length(a) != 10 || m.length(b) != 3 {
		t.Errorf("lengths %d, %d: want 10, 3", m.length(a), m.length(b))
	}
	for _, off := range []uint64{0, a + 1, b + 8, 1 << 30} {
		if n := m.length(off); n != 0 {
			t.Errorf("length(%d) = %d for no block, want 0", off, n)
		}
	}
	if off := m.alloc(0); off != 0 {
		t.Errorf("alloc(0) = %d, want 0", off)
	}

	copy(m.mem[a:], "0123456789")
	if got := string(m.bytes(a)); got != "0123456789" {
		t.Errorf("bytes(a) = %q", got)
	}
	m.free(a)
	m.free(a) // ignored
	m.free(12345)
	if m.length(a) != 0 || m.bytes(a) != nil {
		t.Error("a freed block still has a length")
	}
	if c := m.alloc(12); c != a {
		t.Errorf("alloc of a similar size got %d, want the freed block %d", c, a)
	}
	if c := m.alloc(1000); c <= b {
		t.Errorf("a larger block %d should come after %d", c, b)
	} else {
		top := m.top
		m.free(c)
		if m.top >= top || m.top != b+blockAlign {
			t.Errorf("freeing the last block left top at %d (was %d), want %d", m.top, top, b+blockAlign)
		}
	}

	if off := m.alloc(64 << 10); off != 0 {
		t.Errorf("alloc past the limit = %d, want 0", off)
	}
	if _, ok := m.span(uint64(len(m.mem))-4, 8); ok {
		t.Error("span across the end of memory accepted")
	}
	if _, ok := m.span(1<<40, 1); ok {
		t.Error("span far outside memory accepted")
	}

	m.reset()
	if m.length(b) != 0 || m.top != firstBlock || len(m.blocks) != 0 {
		t.Errorf("after reset: length %d top %d blocks %d", m.length(b), m.top, len(m.blocks))
	}
	if !bytes.Equal(m.mem[a:a+10], make([]byte, 10)) {
		t.Error("reset left the last call's bytes readable")
	}

	// A memory grown for a big answer is not kept for the next call.
	big := newBlockMemory(8<<20, &memoryBudget{limit: 1 << 30})
	if off := big.alloc(2 << 20); off == 0 {
		t.Fatal("alloc of 2 MiB under an 8 MiB limit failed")
	}
	big.reset()
	if big.mem != nil {
		t.Errorf("reset kept %d bytes", len(big.mem))
	}
	if off := big.write([]byte("again")); off != firstBlock || string(big.bytes(off)) != "again" {
		t.Errorf("write after reset: offset %d, %q", off, big.bytes(off))
	}
}

// callExport calls any export of p (not only listed operations) on a
// pooled instance.
func callExport(t *testing.T, p *Plugin, name, input string) ([]byte, error) {
	t.Helper()
	return callExportHTTP(t, p, name, input, nil)
}

// callExportHTTP is callExport with an HTTP handler for wharf_http.
func callExportHTTP(t *testing.T, p *Plugin, name, input string, http HTTPHandler) ([]byte, error) {
	t.Helper()
	inst, err := p.pool.acquire(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	keep := false
	defer func() { p.pool.release(inst, "", keep) }()
	return p.run(context.Background(), inst, name, []byte(input), http, &keep)
}

// callReport calls an export of the abi plugin and decodes its report.
func callReport(t *testing.T, p *Plugin, name, input string) map[string]any {
	t.Helper()
	out, err := callExport(t, p, name, input)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s answered %s: %v", name, out, err)
	}
	return got
}

func wantReport(t *testing.T, name string, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s reported\n%v\nwant\n%v", name, got, want)
	}
}

func TestABIBlocks(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	wantReport(t, "blocks", callReport(t, p, "blocks", ""), map[string]any{
		"a_nonzero": true, "a_aligned": true, "b_after_a": true,
		"len_a": 10.0, "len_b": 3.0, "b_byte": float64('z'),
		"len_a_freed": 0.0, "len_zero": 0.0, "len_middle": 0.0, "len_unknown": 0.0,
		"alloc_zero": 0.0, "reused": true, "len_c": 10.0,
		"memory_bytes_ok": true,
	})
}

func TestABIInput(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	for _, in := range []string{`{"id":"a"}`, `{"id":"` + strings.Repeat("b", 5000) + `"}`} {
		got := callReport(t, p, "input", in)
		word := fmt.Sprintf("%x", binary.LittleEndian.Uint64([]byte(in)))
		wantReport(t, "input", got, map[string]any{
			"length": float64(len(in)), "block_length": float64(len(in)), "first_word": word, "input": in,
		})
	}
	// No input at all is a length of 0, not a failure.
	if got := callReport(t, p, "input", ""); got["length"] != 0.0 || got["input"] != "" {
		t.Errorf("empty input reported %v", got)
	}
}

// TestABIBulkCopies: wharf_load and wharf_store (ABI 1.1) move whole
// ranges between the extism memory and the plugin's own memory.
func TestABIBulkCopies(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	for _, in := range []string{"", "a", "seven b", strings.Repeat("0123456789", 3000)} {
		wantReport(t, "bulk", callReport(t, p, "bulk", in), map[string]any{"loaded": in, "stored": in})
	}
}

// TestHTTPBodyBlocks: a request body in a block reaches the handler, and an
// answer body asked for raw comes back in a block instead of base64.
func TestHTTPBodyBlocks(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	var got []byte
	echo := handlerFunc(func(_ context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		got = req.Body
		if req.BodyBlock != 0 || req.AnswerBody != "" {
			return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "handler saw the block fields")}
		}
		return &pluginapi.HTTPResponse{Status: 201, Body: []byte(strings.ToUpper(string(req.Body)))}
	})
	body := `{"name":"web"}` + strings.Repeat("x", 5000)
	out, err := callExportHTTP(t, p, "httpblock", body, echo)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	wantReport(t, "httpblock", rep, map[string]any{"status": 201.0, "body": strings.ToUpper(body), "body_field": "",
		"answer_has_body_block": true, "answer_has_body": false})
	if string(got) != body {
		t.Errorf("handler got a body of %d bytes, want the %d sent", len(got), len(body))
	}

	// Mistakes in the new fields are answered, never trapped.
	p2 := load(t, r, "good")
	for _, tt := range []struct{ input, field string }{
		{`{"url":"https://example.com/x","body_block":123456}`, "body_block"},
		{`{"url":"https://example.com/x","body":"aGk=","body_block":8}`, "body_block"},
		{`{"url":"https://example.com/x","answer_body":"base64"}`, "answer_body"},
	} {
		raw, _ := json.Marshal(map[string]string{"raw": tt.input}) // sent to wharf_http as is
		out, err := p2.Call(context.Background(), pluginapi.OpInvoke, raw, echo)
		if err != nil {
			t.Fatalf("%s: %v", tt.input, err)
		}
		var resp pluginapi.HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.Error == nil || resp.Error.Code != pluginapi.CodeInvalid || resp.Error.Field != tt.field {
			t.Errorf("%s answered %s, want invalid %s", tt.input, out, tt.field)
		}
	}
}

func TestABIVars(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 1})
	p := load(t, r, "abi")
	for _, in := range []string{"one", "two"} {
		// The same instance serves both calls; the variable of the first
		// must not be seen by the second.
		wantReport(t, "vars", callReport(t, p, "vars", in), map[string]any{
			"before": false, "after": in, "gone_set": "x", "gone_after": false,
		})
	}
}

func TestABIConfig(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	wantReport(t, "config", callReport(t, p, "config", ""), map[string]any{"found": false, "value": ""})
}

func TestABIErrorAndStatus(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 1})
	p := load(t, r, "abi")
	tests := []struct {
		export, input string
		parts         []string
	}{
		{"fails", "disk on fire\nsecond line", []string{"abi", "fails failed", "disk on fire"}},
		{"status", "3", []string{"abi", "status returned status 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.export, func(t *testing.T) {
			_, err := callExport(t, p, tt.export, tt.input)
			e := wantCode(t, err, pluginapi.CodeInternal, tt.parts...)
			if tt.export == "fails" {
				if strings.Contains(e.Message, "second line") || e.Detail["plugin_error"] != tt.input {
					t.Errorf("message %q, detail %v: want the first line, and all of it in detail", e.Message, e.Detail)
				}
			}
			// Not a trap: the instance stays.
			if live, idle := p.pool.stats(); live != 1 || idle != 1 {
				t.Errorf("live %d idle %d: want the instance kept", live, idle)
			}
			mustEcho(t, p, pluginapi.OpGet)
		})
	}
}

// recordHandler keeps the log records it is given at or above its level.
type recordHandler struct {
	level slog.Level
	mu    sync.Mutex
	recs  []slog.Record
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the first record with message msg.
func (h *recordHandler) find(msg string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Message == msg {
			attrs := map[string]string{"level": r.Level.String()}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
			return attrs, true
		}
	}
	return nil, false
}

func TestABILog(t *testing.T) {
	tests := []struct {
		level  slog.Level
		logged bool
	}{
		{slog.LevelDebug, true},
		{slog.LevelInfo, true},
		{slog.LevelWarn, false}, // get_log_level tells the PDK to skip info
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			h := &recordHandler{level: tt.level}
			r := newRuntime(t, Config{Logger: slog.New(h)})
			p := load(t, r, "abi")
			if _, err := callExport(t, p, "log", "hello from abi"); err != nil {
				t.Fatal(err)
			}
			attrs, ok := h.find("hello from abi")
			if ok != tt.logged {
				t.Fatalf("logged %v, want %v", ok, tt.logged)
			}
			if ok && (attrs["plugin"] != "abi" || attrs["op"] != "log" || attrs["level"] != "INFO") {
				t.Errorf("record attributes %v", attrs)
			}
		})
	}
}

func TestABITraps(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "abi")
	tests := []struct {
		export  string
		message string
		kept    bool
	}{
		{"extismhttp", "http_request is not available", false},
		{"outofbounds", "outside the extism memory", false},
		{"badoutput", "outside its memory", true},
		{"bulkoutofbounds", "wharf_load: offset 1099511627776 is outside the extism memory", false},
		{"bulkbadptr", "wharf_store: 16 bytes at 4294967280 are outside the plugin's memory", false},
	}
	for _, tt := range tests {
		t.Run(tt.export, func(t *testing.T) {
			_, err := callExport(t, p, tt.export, "")
			wantCode(t, err, pluginapi.CodeInternal, "abi", tt.export, tt.message)
			live, _ := p.pool.stats()
			if kept := live == 1; kept != tt.kept {
				t.Errorf("instance kept %v, want %v", kept, tt.kept)
			}
			mustEcho(t, p, pluginapi.OpList)
		})
	}
}

func TestInputLargerThanMemory(t *testing.T) {
	r := newRuntime(t, Config{MemoryLimitBytes: 32 << 20})
	p := load(t, r, "good")
	_, err := p.Call(context.Background(), pluginapi.OpGet, make([]byte, 33<<20), nil)
	wantCode(t, err, pluginapi.CodeInternal, "good", "get", "does not fit")
	mustEcho(t, p, pluginapi.OpGet)
}

// wasmImport is one function import of a hand-made module.
type wasmImport struct {
	module, name    string
	params, results string // value types: 'i' for i32, 'I' for i64
}

// moduleWithImports encodes a wasm module that only imports functions.
func moduleWithImports(imports []wasmImport) []byte {
	uleb := func(b []byte, v int) []byte { return binary.AppendUvarint(b, uint64(v)) }
	name := func(b []byte, s string) []byte { return append(uleb(b, len(s)), s...) }
	types := func(b []byte, s string) []byte {
		b = uleb(b, len(s))
		for _, c := range s {
			b = append(b, map[rune]byte{'i': 0x7f, 'I': 0x7e}[c])
		}
		return b
	}
	section := func(b []byte, id byte, payload []byte) []byte {
		return append(uleb(append(b, id), len(payload)), payload...)
	}
	typeSec := uleb(nil, len(imports))
	importSec := uleb(nil, len(imports))
	for i, imp := range imports {
		typeSec = types(types(append(typeSec, 0x60), imp.params), imp.results)
		importSec = uleb(append(name(name(importSec, imp.module), imp.name), 0x00), i)
	}
	b := []byte("\x00asm\x01\x00\x00\x00")
	return section(section(b, 1, typeSec), 2, importSec)
}

// sdkEnv is the extism:host/env module of the Extism Go SDK v1.7, as
// imported by plugins of every Extism PDK.
var sdkEnv = []wasmImport{
	{"", "alloc", "I", "I"}, {"", "free", "I", ""}, {"", "load_u8", "I", "i"}, {"", "input_load_u8", "I", "i"},
	{"", "store_u64", "II", ""}, {"", "store_u8", "Ii", ""}, {"", "input_set", "II", ""}, {"", "output_set", "II", ""},
	{"", "input_length", "", "I"}, {"", "input_offset", "", "I"}, {"", "output_length", "", "I"}, {"", "output_offset", "", "I"},
	{"", "length", "I", "I"}, {"", "length_unsafe", "I", "I"}, {"", "reset", "", ""}, {"", "error_set", "I", ""},
	{"", "error_get", "", "I"}, {"", "memory_bytes", "", "I"}, {"", "input_load_u64", "I", "I"}, {"", "load_u64", "I", "I"},
	{"", "config_get", "I", "I"}, {"", "var_get", "I", "I"}, {"", "var_set", "II", ""}, {"", "http_request", "II", "I"},
	{"", "http_status_code", "", "i"}, {"", "http_headers", "", "I"}, {"", "get_log_level", "", "i"},
	{"", "log_trace", "I", ""}, {"", "log_debug", "I", ""}, {"", "log_info", "I", ""}, {"", "log_warn", "I", ""}, {"", "log_error", "I", ""},
}

func TestImports(t *testing.T) {
	all := append([]wasmImport{{"extism:host/user", "wharf_http", "I", "I"}, {"wasi_snapshot_preview1", "fd_write", "iiii", "i"}}, sdkEnv...)
	for i := range all {
		if all[i].module == "" {
			all[i].module = envModule
		}
	}
	t.Run("every extism function", func(t *testing.T) {
		r := newRuntime(t, Config{})
		p := &Plugin{rt: r, memoryLimit: 16 << 20, path: "all.wasm", log: r.log}
		rt, m, err := p.newWazero(context.Background(), wazero.NewRuntimeConfig(), moduleWithImports(all))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(context.Background())
		mod, err := rt.InstantiateModule(context.Background(), m, wazero.NewModuleConfig())
		if err != nil {
			t.Fatalf("instantiate: %v", err)
		}
		mod.Close(context.Background())
	})

	tests := []struct {
		name   string
		imp    wasmImport
		errors []string
	}{
		{"unknown function", wasmImport{envModule, "frobnicate", "", ""}, []string{"imports extism:host/env.frobnicate, which this host does not provide"}},
		{"unknown module", wasmImport{"env", "abort", "iiii", ""}, []string{`imports env.abort, but this host has no module "env"`}},
		{"wrong signature", wasmImport{envModule, "alloc", "i", "i"}, []string{"imports extism:host/env.alloc as (i32) -> (i32)", "host's is (i64) -> (i64)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.wasm")
			writeFile(t, path, string(moduleWithImports(append(all[:3:3], tt.imp))))
			r := newRuntime(t, Config{})
			_, err := r.Load(context.Background(), path)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, part := range append(tt.errors, "bad.wasm") {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

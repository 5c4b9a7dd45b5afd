package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wharfhq/wharf/internal/wasmbin"
)

// module assembles a wasm binary from (id, body) sections.
func module(sections ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s[0])
		out = binary.AppendUvarint(out, uint64(len(s)-1))
		out = append(out, s[1:]...)
	}
	return out
}

func sec(id byte, body ...byte) []byte { return append([]byte{id}, body...) }

// appendName appends a length-prefixed name.
func appendName(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// hugeCount is the LEB128 of 2^32-1, the largest count a module can declare.
var hugeCount = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F}

// malformedModules each declare a count or size that wazero's decoder
// allocates up front. The first is 15 bytes: a valid header and a
// function section claiming 2^32-1 entries (16 GiB of type indices).
func malformedModules() map[string][]byte {
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	return map[string][]byte{
		"function count":   module(sec(3, hugeCount...)),
		"type params":      module(sec(1, cat([]byte{1, 0x60}, hugeCount)...)),
		"import name":      module(sec(2, cat([]byte{1}, hugeCount)...)),
		"export count":     module(sec(7, hugeCount...)),
		"code body size":   module(sec(10, cat([]byte{1}, hugeCount)...)),
		"locals":           module(sec(10, cat([]byte{1, 7, 1}, hugeCount, []byte{0x7F, 0x0B})...)),
		"data size":        module(sec(11, cat([]byte{1, 1}, hugeCount)...)),
		"element count":    module(sec(9, cat([]byte{1, 1, 0}, hugeCount)...)),
		"name map":         module(sec(0, cat(appendName(nil, "name"), []byte{1, 5}, hugeCount)...)),
		"custom name":      module(sec(0, hugeCount...)),
		"section size":     append(module(), cat([]byte{1}, hugeCount)...),
		"table size":       module(sec(4, cat([]byte{1, 0x70, 0}, hugeCount)...)),
		"fewer than count": module(sec(10, cat([]byte{100}, bytes.Repeat([]byte{2, 0, 0x0B}, 50))...)), // 100 functions, 50 present
	}
}

// TestMalformedModuleIsRefusedCheaply is the attack of issue 10 §6: a tiny
// file that makes wazero's decoder ask for gigabytes (a fatal out of
// memory under a memory limit, which recover cannot catch). Loading each
// must fail with a clear error while allocating little, and LoadDir must
// still load the good plugin beside them.
func TestMalformedModuleIsRefusedCheaply(t *testing.T) {
	dir := t.TempDir()
	copyPlugin(t, "good", dir, "good")
	r := newRuntime(t, Config{})
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	var ms goruntime.MemStats
	for name, wasm := range malformedModules() {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".wasm")
		if err := os.WriteFile(path, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		goruntime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err := r.Load(ctx, path)
		_, cerr := compileModule(ctx, rt, wasm)
		goruntime.ReadMemStats(&ms)
		allocated := ms.TotalAlloc - before
		if err == nil || !strings.Contains(err.Error(), "malformed module") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s (%d bytes): load error %v, want a malformed module naming the file", name, len(wasm), err)
		}
		if !errors.Is(cerr, wasmbin.ErrMalformed) {
			t.Errorf("%s: compile error %v, want wasmbin.ErrMalformed", name, cerr)
		}
		if allocated > 1<<20 {
			t.Errorf("%s: refusing %d bytes allocated %d KiB", name, len(wasm), allocated>>10)
		}
		t.Logf("%-16s %2d bytes: %d KiB allocated: %v", name, len(wasm), allocated>>10, err)
	}
	plugins, errs := newRuntime(t, Config{}).LoadDir(ctx, dir)
	if len(plugins) != 1 || plugins[0].Name() != "good" {
		t.Fatalf("LoadDir loaded %v, want the good plugin", plugins)
	}
	if want := len(malformedModules()); len(errs) != want {
		t.Fatalf("LoadDir reported %d errors, want %d: %v", len(errs), want, errs)
	}
}

// TestOversizedFileIsNotRead: a plugin file past wasmbin.MaxModuleBytes is refused
// from its size alone.
func TestOversizedFileIsNotRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.wasm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(wasmbin.MaxModuleBytes + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	_, err = newRuntime(t, Config{}).Load(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "MiB allowed") {
		t.Fatalf("load error %v, want the size limit", err)
	}
}

package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/wasmbin"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestTimeoutWithoutInstrumentation runs a plugin the rewrite is told not
// to understand: wazero's own checks must stop it at its deadline.
func TestTimeoutWithoutInstrumentation(t *testing.T) {
	instrument = func([]byte) ([]byte, int, error) { return nil, 0, wasmbin.ErrUnsupported }
	t.Cleanup(func() { instrument = wasmbin.Instrument })
	dir := t.TempDir()
	path := copyPlugin(t, "loops", dir, "loops")
	writeFile(t, filepath.Join(dir, "loops.json"), `{"limits": {"timeout_ms": 300}}`)
	r := newRuntime(t, Config{CallTimeout: time.Minute, CacheDir: t.TempDir()})
	p, err := r.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
	wantCode(t, err, pluginapi.CodeTimeout, "loops", "get", "300ms")
	if _, err := p.Call(context.Background(), pluginapi.OpList, []byte(`{}`), nil); err != nil {
		t.Fatalf("list after timeout: %v", err)
	}
}

// TestInstrumentedCodeIsCached: the rewrite runs once per wasm digest; a
// later runtime on the same cache folder compiles the kept bytes, and a
// damaged entry is rewritten rather than failing the plugin.
func TestInstrumentedCodeIsCached(t *testing.T) {
	var rewrites atomic.Int32
	instrument = func(b []byte) ([]byte, int, error) {
		rewrites.Add(1)
		return wasmbin.Instrument(b)
	}
	t.Cleanup(func() { instrument = wasmbin.Instrument })
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	path := copyPlugin(t, "good", dir, "good")

	run := func() *Plugin {
		t.Helper()
		r := newRuntime(t, Config{CacheDir: cache})
		p, err := r.Load(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		waitWarm(t, r) // compiled in the background, then freed
		mustEcho(t, p, pluginapi.OpGet)
		return p
	}
	p := run()
	if n := rewrites.Load(); n != 1 {
		t.Fatalf("%d rewrites on the first load, want 1", n)
	}
	kept := filepath.Join(cache, "wharf-preempt", fmt.Sprintf("%s-v%d.wasm", p.Digest(), instrumentVersion))
	b, err := os.ReadFile(kept)
	if err != nil {
		t.Fatalf("instrumented code not kept: %v", err)
	}
	orig, _ := os.ReadFile(path)
	if want, _, _ := wasmbin.Instrument(orig); !bytes.Equal(b, want) {
		t.Fatal("kept bytes differ from the rewrite of the plugin")
	}

	run()
	if n := rewrites.Load(); n != 1 {
		t.Fatalf("%d rewrites after a second runtime, want still 1", n)
	}

	writeFile(t, kept, "not wasm")
	run()
	if n := rewrites.Load(); n != 2 {
		t.Fatalf("%d rewrites after damaging the entry, want 2", n)
	}
	if b, _ := os.ReadFile(kept); !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatal("damaged entry not replaced")
	}
}

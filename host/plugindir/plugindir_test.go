package plugindir_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/plugindir"
)

type recorder struct {
	mu      sync.Mutex
	files   []string
	forced  map[string]bool
	rescans int
}

func (r *recorder) file(_ context.Context, path string, force bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files = append(r.files, filepath.Base(path))
	if force {
		r.forced[filepath.Base(path)] = true
	}
}

func (r *recorder) rescan(context.Context) {
	r.mu.Lock()
	r.rescans++
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]string, map[string]bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	forced := map[string]bool{}
	for k, v := range r.forced {
		forced[k] = v
	}
	return append([]string{}, r.files...), forced, r.rescans
}

func watch(t *testing.T, dir string) *recorder {
	t.Helper()
	r := &recorder{forced: map[string]bool{}}
	w, err := plugindir.Watch(plugindir.Config{Dir: dir, File: r.file, Rescan: r.rescan, Debounce: 100 * time.Millisecond, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Many writes to one file are one notice once they settle; hidden files
// and other files are not plugins; a manifest or signature is a forced
// notice for its module; a rescan comes first, for what changed before.
func TestWatchDebouncesAndMaps(t *testing.T) {
	dir := t.TempDir()
	r := watch(t, dir)
	waitUntil(t, "the first rescan", func() bool { _, _, n := r.snapshot(); return n == 1 })

	f, err := os.Create(filepath.Join(dir, "acme.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // a slow copy: writes 20 ms apart, inside the debounce
		if _, err := f.Write(make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.Close()
	for _, name := range []string{".acme.wasm.tmp", ".upload-1", "notes.txt", "acme.wasm~"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the module's notice", func() bool { files, _, _ := r.snapshot(); return len(files) == 1 })
	time.Sleep(300 * time.Millisecond) // nothing else comes
	files, forced, _ := r.snapshot()
	if len(files) != 1 || files[0] != "acme.wasm" || forced["acme.wasm"] {
		t.Fatalf("notices %v (forced %v), want one unforced acme.wasm", files, forced)
	}

	if err := os.WriteFile(filepath.Join(dir, "acme.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.wasm.minisig"), []byte(`sig`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the sidecars' notices", func() bool { files, _, _ := r.snapshot(); return len(files) == 3 })
	_, forced, _ = r.snapshot()
	if !forced["acme.wasm"] || !forced["other.wasm"] {
		t.Fatalf("sidecar notices not forced: %v", forced)
	}

	if err := os.Remove(filepath.Join(dir, "acme.wasm")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the removal's notice", func() bool { files, _, _ := r.snapshot(); return len(files) == 4 })
}

func TestWatchNeedsAFolder(t *testing.T) {
	_, err := plugindir.Watch(plugindir.Config{Dir: filepath.Join(t.TempDir(), "nope"),
		File: func(context.Context, string, bool) {}, Rescan: func(context.Context) {}})
	if err == nil {
		t.Fatal("watching a missing folder succeeded")
	}
}

package runtime

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// hasCode reports whether p holds machine code right now.
func hasCode(p *Plugin) bool {
	p.codeMu.Lock()
	defer p.codeMu.Unlock()
	return p.code != nil
}

// waitWarm waits for r's background compiler to finish its queue.
func waitWarm(t *testing.T, r *Runtime) {
	t.Helper()
	for {
		r.warmMu.Lock()
		busy := r.warming
		r.warmMu.Unlock()
		if !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCodeIsLoadedOnFirstCall(t *testing.T) {
	// No cache folder: nothing is compiled in the background.
	r := newRuntime(t, Config{CacheDir: t.TempDir()})
	r.cfg.CacheDir = ""
	p := load(t, r, "good")
	if hasCode(p) {
		t.Fatal("machine code held right after load, want none before the first call")
	}
	if live, idle := p.pool.stats(); live != 0 || idle != 0 {
		t.Fatalf("live %d idle %d after load: want no instance kept from describe", live, idle)
	}
	mustEcho(t, p, pluginapi.OpGet)
	if !hasCode(p) {
		t.Fatal("no machine code after a call")
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hasCode(p) {
		t.Fatal("machine code still held after Close")
	}
}

func TestDescribeCache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	path := copyPlugin(t, "good", dir, "good")

	r1 := newRuntime(t, Config{CacheDir: cache})
	p1, err := r1.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	want := p1.Describe()
	// The background compiler fills the disk cache, then frees the code.
	waitWarm(t, r1)
	if hasCode(p1) {
		t.Error("background compilation kept the machine code without any call")
	}
	records, _ := filepath.Glob(filepath.Join(cache, "wharf-describe", p1.Digest()+"-*.json"))
	if len(records) != 1 {
		t.Fatalf("describe records %q, want one", records)
	}
	compiled, _ := filepath.Glob(filepath.Join(cache, "wazero-*", "*"))
	if len(compiled) == 0 {
		t.Fatal("no compiled code in the cache folder after the background compilation")
	}
	if err := r1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	t.Run("used by the next start", func(t *testing.T) {
		// Change the record: the next load must report what it says,
		// which proves describe was not run again.
		b, err := os.ReadFile(records[0])
		if err != nil {
			t.Fatal(err)
		}
		var rec describeRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(rec.Describe, &d); err != nil {
			t.Fatal(err)
		}
		d["version"] = "9.9.9-from-cache"
		rec.Describe, _ = json.Marshal(d)
		b, _ = json.Marshal(rec)
		writeFile(t, records[0], string(b))

		r2 := newRuntime(t, Config{CacheDir: cache})
		p2, err := r2.Load(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if v := p2.Describe().Version; v != "9.9.9-from-cache" {
			t.Fatalf("version %q, want the cached record's", v)
		}
		if p2.Describe().Name != want.Name {
			t.Errorf("name %q, want %q", p2.Describe().Name, want.Name)
		}
		mustEcho(t, p2, pluginapi.OpGet)
	})

	t.Run("checked like a fresh answer", func(t *testing.T) {
		var rec describeRecord
		b, _ := os.ReadFile(records[0])
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		rec.Exports = []string{"describe"} // as if the module exported nothing else
		b, _ = json.Marshal(rec)
		writeFile(t, records[0], string(b))
		r3 := newRuntime(t, Config{CacheDir: cache})
		_, err := r3.Load(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), "does not export") {
			t.Fatalf("load with a record lacking exports: %v, want refused", err)
		}
	})

	t.Run("bad record ignored", func(t *testing.T) {
		writeFile(t, records[0], "{not json")
		r4 := newRuntime(t, Config{CacheDir: cache})
		p4, err := r4.Load(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if p4.Describe().Version != want.Version {
			t.Errorf("version %q, want the plugin's own %q", p4.Describe().Version, want.Version)
		}
		mustEcho(t, p4, pluginapi.OpGet)
	})

	t.Run("other memory limit runs describe again", func(t *testing.T) {
		r5 := newRuntime(t, Config{CacheDir: cache, MemoryLimitBytes: 32 << 20})
		if _, err := r5.Load(context.Background(), path); err != nil {
			t.Fatal(err)
		}
		again, _ := filepath.Glob(filepath.Join(cache, "wharf-describe", p1.Digest()+"-*.json"))
		if len(again) != 2 {
			t.Errorf("describe records %q, want one per memory limit", again)
		}
	})
}

func TestFileChangedSinceLoad(t *testing.T) {
	dir := t.TempDir()
	path := copyPlugin(t, "good", dir, "good")
	r := newRuntime(t, Config{CacheDir: t.TempDir()})
	r.cfg.CacheDir = "" // no background compilation: the code is read at the first call
	p, err := r.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	copyPlugin(t, "panics", dir, "good")
	_, err = p.Call(context.Background(), pluginapi.OpGet, []byte(`{}`), nil)
	wantCode(t, err, pluginapi.CodeInternal, "good", "changed since the plugin was loaded")
}

func TestGiveUpWhileCompiling(t *testing.T) {
	r := newRuntime(t, Config{CacheDir: t.TempDir()})
	r.cfg.CacheDir = "" // compiled at the first call, from scratch
	p := load(t, r, "good")
	// Compiling a Go module takes far longer than a millisecond.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, pluginapi.OpGet, []byte(`{}`), nil)
	wantCode(t, err, pluginapi.CodeUnavailable, "good", "still compiling")
	// The compilation went on for the next caller.
	mustEcho(t, p, pluginapi.OpGet)
}

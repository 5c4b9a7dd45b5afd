package runtime

import (
	"bytes"
	"context"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestHostMemoryBudget: a plugin that allocates without end, under a host
// budget smaller than its own limit, is stopped by the budget with a
// retryable unavailable error naming it; every byte is given back when its
// instance is dropped, and the other plugins keep working.
func TestHostMemoryBudget(t *testing.T) {
	r := newRuntime(t, Config{MemoryLimitBytes: 256 << 20, MaxTotalMemoryBytes: 96 << 20})
	hog := load(t, r, "allocates")
	good := load(t, r, "good")
	_, err := hog.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
	e := wantCode(t, err, pluginapi.CodeUnavailable, "allocates", "wasm memory budget of 96 MiB")
	if !e.Retryable {
		t.Errorf("%v: want retryable", e)
	}
	live, _ := hog.pool.stats()
	if live != 0 {
		t.Fatalf("%d live instances after the trap, want 0", live)
	}
	mustEcho(t, good, pluginapi.OpGet)
	// One idle instance of good holds memory; closing it gives all back.
	if used := r.budget.used.Load(); used == 0 || used > 32<<20 {
		t.Errorf("%d bytes in use with one idle instance", used)
	}
	if err := good.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if used := r.budget.used.Load(); used != 0 {
		t.Errorf("%d bytes still counted after every instance was closed", used)
	}
}

// rss is the process's resident memory, and its peak since resetPeak.
func rss(t *testing.T) (now, peak uint64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	field := func(name string) uint64 {
		i := bytes.Index(b, []byte(name+":"))
		if i < 0 {
			t.Skip("no " + name)
		}
		f := strings.Fields(string(b[i+len(name)+1:]))
		kb, _ := strconv.ParseUint(f[0], 10, 64)
		return kb << 10
	}
	return field("VmRSS"), field("VmHWM")
}

// resetPeak resets the peak resident memory the kernel reports.
func resetPeak(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skip("cannot reset the peak RSS:", err)
	}
}

// TestMemoryHungryCallsStayWithinTheBudget is the attack of issue 10 §4:
// eight concurrent calls that allocate memory without end and write all of
// it (before, they took the host to gigabytes, kept). The host's resident
// memory must stay within the budget (plus the host's own) while they
// run, and go back down once their instances are dropped.
func TestMemoryHungryCallsStayWithinTheBudget(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("measures RSS through /proc")
	}
	const budget = 256 << 20
	r := newRuntime(t, Config{PoolSize: 8, MaxConnectionCalls: 8, MemoryLimitBytes: 128 << 20,
		MaxTotalMemoryBytes: budget, CallTimeout: 30 * time.Second})
	p := load(t, r, "fills")
	if _, err := p.Call(context.Background(), pluginapi.OpList, []byte(`{}`), nil); err != nil {
		t.Fatal(err) // compiles the plugin first
	}
	goruntime.GC()
	before, _ := rss(t)
	resetPeak(t)

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[pluginapi.Code]int{}
	for range 8 {
		wg.Go(func() {
			_, err := p.CallFor(context.Background(), "hog", pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
			mu.Lock()
			codes[pluginapi.CodeOf(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	after, peak := rss(t)
	t.Logf("RSS before %d MiB, peak %d MiB, after %d MiB; errors %v; budget in use %d",
		before>>20, peak>>20, after>>20, codes, r.budget.used.Load())
	if codes[pluginapi.CodeUnavailable] == 0 {
		t.Errorf("no call was stopped by the budget: %v", codes)
	}
	if peak > before+budget+128<<20 {
		t.Errorf("peak RSS %d MiB, more than %d MiB before plus the %d MiB budget and some slack", peak>>20, before>>20, budget>>20)
	}
	if after > before+64<<20 {
		t.Errorf("RSS %d MiB after the instances were dropped, %d MiB before: memory not returned", after>>20, before>>20)
	}
	if used := r.budget.used.Load(); used > 8<<20 {
		t.Errorf("%d bytes still counted in the budget", used)
	}
}

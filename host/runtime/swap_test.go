package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// An old version whose file was replaced still makes new instances, from
// the instrumented copy of its own bytes in the cache folder: it serves
// until the new version is swapped in.
func TestOldVersionServesAfterItsFileChanged(t *testing.T) {
	dir := t.TempDir()
	path := copyPlugin(t, "good", dir, "good")
	r := newRuntime(t, Config{CacheDir: t.TempDir()})
	p, err := r.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r.compiling.Wait() // the background compiler wrote the instrumented copy
	copyPlugin(t, "panics", dir, "good")
	p.releaseCode() // the next instance needs the code again
	mustEcho(t, p, pluginapi.OpGet)
}

// Swap puts a prepared version in place of the old one, which finishes
// the call it runs and then refuses calls with ErrClosed.
func TestSwapRetiresTheOldVersion(t *testing.T) {
	r := newRuntime(t, Config{})
	old := load(t, r, "good")
	next, err := r.Prepare(context.Background(), build(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.plugins["good"]; got != old {
		t.Fatal("Prepare registered the new version")
	}
	// A call in flight on the old version when the swap happens.
	hold := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := old.Call(context.Background(), pluginapi.OpInvoke, []byte(`{"url":"https://example.com/"}`), handlerFunc(func(ctx context.Context, _ *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
			<-hold
			return &pluginapi.HTTPResponse{Status: 200}
		}))
		done <- err
	}()
	waitBusy(t, old)
	if _, err := r.Swap(next); err != nil {
		t.Fatal(err)
	}
	if r.plugins["good"] != next {
		t.Fatal("Swap did not register the new version")
	}
	mustEcho(t, next, pluginapi.OpGet)
	close(hold)
	if err := <-done; err != nil {
		t.Fatalf("the call in flight on the old version: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := old.Call(context.Background(), pluginapi.OpGet, []byte(`{}`), nil)
		if errors.Is(err, ErrClosed) {
			wantCode(t, err, pluginapi.CodeUnavailable, "closed")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retired version still answers: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.plugins["good"] != next {
		t.Fatal("retiring the old version unregistered the new one")
	}
}

func waitBusy(t *testing.T, p *Plugin) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.PoolStats().Busy == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call never started")
		}
		time.Sleep(time.Millisecond)
	}
}

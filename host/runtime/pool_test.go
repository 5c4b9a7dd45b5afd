package runtime

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// hangingHandler answers nothing until release is closed or the call's
// context ends: an endpoint that never answers behind an egress timeout.
func hangingHandler(release <-chan struct{}, entered func()) HTTPHandler {
	return handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		if entered != nil {
			entered()
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeTimeout, "endpoint did not answer")}
	})
}

var okHandler = handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	return &pluginapi.HTTPResponse{Status: 204}
})

const invokeInput = `{"url":"https://example.com/"}`

// TestHungConnectionDoesNotStarveTheOthers is the attack of issue 10 §4:
// sixteen callers keep a connection whose endpoint never answers busy,
// while a healthy connection of the same plugin is measured. The healthy
// calls must all succeed, each within a generous bound; the hung
// connection's extra calls must fail with a retryable unavailable error
// that names the connection. Before per-connection limits, the hung calls
// held all four instances and the healthy ones waited behind them.
func TestHungConnectionDoesNotStarveTheOthers(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 4, CallTimeout: 20 * time.Second, MaxWait: 2 * time.Second})
	p := load(t, r, "good")
	mustEcho(t, p, pluginapi.OpGet) // compile before measuring

	release := make(chan struct{})
	var (
		mu      sync.Mutex
		entered int
	)
	hung := hangingHandler(release, func() { mu.Lock(); entered++; mu.Unlock() })
	const attackers = 16
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, attackers)
	for range attackers {
		go func() {
			_, err := p.CallFor(ctx, "hung", pluginapi.OpInvoke, []byte(invokeInput), hung)
			errs <- err
		}()
	}
	defer func() { // let the hung calls go before the runtime closes
		cancel()
		close(release)
	}()

	// Wait until the hung connection holds every instance it may.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := entered
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung connection's calls never started")
		}
		time.Sleep(10 * time.Millisecond)
	}

	const bound = 2 * time.Second
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		out, err := p.CallFor(context.Background(), "healthy", pluginapi.OpInvoke, []byte(invokeInput), okHandler)
		took := time.Since(start)
		worst = max(worst, took)
		if err != nil || !strings.Contains(string(out), `"status":204`) {
			t.Fatalf("healthy call %d: %s, %v", i, out, err)
		}
		if took > bound {
			t.Fatalf("healthy call %d took %s while another connection hung, want < %s", i, took, bound)
		}
	}
	t.Logf("healthy calls: worst %s while %d calls of a hung connection were made", worst, attackers)
	mu.Lock()
	if entered > 2 {
		t.Errorf("%d calls of the hung connection ran at once, want at most 2 (half the pool)", entered)
	}
	mu.Unlock()

	// The hung connection's waiting calls give up after MaxWait, saying why.
	var refused int
	for range attackers - 2 {
		err := <-errs
		e := wantCode(t, err, pluginapi.CodeUnavailable, "good", "connection hung already has 2 calls running")
		if !e.Retryable {
			t.Errorf("%v: want retryable", e)
		}
		refused++
	}
	if refused != attackers-2 {
		t.Errorf("%d calls refused, want %d", refused, attackers-2)
	}
}

// TestFullPoolWaitIsBounded: with every instance busy, a call gives up
// after MaxWait with a retryable unavailable error naming the pool size.
func TestFullPoolWaitIsBounded(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 2, MaxConnectionCalls: 2, MaxWait: 300 * time.Millisecond})
	p := load(t, r, "good")
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	hung := hangingHandler(release, func() { started <- struct{}{} })
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := p.CallFor(context.Background(), "a", pluginapi.OpInvoke, []byte(invokeInput), hung)
			done <- err
		}()
	}
	<-started
	<-started
	_, err := p.CallFor(context.Background(), "b", pluginapi.OpGet, []byte(`{}`), nil)
	e := wantCode(t, err, pluginapi.CodeUnavailable, "good", "all 2 instances were busy for 300ms")
	if !e.Retryable || e.Detail["connection"] != "b" {
		t.Errorf("error %+v: want retryable, naming connection b", e)
	}
	close(release)
	for range 2 {
		<-done
	}
	mustEcho(t, p, pluginapi.OpGet)
}

// TestFreedSlotsGoRoundRobin: when an instance comes free, the key that
// has waited longest since it was last served gets it, not whichever
// caller wins a race; here a key with many waiters cannot push a key with
// one waiter out.
func TestFreedSlotsGoRoundRobin(t *testing.T) {
	newInst := func(context.Context) (*instance, error) { return nil, errors.New("unused") }
	pl := newPool(1, 1, time.Minute, newInst)
	ctx := context.Background()
	pl.mu.Lock()
	pl.grant("x") // one running call holds the only slot
	pl.mu.Unlock()

	order := make(chan string, 8)
	var wg sync.WaitGroup
	queued := func() int {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		n := 0
		for _, q := range pl.queues {
			n += len(q.waiters)
		}
		return n
	}
	wait := func(key string) {
		before := queued()
		wg.Go(func() {
			pl.mu.Lock()
			if err := pl.wait(ctx, key); err != nil {
				t.Error(err)
				return
			}
			pl.mu.Unlock()
			order <- key
		})
		for queued() == before { // queue the waiters one after the other
			time.Sleep(time.Millisecond)
		}
	}
	for range 3 {
		wait("busy")
	}
	wait("quiet")
	want := []string{"busy", "quiet", "busy", "busy"}
	last := "x"
	for i, k := range want {
		pl.release(nil, last, false)
		got := <-order
		if got != k {
			t.Fatalf("slot %d went to %s, want %s (order %v)", i, got, k, want)
		}
		last = got
	}
	pl.release(nil, last, false)
	wg.Wait()
}

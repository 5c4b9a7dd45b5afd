package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestPoolStats: the pool's report follows real calls: two hung calls
// hold both instances and a third waits; once they end, both instances
// are idle and nothing waits.
func TestPoolStats(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 2, MaxConnectionCalls: 2, MaxWait: time.Minute})
	p := load(t, r, "good")
	if st := p.PoolStats(); st != (PoolStats{Size: 2}) {
		t.Fatalf("before any call: %+v", st)
	}
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	hung := hangingHandler(release, func() { started <- struct{}{} })
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := p.CallFor(context.Background(), "a", pluginapi.OpInvoke, []byte(invokeInput), hung)
			done <- err
		}()
	}
	<-started
	<-started
	deadline := time.Now().Add(20 * time.Second)
	for p.PoolStats().Waiting != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the third call never waited: %+v", p.PoolStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := p.PoolStats(); st != (PoolStats{Size: 2, Live: 2, Busy: 2, Waiting: 1}) {
		t.Fatalf("two calls running, one waiting: %+v", st)
	}
	close(release)
	for range 3 {
		<-done
	}
	if st := p.PoolStats(); st != (PoolStats{Size: 2, Live: 2, Idle: 2}) {
		t.Fatalf("after the calls: %+v", st)
	}
}

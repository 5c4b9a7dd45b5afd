package audit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// blockingObserver records commits; while hold is open, each call waits
// for it, holding the checkpointer as a slow disk would.
type blockingObserver struct {
	entered chan struct{}
	hold    chan struct{}

	mu             sync.Mutex
	writes, failed int
	commits        int
}

func (o *blockingObserver) AuditCommitted(writes, failed int, took time.Duration) {
	o.mu.Lock()
	o.writes += writes
	o.failed += failed
	o.commits++
	o.mu.Unlock()
	select {
	case o.entered <- struct{}{}:
	default:
	}
	<-o.hold
}

// TestObserveAndQueueDepth: every write is observed once with its
// failure, and writes that arrive while the writer is held up are
// counted by QueueDepth until they are committed.
func TestObserveAndQueueDepth(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, db := newLog(t)
		ctx := context.Background()
		o := &blockingObserver{entered: make(chan struct{}, 1), hold: make(chan struct{})}
		l.Observe(o)

		var wg sync.WaitGroup
		start := func(op string) {
			wg.Go(func() {
				if _, err := l.Start(ctx, Event{Operation: op}); err != nil {
					t.Error(err)
				}
			})
		}
		rows := func() int {
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		waitFor := func(what string, cond func() bool) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s", what)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}

		start("a")
		<-o.entered // a's commit is being acknowledged: the checkpointer is held
		start("b")
		// b is committed and the writer waits to hand it to the checkpointer.
		waitFor("b committed", func() bool { return rows() == 2 })
		start("c")
		start("d")
		waitFor("c and d queued", func() bool { return l.QueueDepth() == 2 })
		close(o.hold)
		wg.Wait()
		if err := l.Finish(ctx, 999, Outcome{}); err == nil {
			t.Fatal("finish of an unknown entry succeeded")
		}
		if got := l.QueueDepth(); got != 0 {
			t.Fatalf("queue depth %d after every write was answered", got)
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.writes != 5 || o.failed != 1 || o.commits < 3 {
			t.Fatalf("observed %d writes (%d failed) in %d commits, want 5 (1 failed) in at least 3", o.writes, o.failed, o.commits)
		}
	})
}

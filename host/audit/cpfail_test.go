package audit

import (
	"context"
	"os"
	"strings"
	"testing"
)

// When the checkpoint log cannot be written, no caller is told its row is
// recorded: the batch whose checkpoint failed is answered with an error,
// later batches are not committed at all until a checkpoint succeeds, and
// Verify neither hangs nor calls the uncovered rows intact.
func TestCheckpointFailureIsNeverAcknowledged(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, db := newLog(t)
		if _, err := l.Start(ctx, Event{Operation: "before"}); err != nil {
			t.Fatal(err)
		}
		// The disk under the checkpoint log fails: its file is gone from under
		// the writer (a read-only descriptor stands for an I/O error).
		l.cpMu.Lock()
		good := l.cp.f
		bad, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		l.cp.f = bad // read-only: every write fails
		l.cpMu.Unlock()

		if _, err := l.Start(ctx, Event{Operation: "during"}); err == nil || !strings.Contains(err.Error(), "checkpoint failed") {
			t.Fatalf("a row whose checkpoint failed was acknowledged: %v", err)
		}
		count := func() (n int) {
			db.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n)
			return n
		}
		committed := count()
		if _, err := l.Start(ctx, Event{Operation: "after"}); err == nil {
			t.Fatal("a write was acknowledged while the checkpoint log fails")
		}
		if count() != committed {
			t.Fatalf("rows committed while the checkpoint log fails: %d, then %d", committed, count())
		}
		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.UncoveredRows != 1 {
			t.Fatalf("verify while failing: %+v", rep)
		}

		// The disk is back: the next write checkpoints everything first.
		l.cpMu.Lock()
		l.cp.f = good
		l.cpMu.Unlock()
		bad.Close()
		if _, err := l.Start(ctx, Event{Operation: "recovered"}); err != nil {
			t.Fatal(err)
		}
		if rep, err := l.Verify(ctx); err != nil || !rep.OK || rep.UncoveredRows != 0 {
			t.Fatalf("verify after recovery: %+v %v", rep, err)
		}
	})
}

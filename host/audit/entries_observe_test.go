package audit

import (
	"context"
	"slices"
	"sync"
	"testing"
)

type entryRecorder struct {
	mu  sync.Mutex
	ids []int64
}

func (r *entryRecorder) AuditEntriesDone(ids []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, ids...)
}

func (r *entryRecorder) seen() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// TestObserveEntries: a finished or recorded entry is reported once its
// caller is answered, a start alone is not, a failed finish is not, and
// nil stops the reports.
func TestObserveEntries(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, _ := newLog(t)
		ctx := context.Background()
		rec := &entryRecorder{}
		l.ObserveEntries(rec)

		started, err := l.Start(ctx, Event{Operation: "service.create"})
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.seen(); len(got) != 0 {
			t.Fatalf("a start alone was reported: %v", got)
		}
		if err := l.Finish(ctx, started, Outcome{}); err != nil {
			t.Fatal(err)
		}
		recorded, err := l.Record(ctx, Event{Operation: "service.delete"}, Outcome{Refused: OutcomeDenied})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(ctx, started, Outcome{}); err == nil {
			t.Fatal("a second finish succeeded")
		}
		// Each call returned after its commit was acknowledged, and the
		// observer hears of a commit before its callers return.
		if got, want := rec.seen(), []int64{started, recorded}; !slices.Equal(got, want) {
			t.Fatalf("observed %v, want %v", got, want)
		}
		es, err := l.Query(ctx, Filter{BeforeID: recorded + 1, Limit: 1})
		if err != nil || len(es) != 1 || es[0].ID != recorded || es[0].Outcome != OutcomeDenied {
			t.Fatalf("query of the reported id: %v %v", es, err)
		}

		l.ObserveEntries(nil)
		if _, err := l.Record(ctx, Event{Operation: "service.update"}, Outcome{}); err != nil {
			t.Fatal(err)
		}
		if got := rec.seen(); len(got) != 2 {
			t.Fatalf("reports after ObserveEntries(nil): %v", got)
		}
	})
}

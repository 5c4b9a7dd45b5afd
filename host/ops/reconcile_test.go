package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestReconcileIsBounded: a platform that never answers costs one get
// timeout, and once the budget is spent the rest are marked without a
// look; the start is never failed or held up for long.
func TestReconcileIsBounded(t *testing.T) {
	ctx := context.Background()
	first := opstest.New(t, opstest.Options{})
	res := must[*ops.ServiceResult](t)(first.Host.CreateService(ctx, first.Admin, opstest.Conn, json.RawMessage(webSpec)))
	release := make(chan struct{})
	defer close(release)
	for range 6 {
		_, err := first.Audit.Start(ctx, audit.Event{Connection: opstest.Conn, Plugin: "fake", Operation: "service.update", Target: res.Service.ID})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Still running: not this host's to recover while it runs.
	if rep := first.Host.ReconcileAudit(ctx, ops.ReconcileOptions{}); rep.Interrupted != 0 {
		t.Fatalf("a running host recovered its own running operations: %+v", rep)
	}
	if err := first.Server.Close(ctx); err != nil {
		t.Fatal(err)
	}
	first.Platform.Hold = func(r *http.Request) {
		if r.Method == http.MethodGet {
			<-release
		}
	}
	began := time.Now()
	e := opstest.New(t, opstest.Options{DataDir: first.Dir, NoConnection: true,
		Reconcile: ops.ReconcileOptions{GetTimeout: 200 * time.Millisecond, Budget: 300 * time.Millisecond}})
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("the restart took %v with a hung platform", took)
	}
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, e.Admin, audit.Filter{Outcome: audit.OutcomeInterrupted}))
	var timedOut, outOfBudget int
	for _, en := range entries {
		switch {
		case strings.Contains(en.Note, "did not answer within 200ms"):
			timedOut++
		case strings.Contains(en.Note, "budget (300ms) ran out"), strings.Contains(en.Note, "budget was spent"):
			outOfBudget++
		default:
			t.Errorf("entry %d note %q", en.ID, en.Note)
		}
	}
	if len(entries) != 6 || timedOut == 0 || outOfBudget == 0 {
		t.Fatalf("entries %+v: want 6 interrupted, some timed out, some out of budget", entries)
	}
}

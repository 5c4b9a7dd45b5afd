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
	e := opstest.New(t, opstest.Options{})
	res := must[*ops.ServiceResult](t)(e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec)))
	release := make(chan struct{})
	defer close(release)
	e.Platform.Hold = func(r *http.Request) {
		if r.Method == http.MethodGet {
			<-release
		}
	}
	for range 6 {
		_, err := e.Audit.Start(ctx, audit.Event{Connection: opstest.Conn, Plugin: "fake", Operation: "service.update", Target: res.Service.ID})
		if err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	rep := e.Host.ReconcileAudit(ctx, ops.ReconcileOptions{GetTimeout: 200 * time.Millisecond, Budget: 300 * time.Millisecond})
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("reconcile took %v with a hung platform", took)
	}
	if rep.Interrupted != 6 || rep.Failed != 0 {
		t.Fatalf("report = %+v", rep)
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

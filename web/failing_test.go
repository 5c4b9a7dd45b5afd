package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
)

// The connections page marks a failing connection (failure policy) with
// a badge saying why and when its calls are tried again; a healthy one
// gets nothing.
func TestFailingBadge(t *testing.T) {
	render := func(f *ops.Failing) string {
		var b strings.Builder
		if err := failingBadge(f).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := render(nil); got != "" {
		t.Fatalf("healthy connection: %q", got)
	}
	at := time.Date(2026, 12, 6, 12, 0, 30, 0, time.UTC)
	got := render(&ops.Failing{ConsecutiveFailures: 5, Reason: "trap", LastError: "plugin flaky crashed in get: <panic>", RetryAt: at})
	for _, want := range []string{`class="badge failed"`, "data-failing", ">failing</span>", "failed 5 times in a row (last: trap: plugin flaky crashed in get: &lt;panic&gt;)",
		`datetime="2026-12-06T12:00:30Z"`, "retried at", "2026-12-06 12:00:30 UTC"} {
		if !strings.Contains(got, want) {
			t.Errorf("badge lacks %q:\n%s", want, got)
		}
	}
	if got := render(&ops.Failing{ConsecutiveFailures: 5, Reason: "timeout", RetryAt: at, Probing: true}); !strings.Contains(got, "testing the plugin now") {
		t.Errorf("probing badge: %s", got)
	}
}

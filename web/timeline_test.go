package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// before reports whether a occurs in body, and before b (or b is absent).
func before(body, a, b string) bool {
	i, j := strings.Index(body, a), strings.Index(body, b)
	return i >= 0 && (j < 0 || i < j)
}

// On the Docker emulator: a healthy service's timeline card comes after
// its instances, with the changes made and their actors; once an update
// to a crashing image failed, the card comes first, under the status
// header, with the failure the host saw and the failed tasks; the full
// timeline has a page of its own.
func TestDetailPageTimeline(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	ctx := context.Background()
	alice := ops.Caller{Actor: "alice", Role: ops.RoleAdmin}
	id := createService(t, env, "web")
	waitSettled(t, env, id)
	if _, err := env.Host.RunAction(ctx, alice, "swarm", id, "scale", json.RawMessage(`{"replicas":2}`)); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, env, id)
	path := "/services/swarm/" + id

	r := c.Get(path)
	expect(t, r, 200, `id="timeline"`, "Scaled to 2 by alice", `class="tl-actor" title="who asked">alice<`,
		`href="`+path+`/timeline"`, "Full timeline", `data-kind="instance"`)
	if !before(r.Body, "<h2>Instances</h2>", `id="timeline"`) {
		t.Fatalf("a running service's timeline is not after its instances:\n%s", excerpt(r.Body))
	}

	if _, err := env.Host.PatchService(ctx, alice, "swarm", id, json.RawMessage(`{"image":"app:crash"}`), ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := env.Host.GetService(ctx, webtest.Admin, "swarm", id)
		if err == nil && s.Status == pluginapi.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the update to a crashing image did not fail: %+v %v", s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	r = c.Get(path)
	expect(t, r, 200, "Changed image by alice", "Scaled to 2 by alice", "→ failed", `data-severity="error"`, "non-zero exit")
	if !before(r.Body, `id="timeline"`, "<h2>Actions</h2>") || !before(r.Body, `id="timeline"`, "<h2>Details</h2>") ||
		!before(r.Body, `id="status"`, `id="timeline"`) {
		t.Fatalf("a failed service's timeline is not first under the status:\n%s", excerpt(r.Body))
	}
	if n := strings.Count(r.Body, `class="tl-item `); n == 0 || n > 10 {
		t.Fatalf("detail page shows %d timeline items, want 1 to 10", n)
	}
	// Relative time, the absolute one on hover.
	if !strings.Contains(r.Body, `<time datetime="`) {
		t.Fatalf("timeline items carry no time:\n%s", excerpt(r.Body))
	}

	full := c.Get(path + "/timeline")
	expect(t, full, 200, "Timeline of web", "Changed image by alice", "Created by test-setup", "→ failed")
	if strings.Contains(full.Body, "Full timeline") {
		t.Fatal("the full timeline links to itself")
	}
	expect(t, c.Get("/services/swarm/nope/timeline"), 404)
}

package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
)

func start(t *testing.T, dir string) *server.Server {
	t.Helper()
	s, err := server.New(context.Background(), server.Config{DataDir: dir,
		PluginFiles: []string{opstest.PluginPath(t)}, Runtime: runtime.Config{CacheDir: opstest.CacheDir()},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStartReconcilesInterruptedOperations: operations whose start row is
// on disk but whose finish never came (the process was killed while the
// plugin ran) are found by the next server, marked interrupted at the
// time of recovery, with what the platform says now.
func TestStartReconcilesInterruptedOperations(t *testing.T) {
	ctx := context.Background()
	admin := ops.Caller{Actor: "test-owner", Role: ops.RoleOwner}
	plat := fakeplatform.New(opstest.PlatformToken)
	web := httptest.NewServer(plat)
	defer web.Close()
	dir := t.TempDir()

	s := start(t, dir)
	cfg := json.RawMessage(`{"endpoint":"` + web.URL + `","token":"` + opstest.PlatformToken + `"}`)
	if _, err := s.Host.CreateConnection(ctx, admin, ops.ConnectionInput{Name: "fake1", Plugin: "fake", Config: cfg}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Host.CreateService(ctx, admin, "fake1", json.RawMessage(`{"name":"web","image":"nginx:1","replicas":1}`))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Service.ID
	// What ops writes before calling the plugin; the process then dies
	// before the finish. (A killed process leaves exactly this row: see
	// host/audit TestCrashLeavesStartedRow.)
	started := map[string]int64{}
	for _, ev := range []audit.Event{
		{Actor: "alice", Connection: "fake1", Plugin: "fake", Operation: "service.update", Target: id},
		{Actor: "alice", Connection: "fake1", Plugin: "fake", Operation: "service.delete", Target: "gone-123"},
		{Actor: "alice", Connection: "nowhere", Plugin: "fake", Operation: "connection.create", Target: "nowhere"},
		{Actor: "alice", Connection: "fake1", Plugin: "fake", Operation: "service.create", Target: ""},
	} {
		aid, err := s.Audit.Start(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		started[ev.Operation] = aid
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	s = start(t, dir)
	defer s.Close(ctx)
	entries, err := s.Host.QueryAudit(ctx, admin, audit.Filter{Outcome: audit.OutcomeInterrupted})
	if err != nil {
		t.Fatal(err)
	}
	byOp := map[string]audit.Entry{}
	for _, e := range entries {
		byOp[e.Operation] = e
	}
	if len(entries) != 4 {
		t.Fatalf("%d interrupted entries, want 4: %+v", len(entries), entries)
	}
	for op, want := range map[string]string{
		"service.update":    "the platform reports service " + id + " status running, 1 of 1 running",
		"service.delete":    "no service gone-123 (not found)",
		"connection.create": "connection nowhere does not exist",
		"service.create":    "no service to look at",
	} {
		e := byOp[op]
		if e.ID != started[op] || !strings.Contains(e.Note, want) || e.FinishedAt == nil || e.FinishedAt.Before(before) {
			t.Errorf("%s: %+v\nwant interrupted at recovery with a note containing %q", op, e, want)
		}
	}
	if n, _ := s.Host.QueryAudit(ctx, admin, audit.Filter{Outcome: audit.OutcomeIncomplete}); len(n) != 0 {
		t.Errorf("still incomplete: %+v", n)
	}
	if ok, _ := s.Host.QueryAudit(ctx, admin, audit.Filter{Outcome: audit.OutcomeOK}); len(ok) != 2 {
		t.Errorf("finished operations changed: %+v", ok)
	}
	rep, err := s.Host.VerifyAudit(ctx, admin)
	if err != nil || !rep.OK {
		t.Fatalf("Verify after reconcile = %+v, %v", rep, err)
	}
}

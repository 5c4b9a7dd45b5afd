package ops_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestStalePatchAuditedLikeStalePut: the same stale version, sent as a PUT
// (refused by the platform) or as a PATCH (refused by the host), leaves one
// entry each, of the same shape.
func TestStalePatchAuditedLikeStalePut(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, c, conn := e.Host, ops.Caller{Actor: "olive", Role: ops.RoleOperator, ClientAddr: "10.0.0.7:5000", RequestID: "r-1"}, opstest.Conn
	id := must[*ops.ServiceResult](t)(h.CreateService(ctx, c, conn, json.RawMessage(webSpec))).Service.ID
	must[*ops.ServiceResult](t)(h.PatchService(ctx, c, conn, id, json.RawMessage(`{"replicas":3}`), "")) // now at version 2

	before := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{}))
	_, err := h.UpdateService(ctx, c, conn, id, json.RawMessage(`{"name":"web","image":"nginx:9"}`), "1")
	wantCode(t, err, pluginapi.CodeConflict)
	afterPut := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{}))
	_, err = h.PatchService(ctx, c, conn, id, json.RawMessage(`{"image":"nginx:9"}`), "1")
	wantCode(t, err, pluginapi.CodeConflict)
	afterPatch := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{}))
	if len(afterPut) != len(before)+1 || len(afterPatch) != len(afterPut)+1 {
		t.Fatalf("entries: %d before, %d after the stale PUT, %d after the stale PATCH; want one more each", len(before), len(afterPut), len(afterPatch))
	}
	put, patch := afterPut[0], afterPatch[0]
	shape := func(en audit.Entry) string {
		return strings.Join([]string{en.Actor, en.ClientAddr, en.RequestID, en.Connection, en.Plugin, en.Operation,
			en.Target, en.TargetName, en.Outcome, en.ErrorCode}, " ")
	}
	want := "olive 10.0.0.7:5000 r-1 fake1 fake service.update " + id + " web error conflict"
	if shape(put) != want || shape(patch) != want {
		t.Fatalf("stale PUT entry   %q\nstale PATCH entry %q\nwant              %q", shape(put), shape(patch), want)
	}
	if put.FinishedAt == nil || patch.FinishedAt == nil {
		t.Fatal("a stale attempt's entry is not finished")
	}
	var req map[string]any
	if err := json.Unmarshal(patch.Request, &req); err != nil || req["version"] != "1" || req["patch"] == nil {
		t.Fatalf("stale PATCH request record: %s", patch.Request)
	}
}

// TestStepsAfterCreateCarryTheName: every step on a service, addressed by
// its platform id, records its name too, so a search by name finds them all.
func TestStepsAfterCreateCarryTheName(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, c, conn := e.Host, ops.Caller{Actor: "olive", Role: ops.RoleOperator}, opstest.Conn
	id := must[*ops.ServiceResult](t)(h.CreateService(ctx, c, conn, json.RawMessage(webSpec))).Service.ID
	if id == "web" {
		t.Fatal("the fake platform's ids must differ from names for this test")
	}
	must[*ops.ServiceResult](t)(h.UpdateService(ctx, c, conn, id, json.RawMessage(`{"name":"web","image":"nginx:2"}`), ""))
	must[*ops.ServiceResult](t)(h.PatchService(ctx, c, conn, id, json.RawMessage(`{"replicas":3}`), ""))
	must[*ops.ServiceResult](t)(h.RunAction(ctx, c, conn, id, "scale", json.RawMessage(`{"replicas":1}`)))
	must[*ops.ServiceResult](t)(h.DeleteService(ctx, c, conn, id, true))
	for _, q := range []string{"web", id} {
		entries := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{Target: q}))
		var ops_ []string
		for _, en := range entries {
			ops_ = append(ops_, en.Operation)
			if en.TargetName != "web" {
				t.Errorf("%s entry: target_name %q", en.Operation, en.TargetName)
			}
		}
		if got := strings.Join(ops_, " "); got != "service.delete service.action:scale service.update service.update service.create" {
			t.Fatalf("search %q finds %s", q, got)
		}
	}
}

// TestDeniedMutationsAudited: a viewer trying every mutation leaves one
// denied entry each, naming the actor, the operation and the target.
func TestDeniedMutationsAudited(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, conn := e.Host, opstest.Conn
	id := must[*ops.ServiceResult](t)(h.CreateService(ctx, e.Admin, conn, json.RawMessage(webSpec))).Service.ID
	v := ops.Caller{Actor: "viewer-bot", Role: ops.RoleViewer, ClientAddr: "10.9.9.9:1234"}
	try := map[string]func() error{
		"service.create " + "web2": func() error {
			_, err := h.CreateService(ctx, v, conn, json.RawMessage(`{"name":"web2","image":"x"}`))
			return err
		},
		"service.update " + id: func() error {
			_, err := h.UpdateService(ctx, v, conn, id, json.RawMessage(`{"name":"web","image":"x"}`), "")
			return err
		},
		"service.delete " + id: func() error { _, err := h.DeleteService(ctx, v, conn, id, true); return err },
		"service.action:restart " + id: func() error {
			_, err := h.RunAction(ctx, v, conn, id, "restart", nil)
			return err
		},
		"service.invoke " + id: func() error {
			_, err := h.Invoke(ctx, v, conn, id, ops.InvokeInput{Method: "GET", Path: "/"})
			return err
		},
		"connection.create evil": func() error {
			_, err := h.CreateConnection(ctx, v, ops.ConnectionInput{Name: "evil", Plugin: "fake", Config: e.Config()})
			return err
		},
		"connection.delete " + conn: func() error { return h.DeleteConnection(ctx, v, conn) },
	}
	for what, fn := range try {
		wantCode(t, fn(), pluginapi.CodeForbidden)
		_ = what
	}
	// The patch: one more update attempt.
	_, err := h.PatchService(ctx, v, conn, id, json.RawMessage(`{"replicas":9}`), "")
	wantCode(t, err, pluginapi.CodeForbidden)

	entries := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{Outcome: audit.OutcomeDenied}))
	if len(entries) != len(try)+1 {
		t.Fatalf("%d denied entries for %d attempts: %+v", len(entries), len(try)+1, entries)
	}
	seen := map[string]int{}
	for _, en := range entries {
		if en.Actor != "viewer-bot" || en.ClientAddr != "10.9.9.9:1234" || en.ErrorCode != "forbidden" || en.Request != nil {
			t.Errorf("denied entry: %+v", en)
		}
		if strings.HasPrefix(en.Operation, "service.") && en.Connection != conn {
			t.Errorf("denied %s: connection %q", en.Operation, en.Connection)
		}
		seen[en.Operation+" "+en.Target]++
	}
	for what := range try {
		if seen[what] == 0 {
			t.Errorf("no denied entry for %s (have %v)", what, seen)
		}
	}
	if seen["service.update "+id] != 2 {
		t.Errorf("PUT and PATCH attempts: %d denied update entries, want 2", seen["service.update "+id])
	}
	// Nothing ran: the service and the connection are still there.
	must[*pluginapi.Service](t)(h.GetService(ctx, e.Admin, conn, id))
}

// TestDeniedFloodIsBounded: past the per-actor limit, denied attempts are
// not written one by one; one entry counts them.
func TestDeniedFloodIsBounded(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h := e.Host
	v := ops.Caller{Actor: "flooder", Role: ops.RoleViewer}
	const attempts = 25
	for i := 0; i < attempts; i++ {
		_, err := h.DeleteService(ctx, v, opstest.Conn, "svc", true)
		wantCode(t, err, pluginapi.CodeForbidden)
	}
	// Another actor has a limit of its own.
	_, err := h.DeleteService(ctx, ops.Caller{Actor: "other", Role: ops.RoleViewer}, opstest.Conn, "svc", true)
	wantCode(t, err, pluginapi.CodeForbidden)
	denied := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{Actor: "flooder"}))
	if len(denied) != 20 {
		t.Fatalf("%d entries for %d attempts, want the first 20", len(denied), attempts)
	}
	if o := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{Actor: "other"})); len(o) != 1 {
		t.Fatalf("the other actor's attempt: %d entries", len(o))
	}
	// At shutdown (or at the end of the window) the rest are summed up.
	h.Close()
	sum := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{Actor: "flooder", Operation: ops.SuppressedOperation}))
	if len(sum) != 1 || sum[0].Outcome != audit.OutcomeDenied || !strings.Contains(sum[0].Note, "5 more denied attempts by flooder") {
		t.Fatalf("summary entry: %+v", sum)
	}
}

// TestRefusalsBeforeRunAreAudited: an unknown connection, an unknown
// action and a malformed patch are entries too, with their outcomes.
func TestRefusalsBeforeRunAreAudited(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, c := e.Host, ops.Caller{Actor: "olive", Role: ops.RoleOperator}
	_, err := h.DeleteService(ctx, c, "nope", "svc", false)
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = h.PatchService(ctx, c, opstest.Conn, "svc", json.RawMessage(`[1]`), "")
	wantCode(t, err, pluginapi.CodeInvalid)
	entries := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{Actor: "olive"}))
	if len(entries) != 2 {
		t.Fatalf("entries: %+v", entries)
	}
	if en := entries[0]; en.Operation != "service.update" || en.Outcome != audit.OutcomeInvalid || en.Target != "svc" || en.Plugin != "fake" {
		t.Errorf("malformed patch entry: %+v", en)
	}
	if en := entries[1]; en.Operation != "service.delete" || en.Outcome != audit.OutcomeError || en.ErrorCode != "not_found" || en.Connection != "nope" {
		t.Errorf("unknown connection entry: %+v", en)
	}
}

// owner reads the whole audit log: refusals on connections that do not
// exist have no connection a narrower caller could read them through.
var owner = ops.Caller{Actor: "test-owner", Role: ops.RoleOwner}

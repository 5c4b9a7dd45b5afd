package webhooks_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/metrics/metricstest"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/pluginapi"
)

const spec = `{"name":"web","image":"nginx:1","replicas":2}`

// TestServiceChangesInOrder: create, update, action and delete through a
// real host reach a subscription in order, signed, with their connection,
// service and actor; a selector keeps only its connections' events.
func TestServiceChangesInOrder(t *testing.T) {
	all, payments, other := newReceiver(t), newReceiver(t), newReceiver(t)
	h := newHost(t, "", []webhooks.Subscription{
		sub("all", all.URL, []string{"service.*"}, ""),
		sub("payments", payments.URL, []string{"service.created", "service.updated", "service.action", "service.deleted"}, "team=payments"),
		sub("other", other.URL, []string{"*"}, "team=other"),
	}, webhooks.Options{Backoff: fastBackoff})
	h.connect(t, "pay", map[string]string{"team": "payments"})
	h.connect(t, "misc", nil)
	ctx := context.Background()

	created, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	id := created.Service.ID
	if _, err := h.Host.UpdateService(ctx, owner, "pay", id, json.RawMessage(`{"name":"web","image":"nginx:2","replicas":2}`), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Host.RunAction(ctx, owner, "pay", id, "scale", json.RawMessage(`{"replicas":3}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Host.DeleteService(ctx, owner, "pay", id, true); err != nil {
		t.Fatal(err)
	}
	// A refused change is no event; one on another connection goes to "all" only.
	if _, err := h.Host.UpdateService(ctx, owner, "pay", id, json.RawMessage(`{"name":"web","image":"nginx:3"}`), ""); err == nil {
		t.Fatal("update of a deleted service succeeded")
	}
	if _, err := h.Host.CreateService(ctx, owner, "misc", json.RawMessage(spec)); err != nil {
		t.Fatal(err)
	}

	want := []string{ops.EventServiceCreated, ops.EventServiceUpdated, ops.EventServiceAction, ops.EventServiceDeleted}
	got := all.wait(5)
	if tt := types(got); !slices.Equal(tt, append(want, ops.EventServiceCreated)) {
		t.Fatalf("all got %v", tt)
	}
	for i, r := range got {
		p := r.payload
		if r.verified != nil {
			t.Errorf("delivery %d: %v", i, r.verified)
		}
		if r.header.Get(webhooks.HeaderID) != p.ID || !strings.HasPrefix(p.ID, "evt_") {
			t.Errorf("delivery %d: id header %q, payload id %q", i, r.header.Get(webhooks.HeaderID), p.ID)
		}
		if p.Actor != "alice" || p.Service == nil || p.Service.Name != "web" || time.Since(p.Time) > time.Minute {
			t.Errorf("delivery %d: payload %+v", i, p)
		}
		if wantConn := map[bool]string{true: "misc", false: "pay"}[i == 4]; p.Connection != wantConn {
			t.Errorf("delivery %d: connection %q, want %q", i, p.Connection, wantConn)
		}
		if i < 4 && p.Service.ID != id {
			t.Errorf("delivery %d: service %+v, want id %s", i, p.Service, id)
		}
	}
	data := got[2].payload.Data.(map[string]any)
	if data["action"] != "scale" || data["operation"] != "service.action:scale" {
		t.Errorf("action data = %v", data)
	}
	if svc, _ := got[0].payload.Data.(map[string]any)["service"].(map[string]any); svc["status"] != "running" || svc["raw"] != nil || svc["spec"] != nil {
		t.Errorf("created data's service = %v (want a summary without spec and raw)", svc)
	}
	// Signature verification fails with a wrong secret, and for a changed body.
	if err := webhooks.Verify("another-secret-of-some-length", got[0].header, got[0].body, 5*time.Minute, time.Now()); err == nil {
		t.Error("a wrong secret verified")
	}
	if err := webhooks.Verify(secret, got[0].header, append([]byte(" "), got[0].body...), 5*time.Minute, time.Now()); err == nil {
		t.Error("a changed body verified")
	}

	if tt := types(payments.wait(4)); !slices.Equal(tt, want) {
		t.Fatalf("payments got %v", tt)
	}
	waitFor(t, "deliveries recorded", func() bool {
		return view(t, h.Webhooks, "all").Delivered == 5 && view(t, h.Webhooks, "payments").Delivered == 4
	})
	// Events are queued before the operation returns: none was for "other".
	if v := view(t, h.Webhooks, "other"); int64(v.Queued)+v.Attempts != 0 || len(other.all()) != 0 {
		t.Fatalf("other: %+v, %d requests", v, len(other.all()))
	}
	ds := deliveries(t, h.Webhooks, "all")
	if len(ds) != 5 || ds[0].EventType != ops.EventServiceCreated || ds[4].EventType != ops.EventServiceCreated ||
		ds[0].Status != webhooks.StatusDelivered || ds[0].Attempts != 1 || ds[0].HTTPStatus != 204 {
		t.Fatalf("delivery log = %+v", ds)
	}
}

// TestStatusAndRollout: a failed service seen by a get is reported once
// (edges, not levels), running again after it when a list shows it, and a
// rollout when a get shows it finished.
func TestStatusAndRollout(t *testing.T) {
	r := newReceiver(t)
	h := newHost(t, "", []webhooks.Subscription{sub("ops", r.URL, []string{"service.status", "service.rollout"}, "")}, webhooks.Options{})
	h.connect(t, "pay", map[string]string{"team": "payments"})
	ctx := context.Background()
	created, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	id := created.Service.ID
	get := func() {
		t.Helper()
		if _, err := h.Host.GetService(ctx, owner, "pay", id); err != nil {
			t.Fatal(err)
		}
	}
	get() // running: nothing to say
	h.plat.SetState(id, "FAILED")
	get()
	get() // still failed: no second event
	h.plat.SetState(id, "RUNNING")
	if _, err := h.Host.ListAllServices(ctx, owner, ops.ListAllOptions{}); err != nil {
		t.Fatal(err)
	}
	get() // still running
	h.plat.SetRollout(id, "updating", false)
	get()
	h.plat.SetRollout(id, "completed", true)
	get()
	get() // the same finished rollout: once

	got := r.wait(3)
	if tt := types(got); !slices.Equal(tt, []string{ops.EventServiceStatus, ops.EventServiceStatus, ops.EventServiceRollout}) {
		t.Fatalf("got %v", tt)
	}
	d0, d1, d2 := got[0].payload.Data.(map[string]any), got[1].payload.Data.(map[string]any), got[2].payload.Data.(map[string]any)
	if d0["status"] != "failed" || d0["previous"] != "running" || d1["status"] != "running" || d1["previous"] != "failed" {
		t.Fatalf("status data: %v then %v", d0, d1)
	}
	if ro, _ := d2["rollout"].(map[string]any); ro["state"] != "completed" || ro["completed_at"] == nil {
		t.Fatalf("rollout data: %v", d2)
	}
	if got[0].payload.Actor != "" || got[0].payload.Connection != "pay" || got[0].payload.Service.ID != id {
		t.Fatalf("status payload %+v", got[0].payload)
	}
	// Nothing more came after the three (the later gets and list said nothing new).
	get()
	if _, err := h.Webhooks.Test(ctx, owner, "ops"); err != nil {
		t.Fatal(err)
	}
	if tt := types(r.wait(4)); !slices.Equal(tt, []string{ops.EventServiceStatus, ops.EventServiceStatus, ops.EventServiceRollout, webhooks.EventPing}) {
		t.Fatalf("got %v", tt)
	}
}

// TestAuditEntries: every audit entry is an event; an entry of no
// connection (a role binding) goes only to a subscription without a
// selector, one of a labelled connection to the selector that matches.
func TestAuditEntries(t *testing.T) { onEngines(t, testAuditEntries) }

func testAuditEntries(t *testing.T, database string) {
	everything, payments := newReceiver(t), newReceiver(t)
	h := newHostOn(t, "", database, []webhooks.Subscription{
		sub("everything", everything.URL, []string{"audit"}, ""),
		sub("payments", payments.URL, []string{"audit"}, "team=payments"),
	}, webhooks.Options{})
	ctx := context.Background()
	h.connect(t, "pay", map[string]string{"team": "payments"})
	b := access.Binding{Subject: access.User("corp", "bob"), Grant: access.Grant{Role: access.Viewer, Scope: access.All()}}
	if _, err := h.Auth.CreateBinding(ctx, owner, b); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(`{"name":"web"}`)); err == nil {
		t.Fatal("a create without an image succeeded")
	}
	if _, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(spec)); err != nil {
		t.Fatal(err)
	}

	ops := func(rs []received) []string {
		var out []string
		for _, r := range rs {
			e := r.payload.Data.(map[string]any)
			out = append(out, e["operation"].(string)+"/"+e["outcome"].(string))
		}
		return out
	}
	wantAll := []string{"connection.create/ok", "auth.binding.create/ok", "service.create/invalid", "service.create/ok"}
	if got := ops(everything.wait(4)); !slices.Equal(got, wantAll) {
		t.Fatalf("everything got %v", got)
	}
	if got := ops(payments.wait(3)); !slices.Equal(got, []string{"connection.create/ok", "service.create/invalid", "service.create/ok"}) {
		t.Fatalf("payments got %v", got)
	}
	p := everything.all()[3].payload
	if p.Type != webhooks.EventAudit || p.Connection != "pay" || p.Actor != "alice" || p.Service == nil || p.Service.Name != "web" || p.Service.ID == "" {
		t.Fatalf("service.create entry payload %+v", p)
	}
}

// TestHangingReceiverNeverDelaysOperations: while the receiver holds the
// first delivery, further operations still return; the events follow once
// it lets go.
func TestHangingReceiverNeverDelaysOperations(t *testing.T) {
	r := newReceiver(t)
	r.hold = make(chan struct{})
	h := newHost(t, "", []webhooks.Subscription{sub("slow", r.URL, []string{"service.*"}, "")}, webhooks.Options{Timeout: time.Minute})
	h.connect(t, "pay", nil)
	ctx := context.Background()
	created, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	<-r.entered // the receiver holds the created event now
	for i := range 3 {
		if _, err := h.Host.RunAction(ctx, owner, "pay", created.Service.ID, "scale", json.RawMessage(`{"replicas":`+string(rune('1'+i))+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.all()); n != 0 {
		t.Fatalf("the receiver answered %d while held", n)
	}
	if v := view(t, h.Webhooks, "slow"); v.Queued != 3 {
		t.Fatalf("queued %d, want the 3 actions behind the held create", v.Queued)
	}
	close(r.hold)
	if tt := types(r.wait(4)); !slices.Equal(tt, []string{"service.created", "service.action", "service.action", "service.action"}) {
		t.Fatalf("got %v", tt)
	}
}

// TestRestartRetriesPending: a delivery that failed, one cut short by the
// stop and one still queued are all sent by the next start, the failed
// one's event id unchanged.
func TestRestartRetriesPending(t *testing.T) { onEngines(t, testRestartRetriesPending) }

func testRestartRetriesPending(t *testing.T, database string) {
	r := newReceiver(t)
	r.answer = func(int) int { return 503 }
	subs := []webhooks.Subscription{sub("ci", r.URL, []string{"service.*"}, "")}
	h := newHostOn(t, "", database, subs, webhooks.Options{Backoff: func(int) time.Duration { return time.Hour }})
	h.connect(t, "pay", nil)
	ctx := context.Background()
	created, err := h.Host.CreateService(ctx, owner, "pay", json.RawMessage(spec))
	if err != nil {
		t.Fatal(err)
	}
	first := r.wait(1)[0].payload.ID
	waitFor(t, "the failure recorded", func() bool { return view(t, h.Webhooks, "ci").Retrying == 1 })
	// The next delivery hangs; the one after waits in the queue.
	r.mu.Lock()
	r.hold = make(chan struct{})
	r.mu.Unlock()
	id := created.Service.ID
	if _, err := h.Host.RunAction(ctx, owner, "pay", id, "scale", json.RawMessage(`{"replicas":1}`)); err != nil {
		t.Fatal(err)
	}
	<-r.entered
	<-r.entered // the second
	if _, err := h.Host.RunAction(ctx, owner, "pay", id, "scale", json.RawMessage(`{"replicas":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.hold, r.answer = nil, nil
	r.got = nil
	r.mu.Unlock()
	// Two hours on: the failed delivery's retry is due.
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	h2 := newHostOn(t, h.dir, database, subs, webhooks.Options{Now: later})
	got := r.wait(3)
	ids := []string{got[0].payload.ID, got[1].payload.ID, got[2].payload.ID}
	if !slices.Contains(ids, first) {
		t.Fatalf("the failed delivery's event %s was not retried: %v", first, ids)
	}
	if tt := types(got); !slices.Equal(tt, []string{"service.created", "service.action", "service.action"}) || ids[0] != first {
		t.Fatalf("after the restart: %v %v (the failed one: %s)", tt, ids, first)
	}
	waitFor(t, "all delivered", func() bool { return view(t, h2.Webhooks, "ci").Delivered == 3 })
	for _, d := range deliveries(t, h2.Webhooks, "ci") {
		if d.Status != webhooks.StatusDelivered {
			t.Fatalf("after the restart: %+v", d)
		}
		if (d.EventID == first || d.EventID == ids[1]) && d.Attempts != 2 {
			t.Fatalf("the retried delivery: %+v", d)
		}
	}
}

// TestViewsAreOwnerOnly: an operator is refused every view; the views
// never show the secret.
func TestViewsAreOwnerOnly(t *testing.T) {
	r := newReceiver(t)
	h := newHost(t, "", []webhooks.Subscription{{Name: "ci", URL: r.URL + "/hook?token=abc", Secret: secret, Events: []string{"*"}}}, webhooks.Options{})
	op := ops.Caller{Actor: "olga", Role: ops.RoleOperator}
	ctx := context.Background()
	if _, err := h.Webhooks.List(op); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("operator list: %v", err)
	}
	if _, err := h.Webhooks.Deliveries(ctx, op, "ci", 0); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("operator deliveries: %v", err)
	}
	if _, err := h.Webhooks.Test(ctx, op, "ci"); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("operator test: %v", err)
	}
	if _, err := h.Webhooks.Test(ctx, owner, "nope"); pluginapi.CodeOf(err) != pluginapi.CodeNotFound {
		t.Fatalf("test of an unknown webhook: %v", err)
	}
	v := view(t, h.Webhooks, "ci")
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), secret) || strings.Contains(v.URL, "abc") || !strings.HasPrefix(v.URL, r.URL+"/hook?token=") {
		t.Fatalf("view %s", b)
	}
	d, err := h.Webhooks.Test(ctx, owner, "ci")
	if err != nil || d.Status != webhooks.StatusDelivered || d.EventType != webhooks.EventPing || d.Attempts != 1 {
		t.Fatalf("ping: %+v %v", d, err)
	}
	if got := r.wait(1)[0]; got.payload.Type != "ping" || got.verified != nil || got.payload.Actor != "alice" {
		t.Fatalf("ping received: %+v (%v)", got.payload, got.verified)
	}
	// The host's /metrics counts it.
	rec := httptest.NewRecorder()
	h.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	scrape, err := metricstest.Parse(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := scrape.Value("wharf_webhook_deliveries_total", "subscription", "ci", "outcome", "delivered"); err != nil || n != 1 {
		t.Fatalf("wharf_webhook_deliveries_total{ci,delivered} = %v %v", n, err)
	}
}

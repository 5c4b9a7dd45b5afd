package ops_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// The ABI 1.5 hint: names the plugin does not declare are dropped, an
// action left out is refused as a conflict naming the state (and audited),
// and no hint at all keeps every declared action.
func TestActionsAvailable(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, c, conn := e.Host, ops.Caller{Actor: "olive", Role: ops.RoleOperator}, opstest.Conn
	create := func(name, labels string) string {
		spec := `{"name":"` + name + `","image":"nginx:1","replicas":1` + labels + `}`
		return must[*ops.ServiceResult](t)(h.CreateService(ctx, c, conn, json.RawMessage(spec))).Service.ID
	}
	hinted := create("web", `,"labels":{"fake.actions-available":"stop,explode,stop,scale"}`)
	none := create("frozen", `,"labels":{"fake.actions-available":""}`)
	plain := create("plain", "")

	svc := must[*pluginapi.Service](t)(h.GetService(ctx, c, conn, hinted))
	if !slices.Equal(svc.ActionsAvailable, []string{"stop", "scale"}) {
		t.Fatalf("actions available = %q, want the declared ones once: stop, scale", svc.ActionsAvailable)
	}
	page := must[*ops.ServicePage](t)(h.ListServices(ctx, c, conn, ops.ListOptions{}))
	for _, s := range page.Services {
		if s.ID == hinted && !slices.Equal(s.ActionsAvailable, []string{"stop", "scale"}) {
			t.Errorf("listed actions available = %q", s.ActionsAvailable)
		}
	}
	if s := must[*pluginapi.Service](t)(h.GetService(ctx, c, conn, none)); s.ActionsAvailable == nil || len(s.ActionsAvailable) != 0 {
		t.Errorf("an empty hint reads as %#v, want [] (none applies)", s.ActionsAvailable)
	}

	before := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{}))
	_, err := h.RunAction(ctx, c, conn, hinted, "start", nil)
	pe := wantCode(t, err, pluginapi.CodeConflict)
	if want := "service web is running: start does not apply (it offers stop, scale)"; pe.Message != want {
		t.Errorf("message = %q, want %q", pe.Message, want)
	}
	after := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{}))
	if len(after) != len(before)+1 || after[0].Operation != "service.action:start" || after[0].ErrorCode != "conflict" {
		t.Fatalf("the refusal is not audited once: %d entries before, %d after, newest %+v", len(before), len(after), after[0])
	}
	_, err = h.RunAction(ctx, c, conn, none, "restart", nil)
	if pe := wantCode(t, err, pluginapi.CodeConflict); !strings.Contains(pe.Message, "no action applies now") {
		t.Errorf("message = %q", pe.Message)
	}

	must[*ops.ServiceResult](t)(h.RunAction(ctx, c, conn, hinted, "scale", json.RawMessage(`{"replicas":2}`)))
	must[*ops.ServiceResult](t)(h.RunAction(ctx, c, conn, plain, "restart", nil))
	must[*ops.ServiceResult](t)(h.RunAction(ctx, c, conn, plain, "start", nil))
	_, err = h.RunAction(ctx, c, conn, "no-such-id", "start", nil)
	wantCode(t, err, pluginapi.CodeNotFound)
}

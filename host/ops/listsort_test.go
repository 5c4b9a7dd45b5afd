package ops_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// The merged list sorted by connection (desc) and paged, the summary of
// each connection before the status filter, and the refresh of given rows.
func TestListAllServicesSortSummaryAndRefs(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin
	other := opstest.New(t, opstest.Options{NoConnection: true})
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "fake2", Plugin: "fake", Config: other.Config()}))
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "broken", Plugin: "fake",
		Config: json.RawMessage(`{"endpoint":"http://127.0.0.1:1","token":"x"}`)}))
	for _, n := range []string{"web-a", "api"} {
		must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(`{"name":"`+n+`","image":"i"}`)))
	}
	db := must[*ops.ServiceResult](t)(h.CreateService(ctx, a, "fake2", json.RawMessage(`{"name":"db","image":"i"}`))).Service
	must[*ops.ServiceResult](t)(h.RunAction(ctx, a, "fake2", db.ID, "stop", nil))

	names := func(p *ops.AllServicesPage) string {
		var s []string
		for _, x := range p.Services {
			s = append(s, x.Connection+"/"+x.Name)
		}
		return strings.Join(s, " ")
	}
	p1 := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Sort: ops.SortConnection, Desc: true, PageSize: 2}))
	p2 := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Sort: ops.SortConnection, Desc: true, PageSize: 2, PageToken: p1.NextPageToken}))
	if names(p1) != "fake2/db fake1/api" || names(p2) != "fake1/web-a" {
		t.Fatalf("by connection, desc: %s | %s", names(p1), names(p2))
	}
	st := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Statuses: []pluginapi.Status{pluginapi.StatusStopped}}))
	if names(st) != "fake2/db" {
		t.Fatalf("stopped = %s", names(st))
	}
	// The summary counts every status although the page shows stopped ones;
	// the unreachable connection is in Errors, not in the summary.
	if len(st.Summary) != 2 || st.Summary[0].Connection != "fake1" || st.Summary[1].Connection != "fake2" {
		t.Fatalf("summary = %+v", st.Summary)
	}
	s1, s2 := st.Summary[0], st.Summary[1]
	if s1.Total != 2 || s1.Running+s1.Updating != 2 || s1.Failed != 0 || s2.Total != 1 || s2.Running != 0 || s1.Plugin != "fake" {
		t.Fatalf("summary = %+v", st.Summary)
	}
	if len(st.Errors) != 1 || st.Errors[0].Connection != "broken" {
		t.Fatalf("errors = %+v", st.Errors)
	}
	refs := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{
		Refs: []ops.ServiceRef{{Connection: "fake2", ID: db.ID}, {Connection: opstest.Conn, ID: "gone"}, {Connection: "fake2", ID: "gone"}}}))
	if names(refs) != "fake2/db" || refs.Total != 1 {
		t.Fatalf("refs = %s", names(refs))
	}
	// The summary is still the connections' whole (the rows refreshed
	// with it are only some of them).
	if len(refs.Summary) != 2 || refs.Summary[0].Total != 2 || refs.Summary[1].Total != 1 {
		t.Fatalf("summary with refs = %+v", refs.Summary)
	}
	_, err := h.ListAllServices(ctx, a, ops.ListAllOptions{Sort: "colour"})
	if pe := wantCode(t, err, pluginapi.CodeInvalid); pe.Field != "/sort" {
		t.Fatalf("bad sort: field %q", pe.Field)
	}
	_, err = h.ListAllServices(ctx, a, ops.ListAllOptions{Refs: make([]ops.ServiceRef, 501)})
	wantCode(t, err, pluginapi.CodeInvalid)
}

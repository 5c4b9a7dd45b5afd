package ops_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// scopedEnv has two labelled connections besides opstest.Conn: pay
// (team=payments) and search (team=search).
func scopedEnv(t *testing.T) *opstest.Env {
	t.Helper()
	e := opstest.New(t, opstest.Options{})
	for name, team := range map[string]string{"pay": "payments", "search": "search"} {
		must[ops.Connection](t)(e.Host.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: name, Plugin: "fake",
			Config: e.Config(), Labels: map[string]string{"team": team}}))
	}
	return e
}

func selectorCaller(t *testing.T, actor string, role ops.Role, selector string) ops.Caller {
	t.Helper()
	s, err := access.ParseSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	return ops.Caller{Actor: actor, Rights: access.Grants{{Role: role, Scope: s}}, Auth: "session:oidc:corp"}
}

func connNames(cs []ops.Connection) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// A team's operator sees and changes its own connection's services, and
// of every other connection learns nothing: not its name in lists, not
// whether it exists (the same not_found an unknown name gets), while the
// audit log records the attempt as the denial it was.
func TestScopedOperatorSeesOnlyItsConnections(t *testing.T) {
	e := scopedEnv(t)
	h := e.Host
	paula := selectorCaller(t, "paula", ops.RoleOperator, "team=payments")

	conns := must[[]ops.Connection](t)(h.ListConnections(ctx, paula))
	if got := connNames(conns); !slices.Equal(got, []string{"pay"}) || conns[0].Role != ops.RoleOperator {
		t.Fatalf("paula lists %v (%+v), want only pay as operator", got, conns)
	}
	svc := must[*ops.ServiceResult](t)(h.CreateService(ctx, paula, "pay", json.RawMessage(webSpec)))
	must[*pluginapi.Service](t)(h.GetService(ctx, paula, "pay", svc.Service.ID))

	// The search team's connection is invisible, whatever is tried on it.
	searchSvc := must[*ops.ServiceResult](t)(h.CreateService(ctx, e.Admin, "search", json.RawMessage(`{"name":"finder","image":"x:1"}`)))
	unknown := func(err error) {
		t.Helper()
		pe := wantCode(t, err, pluginapi.CodeNotFound)
		if pe.Message != "connection search not found" {
			t.Fatalf("message %q tells more than an unknown name's", pe.Message)
		}
	}
	_, err := h.GetConnection(ctx, paula, "search")
	unknown(err)
	_, err = h.ListServices(ctx, paula, "search", ops.ListOptions{})
	unknown(err)
	_, err = h.GetService(ctx, paula, "search", searchSvc.Service.ID)
	unknown(err)
	_, err = h.DeleteService(ctx, paula, "search", searchSvc.Service.ID, false)
	unknown(err)
	_, err = h.RunAction(ctx, paula, "search", searchSvc.Service.ID, "stop", nil)
	unknown(err)
	unknown(h.DeleteConnection(ctx, paula, "search"))
	_, err = h.TestConnection(ctx, paula, "search")
	unknown(err)
	// The service is untouched.
	must[*pluginapi.Service](t)(h.GetService(ctx, e.Admin, "search", searchSvc.Service.ID))

	// The cross-connection list holds only pay's services, even when the
	// filter names the hidden connection.
	all := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, paula, ops.ListAllOptions{}))
	for _, s := range all.Services {
		if s.Connection != "pay" {
			t.Fatalf("paula's list shows %s/%s", s.Connection, s.Name)
		}
	}
	if len(all.Services) == 0 {
		t.Fatal("paula's list is empty")
	}
	filtered := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, paula, ops.ListAllOptions{Connections: []string{"search"}}))
	if len(filtered.Services) != 0 || len(filtered.Errors) != 0 {
		t.Fatalf("a filter naming the hidden connection shows %+v", filtered)
	}

	// The refused delete is in the log as denied, with the real reason.
	denied := must[[]audit.Entry](t)(h.QueryAudit(ctx, ops.Caller{Actor: "root", Role: ops.RoleOwner},
		audit.Filter{Actor: "paula", Outcome: audit.OutcomeDenied}))
	if len(denied) == 0 {
		t.Fatal("paula's attempts on search are not audited as denied")
	}
	for _, en := range denied {
		if en.Connection != "search" || en.ErrorCode != string(pluginapi.CodeForbidden) || en.Note != "authenticated by session:oidc:corp" {
			t.Errorf("denied entry %+v (want a forbidden on search, noting how paula authenticated)", en)
		}
	}
}

// A viewer's role shows in refusals: the connection is visible, so the
// refusal says what is missing.
func TestScopedViewerIsToldWhatRoleIsMissing(t *testing.T) {
	e := scopedEnv(t)
	vic := selectorCaller(t, "vic", ops.RoleViewer, "team in (payments, search)")
	if got := connNames(must[[]ops.Connection](t)(e.Host.ListConnections(ctx, vic))); !slices.Equal(got, []string{"pay", "search"}) {
		t.Fatalf("vic lists %v", got)
	}
	_, err := e.Host.CreateService(ctx, vic, "pay", json.RawMessage(webSpec))
	pe := wantCode(t, err, pluginapi.CodeForbidden)
	if pe.Message != "creating a service on connection pay needs the operator role; vic has viewer there" {
		t.Fatalf("refusal %q", pe.Message)
	}
}

// A team's admin manages connections inside its scope and cannot create,
// relabel or move one outside it.
func TestScopedAdminStaysInItsScope(t *testing.T) {
	e := scopedEnv(t)
	h := e.Host
	ada := selectorCaller(t, "ada", ops.RoleAdmin, "team=payments")
	in := func(name, team string) ops.ConnectionInput {
		return ops.ConnectionInput{Name: name, Plugin: "fake", Config: e.Config(), Labels: map[string]string{"team": team}}
	}

	made := must[ops.Connection](t)(h.CreateConnection(ctx, ada, in("pay-2", "payments")))
	if made.Labels["team"] != "payments" {
		t.Fatalf("created %+v", made)
	}
	_, err := h.CreateConnection(ctx, ada, in("sneaky", "search"))
	wantCode(t, err, pluginapi.CodeForbidden)
	_, err = h.CreateConnection(ctx, ada, ops.ConnectionInput{Name: "unlabelled", Plugin: "fake", Config: e.Config()})
	wantCode(t, err, pluginapi.CodeForbidden)

	// Relabelling out of the scope is refused and changes nothing.
	_, err = h.UpdateConnection(ctx, ada, "pay-2", in("pay-2", "search"))
	wantCode(t, err, pluginapi.CodeForbidden)
	if got := must[ops.Connection](t)(h.GetConnection(ctx, e.Admin, "pay-2")); got.Labels["team"] != "payments" {
		t.Fatalf("labels after a refused relabel: %v", got.Labels)
	}
	// An update without labels keeps them.
	kept := must[ops.Connection](t)(h.UpdateConnection(ctx, ada, "pay-2", ops.ConnectionInput{Plugin: "fake", Config: e.Config()}))
	if kept.Labels["team"] != "payments" {
		t.Fatalf("an update without labels dropped them: %v", kept.Labels)
	}
	// Bad labels name the field.
	_, err = h.UpdateConnection(ctx, ada, "pay-2", ops.ConnectionInput{Plugin: "fake", Config: e.Config(),
		Labels: map[string]string{"team": "payments", "bad key!": "x"}})
	if pe := wantCode(t, err, pluginapi.CodeInvalid); pe.Field != "/labels/bad key!" {
		t.Fatalf("field %q", pe.Field)
	}

	// An admin of everything may move a connection between teams.
	moved := must[ops.Connection](t)(h.UpdateConnection(ctx, e.Admin, "pay-2", in("pay-2", "search")))
	if moved.Labels["team"] != "search" {
		t.Fatalf("moved %+v", moved)
	}
	// And then it is gone from ada's view.
	_, err = h.GetConnection(ctx, ada, "pay-2")
	wantCode(t, err, pluginapi.CodeNotFound)
	wantCode(t, h.DeleteConnection(ctx, ada, "pay-2"), pluginapi.CodeNotFound)
}

// The audit log shows each caller the entries of the connections they may
// read; owners see everything, and only owners export the whole chain or
// verify it.
func TestAuditShowsOnlyReadableConnections(t *testing.T) {
	e := scopedEnv(t)
	h := e.Host
	owner := ops.Caller{Actor: "root", Role: ops.RoleOwner}
	for _, conn := range []string{"pay", "search"} {
		must[*ops.ServiceResult](t)(h.CreateService(ctx, owner, conn, json.RawMessage(`{"name":"svc-`+conn+`","image":"x:1"}`)))
	}
	paula := selectorCaller(t, "paula", ops.RoleViewer, "team=payments")
	entries := must[[]audit.Entry](t)(h.QueryAudit(ctx, paula, audit.Filter{}))
	if len(entries) == 0 {
		t.Fatal("paula sees no entries")
	}
	for _, en := range entries {
		if en.Connection != "pay" {
			t.Fatalf("paula sees an entry of %q: %+v", en.Connection, en)
		}
	}
	if hidden := must[[]audit.Entry](t)(h.QueryAudit(ctx, paula, audit.Filter{Connection: "search"})); len(hidden) != 0 {
		t.Fatalf("paula's query naming search shows %d entries", len(hidden))
	}
	everything := must[[]audit.Entry](t)(h.QueryAudit(ctx, owner, audit.Filter{}))
	if len(everything) <= len(entries) {
		t.Fatalf("the owner sees %d entries, paula %d", len(everything), len(entries))
	}
	var buf jsonLines
	if err := h.ExportAudit(ctx, paula, audit.Filter{}, audit.FormatJSONL, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.n != len(entries) {
		t.Fatalf("paula's export has %d lines, her query %d entries", buf.n, len(entries))
	}
	wantCode(t, h.ExportAudit(ctx, paula, audit.Filter{}, audit.FormatChain, &buf), pluginapi.CodeForbidden)
	_, err := h.VerifyAudit(ctx, paula)
	wantCode(t, err, pluginapi.CodeForbidden)
	if rep := must[audit.VerifyReport](t)(h.VerifyAudit(ctx, owner)); !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
}

// jsonLines counts the lines written to it.
type jsonLines struct{ n int }

func (j *jsonLines) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			j.n++
		}
	}
	return len(p), nil
}

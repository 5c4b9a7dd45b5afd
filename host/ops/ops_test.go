package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/pluginapi"
)

var ctx = context.Background()

func wantCode(t *testing.T, err error, code pluginapi.Code) *pluginapi.Error {
	t.Helper()
	if pluginapi.CodeOf(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return pluginapi.AsError(err)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

const webSpec = `{"name":"web","image":"nginx:1","replicas":2,"labels":{"tier":"front"}}`

func TestServiceLifecycle(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, c, conn := e.Host, ops.Caller{Actor: "olive", Role: ops.RoleOperator}, opstest.Conn

	created := must[*ops.ServiceResult](t)(h.CreateService(ctx, c, conn, json.RawMessage(webSpec)))
	svc := created.Service
	if svc == nil || svc.Name != "web" || svc.Status != pluginapi.StatusRunning || *svc.Desired != 2 {
		t.Fatalf("created = %+v", svc)
	}
	id := svc.ID

	got := must[*pluginapi.Service](t)(h.GetService(ctx, c, conn, id))
	if got.Image != "nginx:1" || got.Version != "1" {
		t.Fatalf("get = %+v", got)
	}

	page := must[*ops.ServicePage](t)(h.ListServices(ctx, c, conn, ops.ListOptions{Filters: map[string][]string{"label": {"tier=front"}}}))
	if len(page.Services) != 1 || page.Services[0].ID != id {
		t.Fatalf("list by label = %+v", page.Services)
	}
	_, err := h.ListServices(ctx, c, conn, ops.ListOptions{Filters: map[string][]string{"colour": {"red"}}})
	if e := wantCode(t, err, pluginapi.CodeInvalid); e.Field != "/filters/colour" {
		t.Fatalf("unknown filter field = %q", e.Field)
	}

	// Full update; the schema default for replicas is filled in.
	upd := must[*ops.ServiceResult](t)(h.UpdateService(ctx, c, conn, id, json.RawMessage(`{"name":"web","image":"nginx:2"}`), "1"))
	if upd.Service.Image != "nginx:2" || *upd.Service.Desired != 1 || upd.Service.Version != "2" {
		t.Fatalf("update = %+v", upd.Service)
	}
	// A stale version is a conflict, from the platform.
	_, err = h.UpdateService(ctx, c, conn, id, json.RawMessage(`{"name":"web","image":"nginx:3"}`), "1")
	wantCode(t, err, pluginapi.CodeConflict)

	// Merge patch onto the current spec.
	p := must[*ops.ServiceResult](t)(h.PatchService(ctx, c, conn, id, json.RawMessage(`{"replicas":3,"env":{"A":"1"}}`), ""))
	var spec map[string]any
	if err := json.Unmarshal(p.Service.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if spec["image"] != "nginx:2" || spec["replicas"] != float64(3) || spec["env"].(map[string]any)["A"] != "1" {
		t.Fatalf("patched spec = %v", spec)
	}
	_, err = h.PatchService(ctx, c, conn, id, json.RawMessage(`{"replicas":4}`), "2")
	wantCode(t, err, pluginapi.CodeConflict)
	_, err = h.PatchService(ctx, c, conn, id, json.RawMessage(`{"replicas":-1}`), "")
	if e := wantCode(t, err, pluginapi.CodeInvalid); e.Field != "/replicas" {
		t.Fatalf("invalid patch field = %q", e.Field)
	}
	_, err = h.PatchService(ctx, c, conn, id, json.RawMessage(`[1]`), "")
	wantCode(t, err, pluginapi.CodeInvalid)

	// Actions.
	sc := must[*ops.ServiceResult](t)(h.RunAction(ctx, c, conn, id, "scale", json.RawMessage(`{"replicas":5}`)))
	if *sc.Service.Desired != 5 {
		t.Fatalf("scaled desired = %d", *sc.Service.Desired)
	}
	_, err = h.RunAction(ctx, c, conn, id, "scale", json.RawMessage(`{"replicas":"many"}`))
	if e := wantCode(t, err, pluginapi.CodeInvalid); e.Field != "/replicas" {
		t.Fatalf("scale params field = %q", e.Field)
	}
	_, err = h.RunAction(ctx, c, conn, id, "scale", nil)
	wantCode(t, err, pluginapi.CodeInvalid)
	_, err = h.RunAction(ctx, c, conn, id, "explode", nil)
	if e := wantCode(t, err, pluginapi.CodeNotFound); !strings.Contains(e.Message, "unknown action") {
		t.Fatalf("unknown action message = %q", e.Message)
	}

	// Instances and deployments.
	insts := must[[]pluginapi.Instance](t)(h.ListInstances(ctx, c, conn, id))
	if len(insts) != 5 {
		t.Fatalf("instances = %d, want 5", len(insts))
	}
	inst := must[*pluginapi.Instance](t)(h.GetInstance(ctx, c, conn, id, insts[2].ID))
	if inst.ID != insts[2].ID {
		t.Fatalf("instance = %+v", inst)
	}
	_, err = h.GetInstance(ctx, c, conn, id, "nope")
	wantCode(t, err, pluginapi.CodeNotFound)
	deps := must[*ops.DeploymentPage](t)(h.ListDeployments(ctx, c, conn, id, ops.DeploymentsOptions{}))
	if len(deps.Deployments) != 3 || deps.Deployments[0].Target != "nginx:2" {
		t.Fatalf("deployments = %+v", deps.Deployments)
	}
	dep := must[*pluginapi.Deployment](t)(h.GetDeployment(ctx, c, conn, id, deps.Deployments[2].ID))
	if dep.Target != "nginx:1" {
		t.Fatalf("first deployment = %+v", dep)
	}

	// Invoke.
	inv := must[*ops.InvokeResult](t)(h.Invoke(ctx, c, conn, id, ops.InvokeInput{Method: "POST", Path: "/hello", Body: []byte("hi"),
		Headers: map[string]string{"Authorization": "Bearer service-secret"}}))
	if inv.Status != 200 || !bytes.Contains(inv.Body, []byte(`"hi"`)) {
		t.Fatalf("invoke = %d %s", inv.Status, inv.Body)
	}

	// Logs, one shot.
	e.Platform.AddLogs(id, fakeplatform.Line{Stream: "stderr", Message: "oops", Details: map[string]string{"k": "v"}})
	logs := must[*ops.LogsPage](t)(h.Logs(ctx, c, conn, id, ops.LogsOptions{Stderr: true, Details: true}))
	if len(logs.Entries) != 1 || logs.Entries[0].Message != "oops" || logs.Entries[0].Details["k"] != "v" || logs.Cursor == "" {
		t.Fatalf("stderr logs = %+v", logs)
	}
	logs = must[*ops.LogsPage](t)(h.Logs(ctx, c, conn, id, ops.LogsOptions{Tail: 1}))
	if len(logs.Entries) != 1 || logs.Entries[0].Details != nil {
		t.Fatalf("tail 1 without details = %+v", logs.Entries)
	}

	// Delete: refused while running, then forced.
	_, err = h.DeleteService(ctx, c, conn, id, false)
	wantCode(t, err, pluginapi.CodeConflict)
	must[*ops.ServiceResult](t)(h.DeleteService(ctx, c, conn, id, true))
	_, err = h.GetService(ctx, c, conn, id)
	wantCode(t, err, pluginapi.CodeNotFound)

	// What the audit log says, newest first.
	entries := must[[]audit.Entry](t)(h.QueryAudit(ctx, c, audit.Filter{Actor: "olive"}))
	var ops_ []string
	for i := len(entries) - 1; i >= 0; i-- {
		ops_ = append(ops_, entries[i].Operation+"="+entries[i].Outcome)
	}
	// Refusals before the plugin ran are entries too: the stale patch is
	// the same conflict error as the stale update; invalid input is invalid.
	want := []string{"service.create=ok", "service.update=ok", "service.update=error", "service.update=ok",
		"service.update=error", "service.update=invalid", "service.update=invalid",
		"service.action:scale=ok", "service.action:scale=invalid", "service.action:scale=invalid", "service.action:explode=error",
		"service.invoke=ok", "service.delete=error", "service.delete=ok"}
	if strings.Join(ops_, " ") != strings.Join(want, " ") {
		t.Fatalf("audit operations\n got %v\nwant %v", ops_, want)
	}
	if entries[len(entries)-1].ResultTarget != id {
		t.Fatalf("create's result target = %q, want %q", entries[len(entries)-1].ResultTarget, id)
	}
	for _, en := range entries {
		if bytes.Contains(en.Request, []byte("service-secret")) {
			t.Fatalf("audit request holds an invoke header value: %s", en.Request)
		}
	}
}

// TestInvalidSpecIsAuditedAsInvalid: a spec the schema refuses never
// reaches the plugin, and each attempt is one entry with outcome invalid.
func TestInvalidSpecIsAuditedAsInvalid(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	for _, tc := range []struct{ spec, field string }{
		{`{"image":"x"}`, ""},
		{`{"name":"Bad Name","image":"x"}`, "/name"},
		{`{"name":"ok","image":"x","replicas":-2}`, "/replicas"},
		{`{"name":"ok","image":"x","colour":"red"}`, ""},
		{`not json`, ""},
	} {
		_, err := e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(tc.spec))
		got := wantCode(t, err, pluginapi.CodeInvalid)
		if tc.field != "" && got.Field != tc.field {
			t.Errorf("spec %s: field %q, want %q", tc.spec, got.Field, tc.field)
		}
	}
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, e.Admin, audit.Filter{Operation: "service.create"}))
	if len(entries) != 5 {
		t.Fatalf("%d entries for 5 invalid specs: %+v", len(entries), entries)
	}
	for _, en := range entries {
		if en.Outcome != audit.OutcomeInvalid || en.ErrorCode != "invalid" || en.Actor != "test-admin" || en.Request != nil {
			t.Errorf("invalid create entry: %+v", en)
		}
	}
	page := must[*ops.ServicePage](t)(e.Host.ListServices(ctx, e.Admin, opstest.Conn, ops.ListOptions{}))
	if len(page.Services) != 0 {
		t.Fatalf("an invalid spec reached the platform: %+v", page.Services)
	}
}

func TestConnectionSecretsAreWriteOnly(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin

	c := must[ops.Connection](t)(h.GetConnection(ctx, a, opstest.Conn))
	var cfg map[string]any
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["token"] != ops.Redacted || cfg["region"] != "local" || cfg["endpoint"] != e.PlatformURL {
		t.Fatalf("shown config = %v (want token redacted, region defaulted)", cfg)
	}
	if len(c.SecretsSet) != 1 || c.SecretsSet[0] != "token" {
		t.Fatalf("secrets set = %v", c.SecretsSet)
	}

	// Update without the token, then with the mask: the token is kept.
	for _, body := range []string{
		`{"endpoint":"` + e.PlatformURL + `","region":"eu"}`,
		`{"endpoint":"` + e.PlatformURL + `","region":"us","token":"********"}`,
	} {
		must[ops.Connection](t)(h.UpdateConnection(ctx, a, opstest.Conn, ops.ConnectionInput{Config: json.RawMessage(body)}))
		res := must[ops.TestResult](t)(h.TestConnection(ctx, a, opstest.Conn))
		if !res.OK {
			t.Fatalf("after update %s the connection fails: %+v", body, res.Error)
		}
	}
	// Patch: a wrong token makes the test fail with the plugin's error.
	c = must[ops.Connection](t)(h.PatchConnection(ctx, a, opstest.Conn, json.RawMessage(`{"token":"wrong-token-value"}`), 0))
	res := must[ops.TestResult](t)(h.TestConnection(ctx, a, opstest.Conn))
	if res.OK || res.Error.Code != pluginapi.CodeUnauthorized {
		t.Fatalf("test with a wrong token = %+v", res)
	}
	// Stale version.
	_, err := h.PatchConnection(ctx, a, opstest.Conn, json.RawMessage(`{"region":"x"}`), c.Version-1)
	wantCode(t, err, pluginapi.CodeConflict)
	// The plugin cannot change; the schema is enforced with a /config pointer.
	_, err = h.UpdateConnection(ctx, a, opstest.Conn, ops.ConnectionInput{Plugin: "other", Config: json.RawMessage(`{}`)})
	wantCode(t, err, pluginapi.CodeInvalid)
	_, err = h.PatchConnection(ctx, a, opstest.Conn, json.RawMessage(`{"region":5}`), 0)
	if e := wantCode(t, err, pluginapi.CodeInvalid); e.Field != "/config/region" {
		t.Fatalf("invalid config field = %q", e.Field)
	}
	_, err = h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "masked", Plugin: "fake", Config: json.RawMessage(`{"endpoint":"http://x","token":"********"}`)})
	wantCode(t, err, pluginapi.CodeInvalid)
	_, err = h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "Bad Name", Plugin: "fake"})
	wantCode(t, err, pluginapi.CodeInvalid)
	_, err = h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "x", Plugin: "nope"})
	wantCode(t, err, pluginapi.CodeInvalid)
	_, err = h.CreateConnection(ctx, a, ops.ConnectionInput{Name: opstest.Conn, Plugin: "fake", Config: e.Config()})
	wantCode(t, err, pluginapi.CodeConflict)

	// Neither audit rows nor their export hold a secret.
	var buf bytes.Buffer
	if err := h.ExportAudit(ctx, a, audit.Filter{}, "jsonl", &buf); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{opstest.PlatformToken, "wrong-token-value"} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("audit export holds secret %q:\n%s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "connection.update") || !strings.Contains(buf.String(), `\"token\":\"********\"`) &&
		!strings.Contains(buf.String(), `"token":"********"`) {
		t.Fatalf("audit export lacks the redacted connection changes:\n%s", buf.String())
	}

	must[struct{}](t)(struct{}{}, h.DeleteConnection(ctx, a, opstest.Conn))
	_, err = h.GetConnection(ctx, a, opstest.Conn)
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = h.ListServices(ctx, a, opstest.Conn, ops.ListOptions{})
	wantCode(t, err, pluginapi.CodeNotFound)
}

func TestRolesAndTokens(t *testing.T) {
	tokens := []ops.Token{
		{Name: "vera", SHA256: ops.HashToken("view-secret-0123456789abcdef0123456789"), Role: ops.RoleViewer},
		{Name: "otto", SHA256: ops.HashToken("op-secret-0123456789abcdef0123456789"), Role: ops.RoleOperator},
		{Name: "ada", SHA256: strings.ToUpper(ops.HashToken("admin-secret-0123456789abcdef0123456789")), Role: ops.RoleAdmin},
		// A weak token an administrator configured by its hash: refused at use.
		{Name: "shorty", SHA256: ops.HashToken("short-token"), Role: ops.RoleAdmin},
	}
	e := opstest.New(t, opstest.Options{Tokens: tokens})
	h := e.Host
	if h.Open() {
		t.Fatal("host with tokens says it is open")
	}
	for _, tc := range []struct {
		bearer string
		actor  string
		role   ops.Role
		code   pluginapi.Code
	}{
		{"", "", "", pluginapi.CodeUnauthorized},
		{"guess", "", "", pluginapi.CodeUnauthorized},
		{"short-token", "", "", pluginapi.CodeUnauthorized},
		{"view-secret-0123456789abcdef0123456789", "vera", ops.RoleViewer, ""},
		{"op-secret-0123456789abcdef0123456789", "otto", ops.RoleOperator, ""},
		{"admin-secret-0123456789abcdef0123456789", "ada", ops.RoleAdmin, ""},
	} {
		c, err := h.Authenticate(tc.bearer, "someone-else")
		if pluginapi.CodeOf(err) != tc.code || c.Actor != tc.actor || c.Top() != tc.role {
			t.Errorf("Authenticate(%q) = %+v, %v", tc.bearer, c, err)
		}
	}

	viewer := ops.Caller{Actor: "vera", Role: ops.RoleViewer}
	operator := ops.Caller{Actor: "otto", Role: ops.RoleOperator}
	must[[]ops.Connection](t)(h.ListConnections(ctx, viewer))
	must[*ops.ServicePage](t)(h.ListServices(ctx, viewer, opstest.Conn, ops.ListOptions{}))
	_, err := h.CreateService(ctx, viewer, opstest.Conn, json.RawMessage(webSpec))
	wantCode(t, err, pluginapi.CodeForbidden)
	svc := must[*ops.ServiceResult](t)(h.CreateService(ctx, operator, opstest.Conn, json.RawMessage(webSpec)))
	_, err = h.RunAction(ctx, viewer, opstest.Conn, svc.Service.ID, "stop", nil)
	wantCode(t, err, pluginapi.CodeForbidden)
	_, err = h.CreateConnection(ctx, operator, ops.ConnectionInput{Name: "x", Plugin: "fake", Config: e.Config()})
	wantCode(t, err, pluginapi.CodeForbidden)
	wantCode(t, h.DeleteConnection(ctx, operator, opstest.Conn), pluginapi.CodeForbidden)
	// A caller with no role sees no connection and learns none exists.
	nobody := ops.Caller{Actor: "nobody"}
	if got := must[[]ops.Connection](t)(h.ListConnections(ctx, nobody)); len(got) != 0 {
		t.Fatalf("nobody lists %+v", got)
	}
	_, err = h.GetConnection(ctx, nobody, opstest.Conn)
	wantCode(t, err, pluginapi.CodeNotFound)

	// Open mode: every caller is an owner named by the header.
	open := opstest.New(t, opstest.Options{NoConnection: true})
	c, err := open.Host.Authenticate("", "alice")
	if err != nil || c.Actor != "alice" || !c.Owner() {
		t.Fatalf("open mode = %+v, %v", c, err)
	}
	if c, _ := open.Host.Authenticate("", ""); c.Actor != "anonymous" {
		t.Fatalf("open mode without header: actor %q", c.Actor)
	}
}

func TestAuditIsWrittenBeforeThePluginRuns(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	reached := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e.Platform.Hold = func(r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/services" {
			once.Do(func() { close(reached) })
			<-release
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec))
		done <- err
	}()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("create finished without reaching the platform: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the platform never saw the create")
	}
	// The plugin is blocked inside its HTTP call: the start row is there.
	entries := must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, e.Admin, audit.Filter{Operation: "service.create"}))
	if len(entries) != 1 || entries[0].Outcome != audit.OutcomeIncomplete || entries[0].Target != "web" || entries[0].Actor != "test-admin" {
		t.Fatalf("audit mid-call = %+v", entries)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	entries = must[[]audit.Entry](t)(e.Host.QueryAudit(ctx, e.Admin, audit.Filter{Operation: "service.create"}))
	if len(entries) != 1 || entries[0].Outcome != audit.OutcomeOK || entries[0].ResultTarget == "" {
		t.Fatalf("audit after the call = %+v", entries)
	}
}

func TestAuditFailureRefusesTheOperation(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	var calls int
	var mu sync.Mutex
	e.Platform.Hold = func(r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
	}
	if err := e.Audit.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec))
	wantCode(t, err, pluginapi.CodeUnavailable)
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Fatalf("the platform received %d requests although the audit log was down", calls)
	}
}

func TestListAllServicesAcrossConnections(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin
	// A second platform, and a connection that cannot be reached.
	other := opstest.New(t, opstest.Options{NoConnection: true})
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "fake2", Plugin: "fake", Config: other.Config()}))
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "broken", Plugin: "fake",
		Config: json.RawMessage(`{"endpoint":"http://127.0.0.1:1","token":"x"}`)}))

	for _, n := range []string{"web-a", "api", "web-c"} {
		must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(`{"name":"`+n+`","image":"i"}`)))
	}
	for _, n := range []string{"web-b", "db"} {
		must[*ops.ServiceResult](t)(h.CreateService(ctx, a, "fake2", json.RawMessage(`{"name":"`+n+`","image":"i"}`)))
	}
	stopped := must[*ops.ServicePage](t)(h.ListServices(ctx, a, "fake2", ops.ListOptions{Filters: map[string][]string{"name": {"db"}}}))
	must[*ops.ServiceResult](t)(h.RunAction(ctx, a, "fake2", stopped.Services[0].ID, "stop", nil))

	names := func(p *ops.AllServicesPage) string {
		var s []string
		for _, x := range p.Services {
			s = append(s, x.Connection+"/"+x.Name)
		}
		return strings.Join(s, " ")
	}
	all := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{}))
	if got := names(all); got != "fake1/api fake2/db fake1/web-a fake2/web-b fake1/web-c" {
		t.Fatalf("all = %s", got)
	}
	if len(all.Errors) != 1 || all.Errors[0].Connection != "broken" || all.Errors[0].Error.Code != pluginapi.CodeUnavailable {
		t.Fatalf("errors = %+v", all.Errors)
	}
	p1 := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Name: "WEB", PageSize: 2}))
	p2 := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Name: "WEB", PageSize: 2, PageToken: p1.NextPageToken}))
	if names(p1) != "fake1/web-a fake2/web-b" || names(p2) != "fake1/web-c" || p1.Total != 3 || p2.NextPageToken != "" {
		t.Fatalf("pages = %s | %s (total %d)", names(p1), names(p2), p1.Total)
	}
	st := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Statuses: []pluginapi.Status{pluginapi.StatusStopped}}))
	if names(st) != "fake2/db" {
		t.Fatalf("stopped = %s", names(st))
	}
	only := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{Connections: []string{"fake2"}}))
	if names(only) != "fake2/db fake2/web-b" || len(only.Errors) != 0 {
		t.Fatalf("fake2 only = %s %+v", names(only), only.Errors)
	}
	_, err := h.ListAllServices(ctx, a, ops.ListAllOptions{PageToken: "abc"})
	wantCode(t, err, pluginapi.CodeInvalid)
}

func TestFollowLogsSharesOneFollower(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin
	// The follower is at the end of the log once it polls with a cursor:
	// every line added from then on reaches both subscribers.
	positioned := make(chan struct{})
	var once sync.Once
	e.Platform.Hold = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/logs") && r.URL.Query().Get("cursor") != "" {
			once.Do(func() { close(positioned) })
		}
	}
	svc := must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(webSpec))).Service
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s1 := must[*logfanout.Subscription](t)(h.FollowLogs(cctx, a, opstest.Conn, svc.ID, logfanout.Options{Tail: 10}))
	s2 := must[*logfanout.Subscription](t)(h.FollowLogs(cctx, a, opstest.Conn, svc.ID, logfanout.Options{}))
	if n := h.LogFollowers(); n != 1 {
		t.Fatalf("followers = %d, want 1", n)
	}
	// s1 gets the history first.
	b := <-s1.C
	if b[0].Entry == nil || b[0].Entry.Message != "web started" {
		t.Fatalf("tail batch = %+v", b)
	}
	select {
	case <-positioned:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower never polled with a cursor")
	}
	for i := 0; i < 3; i++ {
		e.Platform.AddLogs(svc.ID, fakeplatform.Line{Stream: "stdout", Message: "hello " + string(rune('a'+i))})
	}
	for _, s := range []*logfanout.Subscription{s1, s2} {
		var got []string
		for len(got) < 3 {
			select {
			case b := <-s.C:
				for _, it := range b {
					if it.Entry != nil {
						got = append(got, it.Entry.Message)
					}
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("got %v", got)
			}
		}
		if strings.Join(got, ",") != "hello a,hello b,hello c" {
			t.Fatalf("followed = %v", got)
		}
	}
	_, err := h.FollowLogs(ctx, a, "nope", svc.ID, logfanout.Options{})
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = h.FollowLogs(ctx, ops.Caller{}, opstest.Conn, svc.ID, logfanout.Options{})
	wantCode(t, err, pluginapi.CodeNotFound) // no role there: hidden
	cancel()
	for i := 0; i < 200 && h.LogFollowers() != 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.LogFollowers(); n != 0 {
		t.Fatalf("followers after everyone left = %d", n)
	}
}

func TestUnsupportedAndUnknown(t *testing.T) {
	e := opstest.New(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/good"}})
	h, a := e.Host, e.Admin
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "good", Plugin: "good"}))
	_, err := h.ListInstances(ctx, a, "good", "x")
	wantCode(t, err, pluginapi.CodeUnsupported)
	_, err = h.ListDeployments(ctx, a, "good", "x", ops.DeploymentsOptions{})
	wantCode(t, err, pluginapi.CodeUnsupported)

	_, err = h.GetService(ctx, a, "nope", "x")
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = h.GetService(ctx, a, opstest.Conn, "svc-404")
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = h.GetPlugin(ctx, a, "nope")
	wantCode(t, err, pluginapi.CodeNotFound)
	pl := must[ops.PluginInfo](t)(h.GetPlugin(ctx, a, "good"))
	if pl.Digest == "" || pl.Path == "" || len(pl.Hosts) != 1 || pl.Hosts[0] != "example.com" {
		t.Fatalf("plugin info = %+v", pl)
	}
	list := must[[]ops.PluginInfo](t)(h.ListPlugins(ctx, a))
	if len(list) != 2 || list[0].Name != "fake" || list[1].Name != "good" {
		t.Fatalf("plugins = %+v", list)
	}
}

func TestSecretNotInDatabaseFiles(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	must[*ops.ServiceResult](t)(e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec)))
	files, _ := filepath.Glob(filepath.Join(e.Dir, "wharf.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(opstest.PlatformToken)) {
			t.Fatalf("%s holds the platform token in clear", f)
		}
	}
}

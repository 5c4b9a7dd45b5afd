package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/pluginapi"
)

const rootToken = "root-token-for-the-client-tests-0123456789abcdef"

// env is a real host (host/server with the API face and the fake plugin)
// on loopback, the fake platform, and an owner's client.
type env struct {
	srv      *server.Server
	url      string
	plat     *fakeplatform.Server
	platURL  string
	c        *client.Client
	platConf json.RawMessage
}

// newEnv starts a host; closed (one bootstrap owner token) unless open.
func newEnv(t *testing.T, open bool) *env {
	t.Helper()
	cfg := server.Config{
		DataDir:     t.TempDir(),
		PluginFiles: []string{opstest.PluginPath(t)},
		Runtime:     runtime.Config{CacheDir: opstest.CacheDir()},
		Faces:       []server.Face{api.Face(api.Options{})},
		Logger:      slog.New(slog.DiscardHandler),
	}
	if !open {
		cfg.Tokens = []ops.Token{{Name: "root", Role: ops.RoleOwner, SHA256: ops.HashToken(rootToken)}}
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	if len(srv.LoadErrors) > 0 {
		t.Fatal(srv.LoadErrors)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	plat := fakeplatform.New(opstest.PlatformToken)
	ps := httptest.NewServer(plat)
	t.Cleanup(ps.Close)
	e := &env{srv: srv, url: hs.URL, plat: plat, platURL: ps.URL,
		platConf: json.RawMessage(`{"endpoint":"` + ps.URL + `","token":"` + opstest.PlatformToken + `"}`)}
	e.c = e.client(t, rootToken)
	return e
}

func (e *env) client(t *testing.T, token string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(e.url, append([]client.Option{client.WithToken(token)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connect creates the connection c1 to the fake platform.
func (e *env) connect(t *testing.T) {
	t.Helper()
	if _, err := e.c.Connections.Create(context.Background(), ops.ConnectionInput{Name: "c1", Plugin: "fake", Config: e.platConf}); err != nil {
		t.Fatal(err)
	}
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

// wantCode checks err is a *pluginapi.Error of code carrying the host's
// request id.
func wantCode(t *testing.T, err error, code pluginapi.Code, what string) *pluginapi.Error {
	t.Helper()
	var e *pluginapi.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("%s: error %v, want a *pluginapi.Error of code %s", what, err, code)
	}
	return e
}

func TestHostPluginsAndConnections(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()

	h := must[client.Health](t)(e.c.Health(ctx))
	if h.Status != "ok" || h.Open {
		t.Fatalf("health = %+v, want ok and closed", h)
	}
	if doc := must[json.RawMessage](t)(e.c.OpenAPI(ctx)); !bytes.Equal(doc, api.OpenAPI) {
		t.Fatal("OpenAPI is not the host's document")
	}

	ps := must[[]ops.PluginInfo](t)(e.c.Plugins.List(ctx))
	if len(ps) != 1 || ps[0].Name != "fake" || ps[0].Digest == "" {
		t.Fatalf("plugins = %+v", ps)
	}
	if p := must[ops.PluginInfo](t)(e.c.Plugins.Get(ctx, "fake")); p.Describe.Title != "Fake platform" || len(p.Describe.Actions) == 0 {
		t.Fatalf("plugin fake = %+v", p)
	}
	_, err := e.c.Plugins.Get(ctx, "nope")
	if pe := wantCode(t, err, pluginapi.CodeNotFound, "get plugin nope"); client.RequestIDOf(pe) == "" {
		t.Fatalf("error %v carries no request id: %+v", pe, pe.Detail)
	}

	// A request id of ours comes back in the error.
	_, err = e.c.Connections.Get(ctx, "missing", client.RequestID("req-from-the-test-1"))
	wantCode(t, err, pluginapi.CodeNotFound, "get connection missing")
	if client.RequestIDOf(err) != "req-from-the-test-1" {
		t.Fatalf("request id %q, want ours", client.RequestIDOf(err))
	}

	cn := must[ops.Connection](t)(e.c.Connections.Create(ctx, ops.ConnectionInput{Name: "c1", Plugin: "fake", Config: e.platConf,
		Labels: map[string]string{"team": "a"}}))
	if cn.Version != 1 || cn.Labels["team"] != "a" {
		t.Fatalf("created %+v", cn)
	}
	_, err = e.c.Connections.Create(ctx, ops.ConnectionInput{Name: "c1", Plugin: "fake", Config: e.platConf})
	wantCode(t, err, pluginapi.CodeConflict, "create c1 twice")

	var raw []byte
	got := must[ops.Connection](t)(e.c.Connections.Get(ctx, "c1", client.RawJSON(&raw)))
	if bytes.Contains(raw, []byte(opstest.PlatformToken)) || !bytes.Contains(raw, []byte(`"token":"********"`)) || got.Name != "c1" {
		t.Fatalf("get c1: %+v\n%s", got, raw)
	}
	if ls := must[[]ops.Connection](t)(e.c.Connections.List(ctx)); len(ls) != 1 || ls[0].Name != "c1" {
		t.Fatalf("list = %+v", ls)
	}

	if p := must[ops.Connection](t)(e.c.Connections.Patch(ctx, "c1", json.RawMessage(`{"region":"eu"}`), client.IfMatch("1"))); p.Version != 2 {
		t.Fatalf("patched to version %d", p.Version)
	}
	_, err = e.c.Connections.Patch(ctx, "c1", json.RawMessage(`{"region":"us"}`), client.IfMatch("1"))
	wantCode(t, err, pluginapi.CodeConflict, "patch on a stale version")
	_, err = e.c.Connections.Update(ctx, "c1", ops.ConnectionInput{Config: e.platConf, Version: 1})
	wantCode(t, err, pluginapi.CodeConflict, "update on a stale version")
	if u := must[ops.Connection](t)(e.c.Connections.Update(ctx, "c1", ops.ConnectionInput{Config: e.platConf, Version: 2})); u.Version != 3 {
		t.Fatalf("updated to version %d", u.Version)
	}
	if r := must[ops.TestResult](t)(e.c.Connections.Test(ctx, "c1")); !r.OK {
		t.Fatalf("test: %+v", r)
	}
	must[ops.Connection](t)(e.c.Connections.Patch(ctx, "c1", json.RawMessage(`{"token":"wrong"}`)))
	if r := must[ops.TestResult](t)(e.c.Connections.Test(ctx, "c1")); r.OK || r.Error == nil || r.Error.Code != pluginapi.CodeUnauthorized {
		t.Fatalf("test with a wrong token: %+v", r)
	}
	// The fake plugin offers no choices: the host's refusal comes through.
	_, err = e.c.Connections.Choices(ctx, "c1", "/image", ops.ChoicesOptions{Limit: 3})
	if pluginapi.CodeOf(err) == "" || client.RequestIDOf(err) == "" {
		t.Fatalf("choices of the fake plugin: %v", err)
	}

	if err := e.c.Connections.Delete(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.Connections.Get(ctx, "c1")
	wantCode(t, err, pluginapi.CodeNotFound, "get after delete")
}

func TestHostServices(t *testing.T) {
	e := newEnv(t, false)
	e.connect(t)
	ctx := context.Background()
	svc := func(r *ops.ServiceResult, err error) *pluginapi.Service {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if r.Service == nil {
			t.Fatal("no service in the answer")
		}
		return r.Service
	}

	s := svc(e.c.Services.Create(ctx, "c1", json.RawMessage(`{"name":"web","image":"nginx:1","replicas":2}`)))
	if s.ID != "svc-1" || s.Name != "web" {
		t.Fatalf("created %+v", s)
	}
	_, err := e.c.Services.Create(ctx, "c1", json.RawMessage(`{"name":"web"}`))
	if pe := wantCode(t, err, pluginapi.CodeInvalid, "create without an image"); pe.Field == "" && !strings.Contains(pe.Message, "image") {
		t.Fatalf("invalid spec error names nothing: %+v", pe)
	}
	svc(e.c.Services.Create(ctx, "c1", json.RawMessage(`{"name":"api","image":"nginx:1"}`)))

	got := must[*pluginapi.Service](t)(e.c.Services.Get(ctx, "c1", "svc-1"))
	if got.Version == "" || got.Image != "nginx:1" {
		t.Fatalf("get = %+v", got)
	}
	var raw []byte
	must[*pluginapi.Service](t)(e.c.Services.GetWith(ctx, "c1", "svc-1", ops.GetOptions{InsertDefaults: true}, client.RawJSON(&raw)))
	if !bytes.Contains(raw, []byte(`"PATH":"/usr/bin"`)) {
		t.Fatalf("get with defaults:\n%s", raw)
	}

	page := must[*ops.ServicePage](t)(e.c.Services.List(ctx, "c1", ops.ListOptions{Filters: map[string][]string{"name": {"web"}}}))
	if len(page.Services) != 1 || page.Services[0].ID != "svc-1" {
		t.Fatalf("list name=web: %+v", page.Services)
	}
	_, err = e.c.Services.List(ctx, "c1", ops.ListOptions{Filters: map[string][]string{"colour": {"red"}}})
	wantCode(t, err, pluginapi.CodeInvalid, "list with a filter the plugin does not declare")
	all := must[*ops.AllServicesPage](t)(e.c.Services.ListAll(ctx, ops.ListAllOptions{Name: "ap", Connections: []string{"c1"}}))
	if len(all.Services) != 1 || all.Services[0].Name != "api" || all.Services[0].Connection != "c1" {
		t.Fatalf("list all name=ap: %+v", all)
	}
	if p := must[*ops.AllServicesPage](t)(e.c.Services.ListAll(ctx, ops.ListAllOptions{PageSize: 1})); p.Total != 2 || p.NextPageToken == "" {
		t.Fatalf("list all, page of 1: %+v", p)
	}

	up := svc(e.c.Services.Update(ctx, "c1", "svc-1", json.RawMessage(`{"name":"web","image":"nginx:2","replicas":2}`), client.IfMatch(got.Version)))
	if up.Image != "nginx:2" {
		t.Fatalf("updated %+v", up)
	}
	_, err = e.c.Services.Update(ctx, "c1", "svc-1", json.RawMessage(`{"name":"web","image":"nginx:3"}`), client.IfMatch(got.Version))
	wantCode(t, err, pluginapi.CodeConflict, "update on a stale version")
	if p := svc(e.c.Services.Patch(ctx, "c1", "svc-1", json.RawMessage(`{"replicas":4}`))); p.Desired == nil || *p.Desired != 4 {
		t.Fatalf("patched %+v", p)
	}
	_, err = e.c.Services.Patch(ctx, "c1", "svc-1", json.RawMessage(`{"replicas":5}`), client.IfMatch(got.Version))
	wantCode(t, err, pluginapi.CodeConflict, "patch on a stale version")

	if a := svc(e.c.Services.RunAction(ctx, "c1", "svc-1", "scale", json.RawMessage(`{"replicas":3}`))); a.Desired == nil || *a.Desired != 3 {
		t.Fatalf("scaled %+v", a)
	}
	if a := svc(e.c.Services.RunAction(ctx, "c1", "svc-1", "stop", nil)); a.Status != pluginapi.StatusStopped {
		t.Fatalf("stopped %+v", a)
	}
	svc(e.c.Services.RunAction(ctx, "c1", "svc-1", "start", nil))
	_, err = e.c.Services.RunAction(ctx, "c1", "svc-1", "explode", nil)
	wantCode(t, err, pluginapi.CodeNotFound, "an unknown action")

	inv := must[*ops.InvokeResult](t)(e.c.Services.Invoke(ctx, "c1", "svc-1", ops.InvokeInput{Path: "/hi", Body: []byte("hello")}))
	if inv.Status != 200 || !bytes.Contains(inv.Body, []byte("hello")) {
		t.Fatalf("invoke: %+v %s", inv, inv.Body)
	}

	// Instances and deployments.
	is := must[[]pluginapi.Instance](t)(e.c.Instances.List(ctx, "c1", "svc-1"))
	if len(is) != 3 {
		t.Fatalf("instances = %+v", is)
	}
	if one := must[*pluginapi.Instance](t)(e.c.Instances.Get(ctx, "c1", "svc-1", is[0].ID)); one.ID != is[0].ID {
		t.Fatalf("instance %s = %+v", is[0].ID, one)
	}
	if none := must[[]pluginapi.Instance](t)(e.c.Instances.ListWith(ctx, "c1", "svc-1",
		ops.InstancesOptions{Filters: map[string][]string{"desired_state": {"STOPPED"}}})); len(none) != 0 {
		t.Fatalf("stopped instances = %+v", none)
	}
	_, err = e.c.Instances.ListWith(ctx, "c1", "svc-1", ops.InstancesOptions{Filters: map[string][]string{"node": {"n1"}}})
	wantCode(t, err, pluginapi.CodeInvalid, "an instance filter the plugin does not declare")
	ip := must[*ops.InstancePage](t)(e.c.Instances.ListConnection(ctx, "c1", ops.ConnectionInstancesOptions{Services: []string{"svc-2"}}))
	if len(ip.Instances) != 1 || ip.Instances[0].ServiceID != "svc-2" {
		t.Fatalf("instances of svc-2 = %+v", ip.Instances)
	}
	if p := must[*ops.InstancePage](t)(e.c.Instances.ListConnection(ctx, "c1", ops.ConnectionInstancesOptions{PageSize: 1})); len(p.Instances) != 1 || p.NextPageToken == "" {
		t.Fatalf("a page of 1 instance: %+v", p)
	}
	dp := must[*ops.DeploymentPage](t)(e.c.Deployments.List(ctx, "c1", "svc-1", ops.DeploymentsOptions{}))
	if len(dp.Deployments) < 2 {
		t.Fatalf("deployments = %+v", dp.Deployments)
	}
	if d := must[*pluginapi.Deployment](t)(e.c.Deployments.Get(ctx, "c1", "svc-1", dp.Deployments[0].ID)); d.ID != dp.Deployments[0].ID {
		t.Fatalf("deployment %s = %+v", dp.Deployments[0].ID, d)
	}
	tl := must[*ops.Timeline](t)(e.c.Services.Timeline(ctx, "c1", "svc-1", ops.TimelineOptions{Limit: 3}))
	if len(tl.Items) == 0 || len(tl.Items) > 3 || tl.Items[0].Title == "" {
		t.Fatalf("timeline = %+v", tl)
	}

	// Logs: a batch, then a followed stream.
	e.plat.AddLogs("svc-1", fakeplatform.Line{Stream: "stderr", Message: "boom", Instance: "svc-1.1"})
	lp := must[*ops.LogsPage](t)(e.c.Logs.Get(ctx, "c1", "svc-1", ops.LogsOptions{Tail: 1}))
	if len(lp.Entries) != 1 || lp.Entries[0].Message != "boom" || lp.Entries[0].Stream != "stderr" {
		t.Fatalf("tail 1 = %+v", lp.Entries)
	}
	if lp := must[*ops.LogsPage](t)(e.c.Logs.Get(ctx, "c1", "svc-1", ops.LogsOptions{Stdout: true})); len(lp.Entries) == 0 || lp.Entries[len(lp.Entries)-1].Stream == "stderr" {
		t.Fatalf("stdout only = %+v", lp.Entries)
	}
	_, err = e.c.Logs.Get(ctx, "c1", "svc-1", ops.LogsOptions{Before: "x"})
	wantCode(t, err, pluginapi.CodeInvalid, "paging back a plugin that cannot")

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := e.c.Logs.Stream(sctx, "c1", "svc-1", logfanout.Options{Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	next := func() logfanout.Item {
		t.Helper()
		for st.Next() {
			if it := st.Item(); it.Entry != nil {
				if !json.Valid(st.Raw()) {
					t.Fatalf("raw line %q", st.Raw())
				}
				return it
			}
		}
		t.Fatalf("stream ended: %v", st.Err())
		return logfanout.Item{}
	}
	if it := next(); it.Entry.Message != "boom" {
		t.Fatalf("first followed entry %+v", it.Entry)
	}
	e.plat.AddLogs("svc-1", fakeplatform.Line{Stream: "stdout", Message: "new line"})
	if it := next(); it.Entry.Message != "new line" {
		t.Fatalf("followed entry %+v", it.Entry)
	}
	cancel()
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream cut by its context ended without an error")
	}
	_, err = e.c.Logs.Stream(ctx, "c1", "nope", logfanout.Options{})
	wantCode(t, err, pluginapi.CodeNotFound, "following an unknown service")

	_, err = e.c.Services.Delete(ctx, "c1", "svc-1", false)
	wantCode(t, err, pluginapi.CodeConflict, "delete a running service without force")
	must[*ops.ServiceResult](t)(e.c.Services.Delete(ctx, "c1", "svc-1", true))
	_, err = e.c.Services.Get(ctx, "c1", "svc-1")
	wantCode(t, err, pluginapi.CodeNotFound, "get after delete")
}

func TestHostAudit(t *testing.T) {
	e := newEnv(t, false)
	e.connect(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		must[*ops.ServiceResult](t)(e.c.Services.Create(ctx, "c1", json.RawMessage(`{"name":"`+name+`","image":"nginx"}`)))
	}
	page := must[*client.AuditPage](t)(e.c.Audit.List(ctx, audit.Filter{Operation: "service.create", Limit: 2}))
	if len(page.Entries) != 2 || page.NextBefore == 0 || page.Entries[0].Actor != "root" {
		t.Fatalf("first page = %+v", page)
	}
	rest := must[*client.AuditPage](t)(e.c.Audit.List(ctx, audit.Filter{Operation: "service.create", Limit: 2, BeforeID: page.NextBefore}))
	if len(rest.Entries) != 1 || rest.Entries[0].ID >= page.Entries[1].ID {
		t.Fatalf("second page = %+v", rest)
	}
	if none := must[*client.AuditPage](t)(e.c.Audit.List(ctx, audit.Filter{Since: time.Now().Add(time.Hour)})); len(none.Entries) != 0 {
		t.Fatalf("entries from the future: %+v", none.Entries)
	}
	_, err := e.c.Audit.List(ctx, audit.Filter{Outcome: "maybe"})
	wantCode(t, err, pluginapi.CodeInvalid, "an unknown outcome")

	var csv bytes.Buffer
	if err := e.c.Audit.Export(ctx, audit.Filter{Connection: "c1"}, "csv", &csv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "service.create") || strings.Contains(csv.String(), opstest.PlatformToken) {
		t.Fatalf("csv export:\n%s", csv.String())
	}
	var chain bytes.Buffer
	if err := e.c.Audit.Export(ctx, audit.Filter{}, "chain", &chain); err != nil || chain.Len() == 0 {
		t.Fatalf("chain export: %v, %d bytes", err, chain.Len())
	}
	var refused bytes.Buffer
	err = e.c.Audit.Export(ctx, audit.Filter{Actor: "root"}, "chain", &refused)
	wantCode(t, err, pluginapi.CodeInvalid, "a filtered chain export")
	if refused.Len() != 0 {
		t.Fatalf("a refused export wrote %q", refused.String())
	}
	// An error of the writer is the writer's.
	errFull := errors.New("disk full")
	if err := e.c.Audit.Export(ctx, audit.Filter{}, "jsonl", failWriter{errFull}); !errors.Is(err, errFull) {
		t.Fatalf("export to a failing writer: %v", err)
	}
	if rep := must[audit.VerifyReport](t)(e.c.Audit.Verify(ctx)); !rep.OK || rep.Rows == 0 || rep.PublicKey == "" {
		t.Fatalf("verify = %+v", rep)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// In open mode WithActor names the actor the audit log records.
func TestHostOpenModeActor(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	c := e.client(t, "", client.WithActor("alice"))
	if _, err := c.Connections.Create(ctx, ops.ConnectionInput{Name: "c1", Plugin: "fake", Config: e.platConf}); err != nil {
		t.Fatal(err)
	}
	page := must[*client.AuditPage](t)(c.Audit.List(ctx, audit.Filter{Operation: "connection.create"}))
	if len(page.Entries) != 1 || page.Entries[0].Actor != "alice" {
		t.Fatalf("audit of an open-mode create = %+v", page.Entries)
	}
	if me := must[auth.Me](t)(c.Me(ctx)); me.Actor != "alice" {
		t.Fatalf("me = %+v", me)
	}
}

func TestHostIdentity(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	if me := must[auth.Me](t)(e.c.Me(ctx)); !me.Owner || me.Auth != "token:root" {
		t.Fatalf("me = %+v", me)
	}

	nt := must[auth.NewToken](t)(e.c.Tokens.Create(ctx, auth.TokenRequest{Name: "nightly", ServiceAccount: true,
		Grants: access.Grants{{Role: access.Viewer, Scope: access.All()}}, ExpiresAt: time.Now().Add(24 * time.Hour)}))
	if nt.Secret == "" || nt.ID == "" {
		t.Fatalf("new token = %+v", nt)
	}
	bot := e.client(t, nt.Secret)
	if me := must[auth.Me](t)(bot.Me(ctx)); me.TokenID != nt.ID || me.Owner {
		t.Fatalf("the token's me = %+v", me)
	}
	_, err := bot.Users.List(ctx)
	wantCode(t, err, pluginapi.CodeForbidden, "a viewer lists users")
	ts := must[[]identity.Token](t)(e.c.Tokens.List(ctx, "service"))
	if len(ts) != 1 || ts[0].ID != nt.ID {
		t.Fatalf("service tokens = %+v", ts)
	}
	rot := must[auth.NewToken](t)(e.c.Tokens.Rotate(ctx, nt.ID))
	if rot.ID != nt.ID || rot.Secret == nt.Secret {
		t.Fatalf("rotated = %+v", rot)
	}
	_, err = bot.Me(ctx)
	wantCode(t, err, pluginapi.CodeUnauthorized, "the old secret after rotation")
	if rv := must[identity.Token](t)(e.c.Tokens.Revoke(ctx, nt.ID)); rv.RevokedAt.IsZero() {
		t.Fatalf("revoked = %+v", rv)
	}
	_, err = e.client(t, rot.Secret).Me(ctx)
	wantCode(t, err, pluginapi.CodeUnauthorized, "a revoked token")

	sel, err := access.ParseSelector("team=payments")
	if err != nil {
		t.Fatal(err)
	}
	b := must[access.Binding](t)(e.c.Bindings.Create(ctx, access.Binding{ID: "ignored", Source: "ignored", Subject: "group:corp/payments",
		Grant: access.Grant{Role: access.Operator, Scope: sel}}))
	if b.ID == "" || b.ID == "ignored" || b.Source != "api" || b.Role != access.Operator {
		t.Fatalf("binding = %+v", b)
	}
	if bs := must[[]access.Binding](t)(e.c.Bindings.List(ctx)); len(bs) != 1 || bs[0].ID != b.ID {
		t.Fatalf("bindings = %+v", bs)
	}

	// A user signs in through SSO (the authenticator's part of it).
	secret, alice, err := e.srv.Auth.SignIn(ctx, oidc.Identity{Provider: "corp", Subject: "sub-alice", Username: "alice",
		Groups: []string{"payments"}}, auth.Client{Addr: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	us := must[[]identity.User](t)(e.c.Users.List(ctx))
	if len(us) != 1 || us[0].ID != alice.UserID {
		t.Fatalf("users = %+v", us)
	}
	ss := must[[]identity.Session](t)(e.c.Sessions.List(ctx, "all"))
	if len(ss) != 1 || ss[0].ID != alice.SessionID {
		t.Fatalf("sessions = %+v", ss)
	}
	if err := e.c.Sessions.End(ctx, alice.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Auth.Session(ctx, secret, auth.Client{Addr: "192.0.2.7"}); pluginapi.CodeOf(err) != pluginapi.CodeUnauthorized {
		t.Fatalf("an ended session still works: %v", err)
	}
	wantCode(t, e.c.Sessions.End(ctx, alice.SessionID), pluginapi.CodeNotFound, "end an ended session")

	if u := must[identity.User](t)(e.c.Users.Disable(ctx, alice.UserID)); !u.Disabled {
		t.Fatalf("disabled = %+v", u)
	}
	alicesID := oidc.Identity{Provider: "corp", Subject: "sub-alice", Username: "alice"}
	if _, _, err := e.srv.Auth.SignIn(ctx, alicesID, auth.Client{}); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("a disabled user signed in: %v", err)
	}
	if u := must[identity.User](t)(e.c.Users.Enable(ctx, alice.UserID)); u.Disabled {
		t.Fatalf("enabled = %+v", u)
	}
	if _, _, err := e.srv.Auth.SignIn(ctx, alicesID, auth.Client{}); err != nil {
		t.Fatalf("sign in after enable: %v", err)
	}

	if d := must[access.Binding](t)(e.c.Bindings.Delete(ctx, b.ID)); d.ID != b.ID {
		t.Fatalf("deleted = %+v", d)
	}
	_, err = e.c.Bindings.Delete(ctx, b.ID)
	wantCode(t, err, pluginapi.CodeNotFound, "delete a deleted binding")
}

// A host mounted under a path prefix is reached with the prefix in the
// base URL.
func TestHostUnderPathPrefix(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), PathPrefix: "/wharf",
		Faces: []server.Face{api.Face(api.Options{})}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	for _, base := range []string{hs.URL + "/wharf", hs.URL + "/wharf/"} {
		c, err := client.New(base)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := c.Health(context.Background()); err != nil || h.Status != "ok" {
			t.Fatalf("health under %s: %+v %v", base, h, err)
		}
	}
	c, _ := client.New(hs.URL)
	if _, err := c.Health(context.Background()); pluginapi.CodeOf(err) != pluginapi.CodeNotFound {
		t.Fatalf("health without the prefix: %v", err)
	}
}

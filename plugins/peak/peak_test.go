package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	peakemu "github.com/wharfhq/wharf/emulators/peak"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginkit"
)

// clock is a settable clock for the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	clock  *clock
	emu    *peakemu.Server
	url    string
	config map[string]any
	doer   *pluginkit.Doer
	ctx    context.Context
	p      provider
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	emu := peakemu.New(peakemu.Options{Now: c.Now, Creating: time.Second, Deploying: 2 * time.Second, Deleting: time.Second})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	e := &env{t: t, clock: c, emu: emu, url: srv.URL, config: emu.DemoConfig(srv.URL)}
	e.doer = pluginkit.NewDoer(e.config, []string{"endpoint"}, []string{"api_key"})
	e.ctx = plugin.WithDoer(context.Background(), e.doer)
	return e
}

func (e *env) req() pluginapi.Request {
	return pluginapi.Request{Connection: "peak", Config: pluginkit.StripSecrets(e.t, e.config, []string{"api_key"})}
}

func call[Resp any](e *env, op string, req any) (*Resp, *pluginapi.Error) {
	e.t.Helper()
	return pluginkit.Call[Resp](e.t, e.ctx, e.p, op, req)
}

func (e *env) create(spec string) *pluginapi.Service {
	e.t.Helper()
	r, err := call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(spec)})
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	return r.Service
}

func (e *env) get(id string) (*pluginapi.Service, *pluginapi.Error) {
	e.t.Helper()
	r, err := call[pluginapi.ServiceResponse](e, "get", pluginapi.GetRequest{Request: e.req(), ID: id})
	if err != nil {
		return nil, err
	}
	return r.Service, nil
}

func (e *env) mustGet(id string) *pluginapi.Service {
	e.t.Helper()
	s, err := e.get(id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return s
}

func (e *env) update(id, spec, version string) (*pluginapi.Service, *pluginapi.Error) {
	e.t.Helper()
	r, err := call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: id, Spec: json.RawMessage(spec), Version: version})
	if err != nil {
		return nil, err
	}
	return r.Service, nil
}

func wantCode(t *testing.T, err *pluginapi.Error, code pluginapi.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if err.Code != code || err.Field != field {
		t.Fatalf("error %+v, want code %s field %q", err, code, field)
	}
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t)
	sv := e.create(`{"name":"churn","title":"Churn","imageId":12,"versionId":3,"instanceTypeId":21,"env":{"A":"1"},"secrets":["db"],"healthCheckURL":"/health"}`)
	if sv.Status != pluginapi.StatusPending || sv.NativeStatus != "CREATING" || sv.Name != "churn" {
		t.Fatalf("after create: %s %s %s", sv.Name, sv.Status, sv.NativeStatus)
	}
	e.clock.Add(time.Second)
	if s := e.mustGet(sv.ID); s.Status != pluginapi.StatusDeploying {
		t.Fatalf("after 1s: %s", s.Status)
	}
	e.clock.Add(2 * time.Second)
	s := e.mustGet(sv.ID)
	if s.Status != pluginapi.StatusRunning || s.NativeStatus != "AVAILABLE" {
		t.Fatalf("settled: %s", s.Status)
	}
	var spec map[string]any
	_ = json.Unmarshal(s.Spec, &spec)
	if s.Image != "image ID 12, version ID 3" {
		t.Fatalf("image shown as %q", s.Image)
	}
	if spec["imageId"] != 12.0 || spec["versionId"] != 3.0 || spec["env"].(map[string]any)["A"] != "1" || spec["healthCheckURL"] != "/health" {
		t.Fatalf("spec not kept: %s", s.Spec)
	}

	// A title change does not redeploy.
	e.clock.Add(time.Second)
	u, err := e.update(sv.ID, `{"name":"churn","title":"Churn v2","imageId":12,"versionId":3,"instanceTypeId":21,"env":{"A":"1"},"secrets":["db"],"healthCheckURL":"/health"}`, s.Version)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != pluginapi.StatusRunning || u.Labels["title"] != "Churn v2" {
		t.Fatalf("title change: %s %v", u.Status, u.Labels)
	}
	// A stale version is a conflict.
	_, err = e.update(sv.ID, `{"name":"churn","imageId":13}`, s.Version)
	wantCode(t, err, pluginapi.CodeConflict, "")

	// Each field of the redeploy list sends the service back to DEPLOYING.
	for i, change := range []string{
		`"imageId":13`, `"imageId":13,"versionId":4`, `"imageId":13,"versionId":4,"instanceTypeId":22`,
		`"imageId":13,"versionId":4,"instanceTypeId":22,"env":{"A":"2"}`,
		`"imageId":13,"versionId":4,"instanceTypeId":22,"env":{"A":"2"},"healthCheckURL":"/ready"`,
		`"imageId":13,"versionId":4,"instanceTypeId":22,"env":{"A":"2"},"healthCheckURL":"/ready","entrypoint":"serve"`,
		`"imageId":13,"versionId":4,"instanceTypeId":22,"env":{"A":"2"},"healthCheckURL":"/ready","entrypoint":"serve","sessionStickiness":true`,
	} {
		e.clock.Add(time.Second)
		u, err := e.update(sv.ID, `{"name":"churn","title":"Churn v2",`+change+`}`, "")
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		if u.Status != pluginapi.StatusUpdating || u.NativeStatus != "DEPLOYING" {
			t.Fatalf("change %d (%s): status %s", i, change, u.Status)
		}
		e.clock.Add(2 * time.Second)
		if s := e.mustGet(sv.ID); s.Status != pluginapi.StatusRunning {
			t.Fatalf("change %d did not settle: %s", i, s.Status)
		}
	}
	// description alone does not redeploy either.
	u, err = e.update(sv.ID, `{"name":"churn","title":"Churn v2","description":"d","imageId":13,"versionId":4,"instanceTypeId":22,"env":{"A":"2"},"healthCheckURL":"/ready","entrypoint":"serve","sessionStickiness":true}`, "")
	if err != nil || u.Status != pluginapi.StatusRunning {
		t.Fatalf("description change: %v %v", err, u)
	}

	// Immutable fields.
	_, err = e.update(sv.ID, `{"name":"other","imageId":13}`, "")
	wantCode(t, err, pluginapi.CodeInvalid, "/name")
	_, err = e.update(sv.ID, `{"name":"churn","serviceType":"shiny","imageId":13}`, "")
	wantCode(t, err, pluginapi.CodeInvalid, "/serviceType")

	// Delete, then a second delete while DELETING is a conflict, then gone.
	d, err := call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID})
	if err != nil || d.Service.Status != pluginapi.StatusDeleting {
		t.Fatalf("delete: %v %+v", err, d)
	}
	if s := e.mustGet(sv.ID); s.NativeStatus != "DELETING" {
		t.Fatalf("while deleting: %s", s.NativeStatus)
	}
	_, err = call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID})
	wantCode(t, err, pluginapi.CodeConflict, "")
	e.clock.Add(time.Second)
	_, err = e.get(sv.ID)
	wantCode(t, err, pluginapi.CodeNotFound, "")
	_, err = call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestDeleteWhileCreatingIsConflict(t *testing.T) {
	e := newEnv(t)
	sv := e.create(`{"name":"young","imageId":1}`)
	_, err := call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID})
	wantCode(t, err, pluginapi.CodeConflict, "")
}

func TestCreateConflictAndUpsert(t *testing.T) {
	e := newEnv(t)
	// Others whose names contain the searched name must not be taken for it.
	e.create(`{"name":"model-api-2","imageId":1}`)
	first := e.create(`{"name":"model-api","imageId":1,"title":"one"}`)
	_, err := call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(`{"name":"model-api","imageId":1}`)})
	wantCode(t, err, pluginapi.CodeConflict, "")

	e.clock.Add(3 * time.Second)
	e.doer.Reset()
	up := e.create(`{"name":"model-api","imageId":1,"title":"two","upsert":true}`)
	if up.ID != first.ID || up.Labels["title"] != "two" || up.Status != pluginapi.StatusRunning {
		t.Fatalf("upsert of a title: %+v", up)
	}
	sent := e.doer.Sent()
	if sent[0].Method != "GET" || sent[0].Query["searchTerm"][0] != "model-api" || sent[0].Query["pageSize"][0] != "100" {
		t.Fatalf("upsert must search by name 100 a page first: %+v", sent[0])
	}
	up = e.create(`{"name":"model-api","imageId":2,"title":"two","upsert":true}`)
	if up.ID != first.ID || up.Status != pluginapi.StatusUpdating {
		t.Fatalf("upsert of an image: %s %s", up.ID, up.Status)
	}
	fresh := e.create(`{"name":"brand-new","imageId":2,"upsert":true}`)
	if fresh.ID == first.ID || fresh.Status != pluginapi.StatusPending {
		t.Fatalf("upsert of a new name: %+v", fresh)
	}
}

func TestInvalidSpecs(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ spec, field string }{
		{`{"imageId":1}`, "/name"},
		{`{"name":"Bad_Name","imageId":1}`, "/name"},
		{`{"name":"ok"}`, "/imageId"},
		{`{"name":"ok","imageId":"x"}`, "/imageId"},
		{`{"name":"ok","imageId":1,"serviceType":"batch"}`, "/serviceType"},
		{`{"name":"ok","imageId":1,"minInstances":11}`, "/minInstances"},
	} {
		_, err := call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(tc.spec)})
		wantCode(t, err, pluginapi.CodeInvalid, tc.field)
	}
	_, err := e.get("00000000-0000-4000-8000-000000000000")
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestListPagingAndFilters(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 8 {
		typ := []string{"api", "web-app", "shiny"}[i%3]
		sv := e.create(fmt.Sprintf(`{"name":"svc-%d","serviceType":%q,"imageId":1}`, i, typ))
		want = append(want, sv.ID)
		e.clock.Add(time.Millisecond)
	}
	e.clock.Add(3 * time.Second)
	late := e.create(`{"name":"late","imageId":1}`) // still CREATING
	want = append(want, late.ID)

	list := func(filters map[string][]string, size int) ([]pluginapi.Service, int) {
		t.Helper()
		var all []pluginapi.Service
		token, pages := "", 0
		for {
			r, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: filters, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, r.Services...)
			if token = r.NextPageToken; token == "" {
				return all, pages
			}
		}
	}
	ids := func(ss []pluginapi.Service) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	all, pages := list(nil, 2)
	slices.Sort(want)
	if !slices.Equal(ids(all), want) || pages != 5 {
		t.Fatalf("paging: %d pages, ids %v, want %v", pages, ids(all), want)
	}
	if ss, _ := list(map[string][]string{"serviceType": {"web-app", "shiny"}}, 2); len(ss) != 5 {
		t.Fatalf("serviceType filter: %d", len(ss))
	}
	if ss, _ := list(map[string][]string{"name": {"svc-"}}, 3); len(ss) != 8 {
		t.Fatalf("name filter: %d", len(ss))
	}
	if ss, _ := list(map[string][]string{"status": {"pending"}}, 3); len(ss) != 1 || ss[0].ID != late.ID {
		t.Fatalf("status pending: %+v", ss)
	}
	if ss, _ := list(map[string][]string{"status": {"running", "CREATING"}}, 4); len(ss) != 9 {
		t.Fatalf("status running or CREATING: %d", len(ss))
	}
	if ss, _ := list(map[string][]string{"status": {"stopped"}}, 4); len(ss) != 0 {
		t.Fatalf("status stopped: %d", len(ss))
	}
	for _, f := range []map[string][]string{{"label": {"x"}}, {"name": {"a", "b"}}, {"status": {"sleepy"}}, {"serviceType": {"batch"}}} {
		_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: f})
		if err == nil || err.Code != pluginapi.CodeInvalid {
			t.Fatalf("filter %v: %v", f, err)
		}
	}
	// The wire: featureType=services, repeated status and serviceType.
	e.doer.Reset()
	list(map[string][]string{"status": {"failed"}, "serviceType": {"api", "shiny"}}, 0)
	q := e.doer.Sent()[0].Query
	if q["featureType"][0] != "services" || !slices.Equal(q["status"], []string{"CREATE_FAILED", "DELETE_FAILED"}) ||
		!slices.Equal(q["serviceType"], []string{"api", "shiny"}) || q["pageNumber"][0] != "1" {
		t.Fatalf("list query: %v", q)
	}
}

func TestInvoke(t *testing.T) {
	e := newEnv(t)
	sv := e.create(`{"name":"scorer","imageId":1}`)
	invoke := func(r pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, *pluginapi.Error) {
		r.Request, r.ID = e.req(), sv.ID
		return call[pluginapi.InvokeResponse](e, "invoke", r)
	}
	_, err := invoke(pluginapi.InvokeRequest{Method: "POST"})
	wantCode(t, err, pluginapi.CodeInvalid, "") // 422: not AVAILABLE yet
	e.clock.Add(3 * time.Second)

	e.doer.Reset()
	r, err := invoke(pluginapi.InvokeRequest{Method: "POST", Path: "/predict", Body: []byte(`{"x":[1,2]}`)})
	if err != nil {
		t.Fatal(err)
	}
	var echo map[string]any
	if json.Unmarshal(r.Body, &echo) != nil || echo["service"] != "scorer" || echo["path"] != "/predict" || echo["method"] != "POST" ||
		fmt.Sprint(echo["payload"]) != "map[x:[1 2]]" || r.Status != 200 || r.DurationMS != 12 || r.ContentType != "application/json" {
		t.Fatalf("invoke answer: %+v %s", r, r.Body)
	}
	last := e.doer.Sent()[len(e.doer.Sent())-1]
	var body map[string]any
	_ = json.Unmarshal(last.Body, &body)
	if last.Path != "/webapps/api/v1/webapps/scorer/test" || body["httpMethod"] != "post" || body["path"] != "/predict" {
		t.Fatalf("test request: %s %s", last.Path, last.Body)
	}
	if r, err := invoke(pluginapi.InvokeRequest{Path: "/status/503"}); err != nil || r.Status != 503 {
		t.Fatalf("service answering 503: %v %+v", err, r)
	}
	_, err = invoke(pluginapi.InvokeRequest{Method: "OPTIONS"})
	wantCode(t, err, pluginapi.CodeInvalid, "/method")
	_, err = invoke(pluginapi.InvokeRequest{Method: "POST", Body: []byte("not json")})
	wantCode(t, err, pluginapi.CodeInvalid, "/body")

	web := e.create(`{"name":"site","serviceType":"web-app","imageId":1}`)
	e.clock.Add(3 * time.Second)
	_, err = call[pluginapi.InvokeResponse](e, "invoke", pluginapi.InvokeRequest{Request: e.req(), ID: web.ID})
	wantCode(t, err, pluginapi.CodeInvalid, "")
	_, err = call[pluginapi.InvokeResponse](e, "invoke", pluginapi.InvokeRequest{Request: e.req(), ID: "nope"})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestUnsupported(t *testing.T) {
	e := newEnv(t)
	d := provider{}.Describe()
	if d.Supports("logs") || d.Supports("lifecycle") || len(d.Actions) != 0 || !d.Supports("invoke") {
		t.Fatalf("operations %v actions %v", d.Operations, d.Actions)
	}
	_, err := call[pluginapi.LogsResponse](e, "logs", pluginapi.LogsRequest{Request: e.req(), ID: "x"})
	wantCode(t, err, pluginapi.CodeUnsupported, "")
	_, err = call[pluginapi.ServiceResponse](e, "lifecycle", pluginapi.LifecycleRequest{Request: e.req(), ID: "x", Action: "stop"})
	wantCode(t, err, pluginapi.CodeUnsupported, "")
	_, err = call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "x"})
	wantCode(t, err, pluginapi.CodeUnsupported, "")
}

func TestWrongCredentials(t *testing.T) {
	e := newEnv(t)
	e.doer.Secrets["api_key"] = "wrong"
	_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req()})
	wantCode(t, err, pluginapi.CodeUnauthorized, "")
	if err.Message != "Invalid or expired API key" {
		t.Fatalf("message: %q", err.Message)
	}
}

func TestStatusNormalization(t *testing.T) {
	for _, tc := range []struct {
		native  string
		updated bool
		want    pluginapi.Status
	}{
		{"CREATING", false, pluginapi.StatusPending}, {"DEPLOYING", false, pluginapi.StatusDeploying},
		{"DEPLOYING", true, pluginapi.StatusUpdating}, {"AVAILABLE", true, pluginapi.StatusRunning},
		{"DELETING", false, pluginapi.StatusDeleting}, {"CREATE_FAILED", false, pluginapi.StatusFailed},
		{"DELETE_FAILED", true, pluginapi.StatusFailed}, {"SOMETHING_NEW", false, pluginapi.StatusUnknown},
	} {
		if got := normalize(tc.native, tc.updated); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.native, got, tc.want)
		}
	}
}

// TestWasm builds the plugin, checks its describe and conformance data and
// runs operations through the wasm exports against the emulator.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm")
	}
	w := pluginkit.BuildAndLoad(t, "./plugins/peak")
	d := w.Describe(t)
	if d.Name != "peak" || !slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-secret"), []string{"api_key"}) ||
		!slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-endpoint"), []string{"endpoint"}) {
		t.Fatalf("describe: %+v", d)
	}
	conf := pluginkit.LoadConformance(t, d.SpecSchema)

	e := newEnv(t)
	out := w.Call(t, e.doer, "create", pluginapi.CreateRequest{Request: e.req(), Spec: conf.CreateSpec})
	created, err := pluginkit.Decode[pluginapi.ServiceResponse](t, out)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Second)
	out = w.Call(t, e.doer, "update", pluginapi.UpdateRequest{Request: e.req(), ID: created.Service.ID, Spec: conf.UpdateSpec})
	if _, err := pluginkit.Decode[pluginapi.ServiceResponse](t, out); err != nil {
		t.Fatal(err)
	}
	out = w.Call(t, e.doer, "create", pluginapi.CreateRequest{Request: e.req(), Spec: conf.InvalidSpec})
	if _, err := pluginkit.Decode[pluginapi.ServiceResponse](t, out); err == nil || err.Code != pluginapi.CodeInvalid || err.Field != conf.InvalidField {
		t.Fatalf("invalid spec: %v", err)
	}
	out = w.Call(t, e.doer, "logs", pluginapi.LogsRequest{Request: e.req(), ID: created.Service.ID})
	if _, err := pluginkit.Decode[pluginapi.LogsResponse](t, out); err == nil || err.Code != pluginapi.CodeUnsupported {
		t.Fatalf("logs: %v", err)
	}
	for k, v := range conf.BadCredentials {
		e.doer.Secrets[k] = fmt.Sprint(v)
	}
	out = w.Call(t, e.doer, "list", pluginapi.ListRequest{Request: e.req()})
	if _, err := pluginkit.Decode[pluginapi.ListResponse](t, out); err == nil || err.Code != pluginapi.CodeUnauthorized {
		t.Fatalf("bad credentials: %v", err)
	}
}

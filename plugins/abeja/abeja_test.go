package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	abejaemu "github.com/wharfhq/wharf/emulators/abeja"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginkit"
)

var (
	secretFields   = []string{"personal_access_token", "token"}
	endpointFields = []string{"endpoint", "invoke_endpoint"}
	wantCode       = pluginkit.WantCode
)

type env struct {
	t      *testing.T
	clock  *pluginkit.Clock
	url    string
	config map[string]any
	doer   *pluginkit.Doer
	ctx    context.Context
}

func newEnv(t *testing.T, pageSize int) *env {
	t.Helper()
	c := pluginkit.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	emu := abejaemu.New(abejaemu.Options{Now: c.Now, InProgress: time.Second, LogInterval: time.Second, LogPageSize: pageSize})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	e := &env{t: t, clock: c, url: srv.URL, config: emu.DemoConfig(srv.URL)}
	e.newDoer()
	return e
}

func (e *env) newDoer() {
	e.doer = pluginkit.NewDoer(e.config, endpointFields, secretFields)
	e.ctx = plugin.WithDoer(context.Background(), e.doer)
}

func (e *env) req() pluginapi.Request {
	return pluginapi.Request{Connection: "abeja", Config: pluginkit.StripSecrets(e.t, e.config, secretFields)}
}

func call[Resp any](e *env, op string, req any) (*Resp, *pluginapi.Error) {
	e.t.Helper()
	return pluginkit.Call[Resp](e.t, e.ctx, provider{}, op, req)
}

func (e *env) svc(op string, req any) *pluginapi.Service {
	e.t.Helper()
	r, err := call[pluginapi.ServiceResponse](e, op, req)
	if err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
	return r.Service
}

func (e *env) create(spec string) *pluginapi.Service {
	e.t.Helper()
	return e.svc("create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(spec)})
}

func (e *env) get(id string) *pluginapi.Service {
	e.t.Helper()
	return e.svc("get", pluginapi.GetRequest{Request: e.req(), ID: id})
}

func (e *env) act(id, action, params string) (*pluginapi.Service, *pluginapi.Error) {
	e.t.Helper()
	r, err := call[pluginapi.ServiceResponse](e, "lifecycle", pluginapi.LifecycleRequest{Request: e.req(), ID: id, Action: action, Params: json.RawMessage(params)})
	if err != nil {
		return nil, err
	}
	return r.Service, nil
}

const base = "/organizations/1111111111111/deployments/9999999999999/services"

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t, 0)
	e.doer.Reset()
	sv := e.create(`{"version_id":"ver-abc3333333333333","models":{"alias":"3333333333333"},"environment":{"EXAMPLE_ENV":"abc"},"instance_number":2,"enable_autoscale":true,"min_instance_number":1,"max_instance_number":4}`)
	if !strings.HasPrefix(sv.ID, "ser-") || sv.NativeStatus != "IN_PROGRESS" || sv.Status != pluginapi.StatusDeploying || *sv.Desired != 2 {
		t.Fatalf("created: %+v", sv)
	}
	post := e.doer.Sent()[0]
	var body map[string]any
	_ = json.Unmarshal(post.Body, &body)
	if post.Path != base || post.Headers["Authorization"] != "Bearer abeja-demo-token" || body["version_id"] != "ver-abc3333333333333" ||
		body["instance_type"] != "cpu-0.25" || body["instance_number"] != 2.0 || body["enable_autoscale"] != true || body["max_instance_number"] != 4.0 {
		t.Fatalf("create request: %s %v %s", post.Path, post.Headers, post.Body)
	}
	e.clock.Add(time.Second)
	sv = e.get(sv.ID)
	if sv.Status != pluginapi.StatusRunning || *sv.Running != 2 || sv.Image != "ver-abc3333333333333 (0.0.1)" || sv.Endpoints != nil {
		t.Fatalf("settled: %+v", sv)
	}
	var spec map[string]any
	_ = json.Unmarshal(sv.Spec, &spec)
	if spec["version_id"] != "ver-abc3333333333333" || spec["instance_type"] != "cpu-0.25" || spec["max_instance_number"] != 4.0 ||
		fmt.Sprint(spec["environment"]) != "map[EXAMPLE_ENV:abc]" || fmt.Sprint(spec["models"]) != "map[alias:3333333333333]" {
		t.Fatalf("spec: %s", sv.Spec)
	}

	// PATCH: instance counts, autoscale and environment.
	e.clock.Add(time.Second)
	up := `{"version_id":"ver-abc3333333333333","models":{"alias":"3333333333333"},"environment":{"EXAMPLE_ENV2":"example2"},"instance_number":4,"enable_autoscale":true,"min_instance_number":2,"max_instance_number":6}`
	e.doer.Reset()
	r, err := call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: sv.ID, Spec: json.RawMessage(up), Version: sv.Version})
	if err != nil {
		t.Fatal(err)
	}
	if r.Service.NativeStatus != "IN_PROGRESS" || *r.Service.Desired != 4 || !strings.Contains(string(r.Service.Raw), "merged_env_vars") {
		t.Fatalf("update: %+v", r.Service)
	}
	patch := e.doer.Sent()[1]
	if patch.Method != "PATCH" || strings.Contains(string(patch.Body), "version_id") || !strings.Contains(string(patch.Body), `"min_instance_number":2`) {
		t.Fatalf("patch: %s %s", patch.Method, patch.Body)
	}
	_, err = call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: sv.ID, Spec: json.RawMessage(up), Version: sv.Version})
	wantCode(t, err, pluginapi.CodeConflict, "")
	for _, tc := range []struct{ from, to, field string }{
		{`"version_id":"ver-abc3333333333333"`, `"version_id":"ver-def"`, "/version_id"},
		{`"version_id":"ver-abc3333333333333"`, `"version_id":"ver-abc3333333333333","instance_type":"gpu-1"`, "/instance_type"},
		{`"alias":"3333333333333"`, `"alias":"4444"`, "/models"},
		{`"max_instance_number":6`, `"max_instance_number":1`, "/max_instance_number"},
		{`"instance_number":4`, `"instance_number":"four"`, "/instance_number"},
	} {
		_, err := call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: sv.ID, Spec: json.RawMessage(strings.Replace(up, tc.from, tc.to, 1))})
		wantCode(t, err, pluginapi.CodeInvalid, tc.field)
	}

	// Stop, stop again (conflict), start, start again (conflict), scale.
	e.clock.Add(time.Second)
	s, err := e.act(sv.ID, "stop", "")
	if err != nil || s.NativeStatus != "IN_PROGRESS" {
		t.Fatalf("stop: %v %+v", err, s)
	}
	e.clock.Add(time.Second)
	if s := e.get(sv.ID); s.Status != pluginapi.StatusStopped || *s.Running != 0 {
		t.Fatalf("stopped: %+v", s)
	}
	_, err = e.act(sv.ID, "stop", "")
	wantCode(t, err, pluginapi.CodeConflict, "")
	if err.Message != "service is not running" {
		t.Fatalf("message: %q", err.Message)
	}
	if _, err := e.act(sv.ID, "start", ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.act(sv.ID, "start", "")
	wantCode(t, err, pluginapi.CodeConflict, "")
	e.clock.Add(time.Second)
	if s, err := e.act(sv.ID, "scale", `{"replicas":3}`); err != nil || *s.Desired != 3 {
		t.Fatalf("scale: %v %+v", err, s)
	}
	_, err = e.act(sv.ID, "scale", `{"replicas":0}`)
	wantCode(t, err, pluginapi.CodeInvalid, "/params/replicas")
	_, err = e.act(sv.ID, "restart", "")
	wantCode(t, err, pluginapi.CodeUnsupported, "")

	// Invalid specs, the platform's own field errors, unknown ids.
	_, err = call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(`{"instance_number":1}`)})
	wantCode(t, err, pluginapi.CodeInvalid, "/version_id")
	_, err = call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(`{"version_id":"ver-ABC!"}`)})
	wantCode(t, err, pluginapi.CodeInvalid, "/version_id") // answered by the platform's error_detail
	_, err = call[pluginapi.ServiceResponse](e, "get", pluginapi.GetRequest{Request: e.req(), ID: "ser-0000000000000000"})
	wantCode(t, err, pluginapi.CodeNotFound, "")

	if d := e.svc("delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID}); d.Status != pluginapi.StatusDeleting {
		t.Fatalf("delete: %+v", d)
	}
	_, err = call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: sv.ID})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestListPagingAndFilters(t *testing.T) {
	e := newEnv(t, 0)
	var want []string
	for i := range 7 {
		want = append(want, e.create(fmt.Sprintf(`{"version_id":"ver-%d"}`, i)).ID)
		e.clock.Add(time.Millisecond)
	}
	e.clock.Add(time.Second)
	e.act(want[2], "stop", "")
	var got []string
	token, pages := "", 0
	for {
		r, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range r.Services {
			got = append(got, s.ID)
		}
		if token = r.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("paging: %v in %d pages, want %v", got, pages, want)
	}
	r, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: map[string][]string{"status": {"deploying"}}})
	if err != nil || len(r.Services) != 1 || r.Services[0].ID != want[2] {
		t.Fatalf("deploying (the stopping one): %v %+v", err, r)
	}
	r, _ = call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: map[string][]string{"status": {"READY"}, "id": {want[0], want[2], want[5]}}})
	if len(r.Services) != 2 || r.Services[0].ID != want[0] || r.Services[1].ID != want[5] {
		t.Fatalf("ready by id: %+v", r.Services)
	}
	_, err = call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: map[string][]string{"name": {"x"}}})
	wantCode(t, err, pluginapi.CodeInvalid, "/filters/name")
}

func TestLogs(t *testing.T) {
	e := newEnv(t, 4) // four events a page, to make paging matter
	sv := e.create(`{"version_id":"ver-1","instance_number":2}`)
	e.clock.Add(time.Second + 5*time.Second) // READY at +1s, then 5 lines per instance
	logs := func(r pluginapi.LogsRequest) *pluginapi.LogsResponse {
		t.Helper()
		r.Request, r.ID = e.req(), sv.ID
		out, err := call[pluginapi.LogsResponse](e, "logs", r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := logs(pluginapi.LogsRequest{})
	if len(first.Entries) != 10 || first.Cursor == "" {
		t.Fatalf("all recent: %d entries", len(first.Entries))
	}
	for i := 1; i < len(first.Entries); i++ {
		if first.Entries[i].Time.Before(*first.Entries[i-1].Time) {
			t.Fatalf("not oldest first: %v", first.Entries)
		}
	}
	if !strings.HasSuffix(first.Entries[0].Message, "line 1") || !strings.HasSuffix(first.Entries[9].Message, "line 5") {
		t.Fatalf("order: %v", first.Entries)
	}
	if tail := logs(pluginapi.LogsRequest{Tail: 3}); len(tail.Entries) != 3 || tail.Entries[2].Message != first.Entries[9].Message {
		t.Fatalf("tail: %+v", tail.Entries)
	}
	since := first.Entries[6].Time
	if s := logs(pluginapi.LogsRequest{Since: since}); len(s.Entries) != 4 || s.Entries[0].Message != first.Entries[6].Message {
		t.Fatalf("since: %+v", s.Entries)
	}
	// Limit stops at a page boundary and says there is more; following loses nothing.
	part := logs(pluginapi.LogsRequest{Limit: 5})
	if !part.More || len(part.Entries) >= 10 {
		t.Fatalf("limited: %d more=%v", len(part.Entries), part.More)
	}
	got := part.Entries
	cursor := part.Cursor
	for range 10 {
		r := logs(pluginapi.LogsRequest{Cursor: cursor})
		got, cursor = append(got, r.Entries...), r.Cursor
		if !r.More {
			break
		}
	}
	if len(got) != 10 || got[9].Message != first.Entries[9].Message {
		t.Fatalf("limited then followed: %d", len(got))
	}
	// Follow: nothing new, then three seconds of new lines.
	if r := logs(pluginapi.LogsRequest{Cursor: first.Cursor}); len(r.Entries) != 0 || r.More || r.Cursor != first.Cursor {
		t.Fatalf("idle: %+v", r)
	}
	e.clock.Add(3 * time.Second)
	var fresh []pluginapi.LogEntry
	cursor = first.Cursor
	for range 10 {
		r := logs(pluginapi.LogsRequest{Cursor: cursor})
		fresh, cursor = append(fresh, r.Entries...), r.Cursor
		if !r.More {
			break
		}
	}
	if len(fresh) != 6 || !strings.HasSuffix(fresh[0].Message, "line 6") || !strings.HasSuffix(fresh[5].Message, "line 8") {
		t.Fatalf("followed: %+v", fresh)
	}
	_, err := call[pluginapi.LogsResponse](e, "logs", pluginapi.LogsRequest{Request: e.req(), ID: "ser-nope"})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestInvoke(t *testing.T) {
	e := newEnv(t, 0)
	sv := e.create(`{"version_id":"ver-1"}`)
	invoke := func(r pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, *pluginapi.Error) {
		t.Helper()
		r.Request = e.req()
		if r.ID == "" {
			r.ID = sv.ID
		}
		return call[pluginapi.InvokeResponse](e, "invoke", r)
	}
	if r, err := invoke(pluginapi.InvokeRequest{Body: []byte(`{"foo":"bar"}`)}); err != nil || r.Status != 503 {
		t.Fatalf("before READY: %v %+v", err, r)
	}
	e.clock.Add(time.Second)
	e.doer.Reset()
	r, err := invoke(pluginapi.InvokeRequest{Body: []byte(`{"foo":"bar","baz":"qux"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var echo map[string]any
	if json.Unmarshal(r.Body, &echo) != nil || r.Status != 200 || echo["service_id"] != sv.ID || fmt.Sprint(echo["json"]) != "map[baz:qux foo:bar]" ||
		!strings.HasPrefix(r.ContentType, "application/json") {
		t.Fatalf("json invoke: %+v %s", r, r.Body)
	}
	sent := e.doer.Sent()[0]
	if sent.Endpoint != "invoke_endpoint" || sent.Path != "/deployments/9999999999999/services/"+sv.ID || sent.Method != "POST" {
		t.Fatalf("invoke request: %+v", sent)
	}
	png := []byte("\x89PNG\r\n\x1a\nfake")
	r, err = invoke(pluginapi.InvokeRequest{Body: png, ContentType: "image/png"})
	if err != nil || json.Unmarshal(r.Body, &echo) != nil || echo["content_type"] != "image/png" || echo["size"] != float64(len(png)) {
		t.Fatalf("raw invoke: %v %s", err, r.Body)
	}
	_, err = invoke(pluginapi.InvokeRequest{Method: "GET"})
	wantCode(t, err, pluginapi.CodeInvalid, "/method")
	_, err = invoke(pluginapi.InvokeRequest{Body: []byte("nope")})
	wantCode(t, err, pluginapi.CodeInvalid, "/body")
	_, err = invoke(pluginapi.InvokeRequest{ID: "ser-0000000000000000"})
	wantCode(t, err, pluginapi.CodeNotFound, "")

	// Without invoke_endpoint the host fills it from the schema's default,
	// the organization's sub-domain, as the test doer does here.
	delete(e.config, "invoke_endpoint")
	e.newDoer()
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(provider{}.Describe().ConfigSchema, &schema); err != nil {
		t.Fatal(err)
	}
	tmpl, _ := schema.Properties["invoke_endpoint"][pluginapi.KeyEndpointDefault].(string)
	def, xerr := egress.ExpandEndpoint(tmpl, e.config)
	if xerr != nil || def != "https://1111111111111.api.abeja.io" {
		t.Fatalf("invoke_endpoint default %q expands to %q, %v", tmpl, def, xerr)
	}
	e.doer.Native.Endpoints["invoke_endpoint"] = def
	e.doer.Native.Client = subdomainClient(t, e.url)
	r, err = invoke(pluginapi.InvokeRequest{Body: []byte(`{"a":1}`)})
	if err != nil || r.Status != 200 {
		t.Fatalf("sub-domain invoke: %v %+v", err, r)
	}
	if s := e.doer.Sent()[0]; s.Endpoint != "invoke_endpoint" || s.URL != "" || s.Path != "/deployments/9999999999999/services/"+sv.ID {
		t.Fatalf("sub-domain request: %+v", s)
	}
	if s := e.get(sv.ID); s.Endpoints[0].URL != "https://1111111111111.api.abeja.io/deployments/9999999999999/services/"+sv.ID {
		t.Fatalf("endpoint: %+v", s.Endpoints)
	}
}

// subdomainClient sends every request to the emulator at baseURL over
// plain HTTP, keeping the original Host header, as wildcard DNS would.
func subdomainClient(t *testing.T, baseURL string) *http.Client {
	target, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.Host = r.URL.Host
		r2.URL.Scheme, r2.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(r2)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAuth(t *testing.T) {
	e := newEnv(t, 0)
	// Personal access token: Basic user-<id>:<token>.
	e.config["auth_method"] = "personal_access_token"
	e.newDoer()
	if _, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req()}); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("user-1234567890123:abeja-demo-pat"))
	if got := e.doer.Sent()[0].Headers["Authorization"]; got != want {
		t.Fatalf("basic header %q", got)
	}
	for _, tc := range []struct{ method, field, value string }{
		{"personal_access_token", "personal_access_token", "wrong"},
		{"personal_access_token", "user_id", "42"},
		{"token", "token", "wrong"},
	} {
		e.config["auth_method"], e.config[tc.field] = tc.method, tc.value
		e.newDoer()
		_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req()})
		wantCode(t, err, pluginapi.CodeUnauthorized, "")
		if !strings.Contains(err.Message, "Authentication failed") {
			t.Fatalf("message: %q", err.Message)
		}
		e.config = abejaemu.New(abejaemu.Options{}).DemoConfig(e.url)
	}
	e.config["auth_method"] = "password"
	_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req()})
	wantCode(t, err, pluginapi.CodeInvalid, "/config/auth_method")
}

func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm")
	}
	w := pluginkit.BuildAndLoad(t, "./plugins/abeja")
	d := w.Describe(t)
	if d.Name != "abeja" || !slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-secret"), secretFields) ||
		!slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-endpoint"), endpointFields) || !d.Supports("invoke") {
		t.Fatalf("describe: %+v", d)
	}
	conf := pluginkit.LoadConformance(t, d.SpecSchema)
	e := newEnv(t, 0)
	created, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, e.doer, "create", pluginapi.CreateRequest{Request: e.req(), Spec: conf.CreateSpec}))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	if _, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, e.doer, "update", pluginapi.UpdateRequest{Request: e.req(), ID: created.Service.ID, Spec: conf.UpdateSpec})); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Second)
	inv, err := pluginkit.Decode[pluginapi.InvokeResponse](t, w.Call(t, e.doer, "invoke", pluginapi.InvokeRequest{Request: e.req(), ID: created.Service.ID, Body: []byte(`{"x":1}`)}))
	if err != nil || inv.Status != 200 {
		t.Fatalf("invoke: %v %+v", err, inv)
	}
	logs, err := pluginkit.Decode[pluginapi.LogsResponse](t, w.Call(t, e.doer, "logs", pluginapi.LogsRequest{Request: e.req(), ID: created.Service.ID}))
	if err != nil || logs.Cursor == "" || len(logs.Entries) == 0 {
		t.Fatalf("logs: %v %+v", err, logs)
	}
	if _, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, e.doer, "create", pluginapi.CreateRequest{Request: e.req(), Spec: conf.InvalidSpec})); err == nil || err.Field != conf.InvalidField {
		t.Fatalf("invalid spec: %v", err)
	}
	for k, v := range conf.BadCredentials {
		e.doer.Secrets[k] = fmt.Sprint(v)
	}
	if _, err := pluginkit.Decode[pluginapi.ListResponse](t, w.Call(t, e.doer, "list", pluginapi.ListRequest{Request: e.req()})); err == nil || err.Code != pluginapi.CodeUnauthorized {
		t.Fatalf("bad credentials: %v", err)
	}
}

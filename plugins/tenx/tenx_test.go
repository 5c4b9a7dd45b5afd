package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	tenxemu "github.com/wharfhq/wharf/emulators/tenx"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginkit"
)

var (
	secretFields   = []string{"token"}
	endpointFields = []string{"endpoint"}
	wantCode       = pluginkit.WantCode
)

type env struct {
	t      *testing.T
	clock  *pluginkit.Clock
	config map[string]any
	doer   *pluginkit.Doer
	ctx    context.Context
}

func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	c := pluginkit.NewClock(start)
	emu := tenxemu.New(tenxemu.Options{Now: c.Now, Pending: time.Second, LogInterval: time.Second})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	old := now
	now = c.Now
	t.Cleanup(func() { now = old })
	e := &env{t: t, clock: c, config: emu.DemoConfig(srv.URL)}
	e.doer = pluginkit.NewDoer(e.config, endpointFields, secretFields)
	e.ctx = plugin.WithDoer(context.Background(), e.doer)
	return e
}

func (e *env) req() pluginapi.Request {
	return pluginapi.Request{Connection: "tenx", Config: pluginkit.StripSecrets(e.t, e.config, secretFields)}
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

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const mysql = `{"name":"myblog-mysql","image":"index.tenxcloud.com/tenxcloud/mysql:latest","command":["/run.sh"],
  "env":{"MYSQL_USER":"admin","MYSQL_PASS":"password"},"ports":[{"port":3306}],"memory":512,
  "volumes":[{"disk_name":"disk1","mount_path":"/data"}],"sync_timezone":true,"domains":["www.example.cn"]}`

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t, t0)
	e.doer.Reset()
	sv := e.create(mysql)
	if sv.ID != "myblog-mysql" || sv.Status != pluginapi.StatusPending || sv.NativeStatus != "Pending" || *sv.Desired != 1 {
		t.Fatalf("created: %+v", sv)
	}
	// The wire: name in the path, username header, token auth, documented body.
	post := e.doer.Sent()[0]
	var body map[string]any
	_ = json.Unmarshal(post.Body, &body)
	ctr := body["containers"].([]any)[0].(map[string]any)
	if post.Method != "POST" || post.Path != "/v1/regions/beijing1/services/myblog-mysql" || post.Headers["username"] != "demo" ||
		post.Headers["Authorization"] != "token tenx-demo-token" || body["target_instance_size"] != 1.0 || body["sync_timezone"] != true ||
		fmt.Sprint(ctr["ports"]) != "[map[port:3306 protocol:TCP]]" || fmt.Sprint(body["port_mappings"]) != "[map[container_port:3306 protocol:tcp]]" ||
		fmt.Sprint(ctr["resources"]) != "map[limits:map[memory:512Mi]]" || fmt.Sprint(ctr["env"]) != "[map[name:MYSQL_PASS value:password] map[name:MYSQL_USER value:admin]]" {
		t.Fatalf("create request: %s %s %v %s", post.Method, post.Path, post.Headers, post.Body)
	}

	e.clock.Add(time.Second)
	sv = e.get("myblog-mysql")
	if sv.Status != pluginapi.StatusRunning || *sv.Running != 1 || sv.Image != "index.tenxcloud.com/tenxcloud/mysql:latest" {
		t.Fatalf("settled: %+v", sv)
	}
	if len(sv.Endpoints) != 2 || !strings.HasSuffix(sv.Endpoints[0].URL, ".tenxapp.com:30001") || sv.Endpoints[0].Port != 3306 || sv.Endpoints[1].URL != "www.example.cn" {
		t.Fatalf("endpoints: %+v", sv.Endpoints)
	}
	var spec map[string]any
	_ = json.Unmarshal(sv.Spec, &spec)
	if spec["image"] != "index.tenxcloud.com/tenxcloud/mysql:latest" || spec["memory"] != 512.0 || fmt.Sprint(spec["volumes"]) != "[map[disk_name:disk1 mount_path:/data]]" {
		t.Fatalf("spec: %s", sv.Spec)
	}

	// Changing what TenxCloud allows.
	e.doer.Reset()
	up := `{"name":"myblog-mysql","image":"index.tenxcloud.com/tenxcloud/mysql:latest","command":["/run.sh"],
	  "env":{"MYSQL_USER":"admin","MYSQL_PASS":"password"},"ports":[{"port":3306}],"memory":1024,"instances":2,"sync_timezone":true,
	  "volumes":[{"disk_name":"disk1","mount_path":"/data"}],"domains":["www.example.cn","example.cn"]}`
	r, err := call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: "myblog-mysql", Spec: json.RawMessage(up)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Service.Status != pluginapi.StatusPending || *r.Service.Desired != 2 || len(r.Warnings) != 1 {
		t.Fatalf("after a memory change: %+v %v", r.Service, r.Warnings)
	}
	put := e.doer.Sent()[1]
	if put.Method != "PUT" || !strings.Contains(string(put.Body), `"resource":{"limits":{"memory":"1024Mi"}}`) ||
		!strings.Contains(string(put.Body), `"target_instance_size":2`) || strings.Contains(string(put.Body), "image") {
		t.Fatalf("update request: %s", put.Body)
	}
	e.clock.Add(time.Second)
	sv = e.get("myblog-mysql")
	_ = json.Unmarshal(sv.Spec, &spec)
	if sv.Status != pluginapi.StatusRunning || spec["memory"] != 1024.0 || len(spec["domains"].([]any)) != 2 {
		t.Fatalf("after update settled: %s %s", sv.Status, sv.Spec)
	}

	// Changing anything else is refused, naming the field.
	for _, tc := range []struct{ from, to, field string }{
		{`"image":"index.tenxcloud.com/tenxcloud/mysql:latest"`, `"image":"mysql:8"`, "/image"},
		{`"command":["/run.sh"]`, `"command":["/other.sh"]`, "/command"},
		{`"MYSQL_USER":"admin"`, `"MYSQL_USER":"root"`, "/env"},
		{`"ports":[{"port":3306}]`, `"ports":[{"port":3307}]`, "/ports"},
		{`"mount_path":"/data"`, `"mount_path":"/var"`, "/volumes"},
		{`"name":"myblog-mysql"`, `"name":"renamed"`, "/name"},
		{`"memory":1024`, `"memory":300`, "/memory"},
	} {
		_, err := call[pluginapi.ServiceResponse](e, "update", pluginapi.UpdateRequest{Request: e.req(), ID: "myblog-mysql", Spec: json.RawMessage(strings.Replace(up, tc.from, tc.to, 1))})
		wantCode(t, err, pluginapi.CodeInvalid, tc.field)
	}

	// A taken name is a conflict; a bad spec names the field.
	_, err = call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(mysql)})
	wantCode(t, err, pluginapi.CodeConflict, "/name")
	_, err = call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(`{"name":"x1y","image":"a","ports":[{"port":70000}]}`)})
	wantCode(t, err, pluginapi.CodeInvalid, "/ports/0/port")
	_, err = call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(), Spec: json.RawMessage(`{"name":"x1y"}`)})
	wantCode(t, err, pluginapi.CodeInvalid, "/image")

	// Delete, then it is gone.
	d := e.svc("delete", pluginapi.DeleteRequest{Request: e.req(), ID: "myblog-mysql"})
	if d.Status != pluginapi.StatusDeleting {
		t.Fatalf("delete: %s", d.Status)
	}
	_, err = call[pluginapi.ServiceResponse](e, "get", pluginapi.GetRequest{Request: e.req(), ID: "myblog-mysql"})
	wantCode(t, err, pluginapi.CodeNotFound, "")
	_, err = call[pluginapi.ServiceResponse](e, "delete", pluginapi.DeleteRequest{Request: e.req(), ID: "myblog-mysql"})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestActionsAndInstances(t *testing.T) {
	e := newEnv(t, t0)
	e.create(`{"name":"web","image":"nginx:1","ports":[{"port":80,"public":false}]}`)
	e.clock.Add(time.Second)

	sv, err := e.act("web", "stop", "")
	if err != nil || sv.Status != pluginapi.StatusStopped || *sv.Running != 0 {
		t.Fatalf("stop: %v %+v", err, sv)
	}
	if sv.Endpoints != nil {
		t.Fatalf("a private port has no endpoint: %+v", sv.Endpoints)
	}
	sv, err = e.act("web", "start", "")
	if err != nil || sv.Status != pluginapi.StatusPending {
		t.Fatalf("start: %v %+v", err, sv)
	}
	e.clock.Add(time.Second)
	inst, ierr := call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "web"})
	if ierr != nil || len(inst.Instances) != 1 || inst.Instances[0].Status != pluginapi.StatusRunning {
		t.Fatalf("instances: %v %+v", ierr, inst)
	}
	first := inst.Instances[0].ID

	sv, err = e.act("web", "scale", `{"replicas":3}`)
	if err != nil || *sv.Desired != 3 || sv.Status != pluginapi.StatusRunning {
		t.Fatalf("scale: %v %+v", err, sv)
	}
	inst, _ = call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "web"})
	if len(inst.Instances) != 3 || inst.Instances[0].ID != first {
		t.Fatalf("scaled instances (the first must stay): %+v", inst.Instances)
	}
	one, ierr := call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "web", InstanceID: inst.Instances[2].ID})
	if ierr != nil || len(one.Instances) != 1 || one.Instances[0].ID != inst.Instances[2].ID {
		t.Fatalf("one instance: %v %+v", ierr, one)
	}
	_, ierr = call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "web", InstanceID: "nope"})
	wantCode(t, ierr, pluginapi.CodeNotFound, "")

	sv, err = e.act("web", "restart", "")
	if err != nil || sv.Status != pluginapi.StatusPending {
		t.Fatalf("restart: %v %+v", err, sv)
	}
	e.clock.Add(time.Second)
	inst, _ = call[pluginapi.InstancesResponse](e, "instances", pluginapi.InstancesRequest{Request: e.req(), ID: "web"})
	if len(inst.Instances) != 3 || inst.Instances[0].ID == first {
		t.Fatalf("a restart replaces instances: %+v", inst.Instances)
	}

	_, err = e.act("web", "scale", `{"replicas":-1}`)
	wantCode(t, err, pluginapi.CodeInvalid, "/params/replicas")
	_, err = e.act("web", "rollback", "")
	wantCode(t, err, pluginapi.CodeUnsupported, "")
	_, err = e.act("nope", "stop", "")
	wantCode(t, err, pluginapi.CodeNotFound, "")

	// An image that fails ends Failed.
	e.create(`{"name":"broken","image":"app:fail"}`)
	e.clock.Add(time.Second)
	if sv := e.get("broken"); sv.Status != pluginapi.StatusFailed || sv.NativeStatus != "Failed" {
		t.Fatalf("failing image: %s", sv.Status)
	}
}

func TestListPagingAndFilters(t *testing.T) {
	e := newEnv(t, t0)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("svc-%d", i)
		e.create(fmt.Sprintf(`{"name":%q,"image":"busybox"}`, name))
		want = append(want, name)
	}
	e.clock.Add(time.Second)
	e.act("svc-3", "stop", "")
	list := func(filters map[string][]string, size int) ([]string, int) {
		t.Helper()
		var names []string
		token, pages := "", 0
		for {
			r, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: filters, PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range r.Services {
				names = append(names, s.ID)
			}
			if token = r.NextPageToken; token == "" {
				return names, pages
			}
		}
	}
	if got, pages := list(nil, 3); !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("paging: %v in %d pages", got, pages)
	}
	if got, _ := list(map[string][]string{"status": {"stopped"}}, 2); !slices.Equal(got, []string{"svc-3"}) {
		t.Fatalf("stopped: %v", got)
	}
	if got, _ := list(map[string][]string{"status": {"Running"}, "name": {"svc-1", "svc-5"}}, 2); !slices.Equal(got, []string{"svc-1", "svc-5"}) {
		t.Fatalf("running named: %v", got)
	}
	_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), Filters: map[string][]string{"label": {"a"}}})
	wantCode(t, err, pluginapi.CodeInvalid, "/filters/label")
	_, err = call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req(), PageToken: "x"})
	wantCode(t, err, pluginapi.CodeInvalid, "/page_token")
}

// collect follows the logs with the cursor until no more are ready.
func collect(e *env, req pluginapi.LogsRequest) ([]pluginapi.LogEntry, string) {
	e.t.Helper()
	var all []pluginapi.LogEntry
	for range 100 {
		req.Request = e.req()
		r, err := call[pluginapi.LogsResponse](e, "logs", req)
		if err != nil {
			e.t.Fatal(err)
		}
		if r.Cursor == "" {
			e.t.Fatal("no cursor")
		}
		all = append(all, r.Entries...)
		req.Cursor = r.Cursor
		if !r.More {
			return all, r.Cursor
		}
	}
	e.t.Fatal("logs never ended")
	return nil, ""
}

func messages(es []pluginapi.LogEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Message)
	}
	return out
}

func TestLogsFollowAcrossDays(t *testing.T) {
	// Start 6 s before midnight: the service runs from 23:59:55 with two instances.
	e := newEnv(t, time.Date(2026, 3, 1, 23, 59, 54, 0, time.UTC))
	e.create(`{"name":"ticker","image":"busybox","instances":2}`)
	e.clock.Add(4 * time.Second) // 23:59:58: lines at :56, :57, :58 on each instance
	got, cursor := collect(e, pluginapi.LogsRequest{ID: "ticker", Limit: 4})
	if len(got) != 6 || !strings.HasPrefix(cursor, "2026.03.01/") {
		t.Fatalf("first day: %v %s", messages(got), cursor)
	}
	if !strings.HasPrefix(got[0].Message, "ticker ticker-") || !strings.HasSuffix(got[0].Message, " line 1") || got[0].Instance == "" {
		t.Fatalf("line: %+v", got[0])
	}
	e.clock.Add(5 * time.Second) // 00:00:03 next day: :59 on day 1, then 00:00:00..03 on day 2
	more, cursor := collect(e, pluginapi.LogsRequest{ID: "ticker", Cursor: cursor, Limit: 3})
	if len(more) != 10 || !strings.HasPrefix(cursor, "2026.03.02/8") {
		t.Fatalf("across midnight: %d %v %s", len(more), messages(more), cursor)
	}
	all := append(got, more...)
	seen := map[string]bool{}
	for _, m := range messages(all) {
		if seen[m] {
			t.Fatalf("repeated: %s", m)
		}
		seen[m] = true
	}
	for _, inst := range []string{all[0].Instance, all[1].Instance} {
		for n := 1; n <= 8; n++ {
			if !seen[fmt.Sprintf("ticker %s line %d", inst, n)] {
				t.Fatalf("lost line %d of %s: %v", n, inst, messages(all))
			}
		}
	}
	// Nothing new: an empty answer keeps the cursor.
	none, again := collect(e, pluginapi.LogsRequest{ID: "ticker", Cursor: cursor})
	if len(none) != 0 || again != cursor {
		t.Fatalf("idle follow: %v %s", none, again)
	}
	// Tail of today, one instance, since a past day.
	tail, _ := collect(e, pluginapi.LogsRequest{ID: "ticker", Tail: 3})
	if len(tail) != 3 || tail[2].Message != more[len(more)-1].Message {
		t.Fatalf("tail: %v", messages(tail))
	}
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fromSince, _ := collect(e, pluginapi.LogsRequest{ID: "ticker", Since: &since, Instance: all[0].Instance})
	if len(fromSince) != 8 {
		t.Fatalf("since yesterday, one instance: %v", messages(fromSince))
	}
	_, err := call[pluginapi.LogsResponse](e, "logs", pluginapi.LogsRequest{Request: e.req(), ID: "ticker", Cursor: "yesterday"})
	wantCode(t, err, pluginapi.CodeInvalid, "/cursor")
	_, err = call[pluginapi.LogsResponse](e, "logs", pluginapi.LogsRequest{Request: e.req(), ID: "nope"})
	wantCode(t, err, pluginapi.CodeNotFound, "")
}

func TestWrongCredentials(t *testing.T) {
	for _, field := range []string{"token", "username"} {
		e := newEnv(t, t0)
		if field == "token" {
			e.doer.Secrets["token"] = "wrong"
		} else {
			e.config["username"] = "mallory"
		}
		_, err := call[pluginapi.ListResponse](e, "list", pluginapi.ListRequest{Request: e.req()})
		wantCode(t, err, pluginapi.CodeUnauthorized, "")
	}
}

func TestStatusNormalization(t *testing.T) {
	for native, want := range map[string]pluginapi.Status{"Running": pluginapi.StatusRunning, "Pending": pluginapi.StatusPending,
		"Stopped": pluginapi.StatusStopped, "Failed": pluginapi.StatusFailed, "Weird": pluginapi.StatusUnknown} {
		if got := normalize(native); got != want {
			t.Errorf("%s: %s", native, got)
		}
	}
}

func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm")
	}
	w := pluginkit.BuildAndLoad(t, "./plugins/tenx")
	d := w.Describe(t)
	if d.Name != "tenx" || !slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-secret"), secretFields) ||
		!slices.Equal(pluginkit.SchemaFields(t, d.ConfigSchema, "x-endpoint"), endpointFields) || len(d.Actions) != 4 {
		t.Fatalf("describe: %+v", d)
	}
	conf := pluginkit.LoadConformance(t, d.SpecSchema)
	e := newEnv(t, t0)
	created, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, e.doer, "create", pluginapi.CreateRequest{Request: e.req(), Spec: conf.CreateSpec}))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	if _, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, e.doer, "update", pluginapi.UpdateRequest{Request: e.req(), ID: created.Service.ID, Spec: conf.UpdateSpec})); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Second)
	logs, err := pluginkit.Decode[pluginapi.LogsResponse](t, w.Call(t, e.doer, "logs", pluginapi.LogsRequest{Request: e.req(), ID: created.Service.ID}))
	if err != nil || logs.Cursor == "" {
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

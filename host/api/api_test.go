package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/pluginapi"
)

// client talks to an API server over real HTTP.
type client struct {
	t     *testing.T
	base  string
	token string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

func (a answer) errCode(t *testing.T) string {
	t.Helper()
	m := a.json(t)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("answer %d has no error: %s", a.status, a.body)
	}
	code, _ := e["code"].(string)
	return code
}

func (c *client) do(method, path, body string, headers ...string) answer {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func (c *client) want(status int, method, path, body string, headers ...string) answer {
	c.t.Helper()
	a := c.do(method, path, body, headers...)
	if a.status != status {
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, a.status, status, a.body)
	}
	return a
}

type env struct {
	*opstest.Env
	e   *echo.Echo
	srv *httptest.Server
}

func newEnv(t *testing.T, o opstest.Options) *env {
	ev := opstest.New(t, o)
	e := api.New(ev.Host, api.Options{BodyLimit: "64K"})
	srv := httptest.NewServer(validated(t, e))
	t.Cleanup(srv.Close)
	return &env{Env: ev, e: e, srv: srv}
}

func (v *env) client(t *testing.T, token string) *client {
	return &client{t: t, base: v.srv.URL + api.Prefix, token: token}
}

const spec = `{"name":"web","image":"nginx:1","replicas":2}`

func TestEveryRoute(t *testing.T) {
	v := newEnv(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/good"}})
	c := v.client(t, "")
	conn := "/connections/" + opstest.Conn

	if m := c.want(200, "GET", "/healthz", "").json(t); m["status"] != "ok" {
		t.Fatalf("healthz = %v", m)
	}
	c.want(200, "GET", "/openapi.json", "")
	if m := c.want(200, "GET", "/plugins", "").json(t); len(m["plugins"].([]any)) != 2 {
		t.Fatalf("plugins = %v", m)
	}
	c.want(200, "GET", "/plugins/fake", "")
	c.want(404, "GET", "/plugins/nope", "")

	// Connections.
	a := c.want(201, "POST", "/connections", `{"name":"two","plugin":"fake","config":{"endpoint":"`+v.PlatformURL+`","token":"`+opstest.PlatformToken+`"}}`)
	if a.header.Get("Location") != api.Prefix+"/connections/two" {
		t.Fatalf("Location = %q", a.header.Get("Location"))
	}
	list := c.want(200, "GET", "/connections", "")
	if bytes.Contains(list.body, []byte(opstest.PlatformToken)) {
		t.Fatalf("connection list shows the secret: %s", list.body)
	}
	got := c.want(200, "GET", "/connections/two", "")
	cfg := got.json(t)["config"].(map[string]any)
	if cfg["token"] != ops.Redacted || got.header.Get("ETag") != `"1"` {
		t.Fatalf("connection = %s (etag %s)", got.body, got.header.Get("ETag"))
	}
	c.want(200, "PUT", "/connections/two", `{"config":{"endpoint":"`+v.PlatformURL+`","region":"eu"}}`, "If-Match", `"1"`)
	c.want(409, "PATCH", "/connections/two", `{"region":"us"}`, "If-Match", `"1"`)
	p := c.want(200, "PATCH", "/connections/two", `{"region":"us"}`, "If-Match", `"2"`).json(t)
	if p["config"].(map[string]any)["region"] != "us" || p["config"].(map[string]any)["token"] != ops.Redacted {
		t.Fatalf("patched connection = %v", p)
	}
	if m := c.want(200, "POST", "/connections/two/test", "").json(t); m["ok"] != true {
		t.Fatalf("test = %v", m)
	}
	c.want(400, "PUT", "/connections/two", `{"name":"other","config":{}}`)
	c.want(400, "POST", "/connections", `{"name":"x","plugin":"fake","colour":"red"}`)
	c.want(204, "DELETE", "/connections/two", "")
	c.want(404, "GET", "/connections/two", "")

	// Services.
	created := c.want(201, "POST", conn+"/services", spec).json(t)
	id := created["service"].(map[string]any)["id"].(string)
	svc := conn + "/services/" + id
	c.want(400, "POST", conn+"/services", `{"name":"web"}`)
	if m := c.want(200, "GET", conn+"/services?label=none&page_size=5", "").json(t); len(m["services"].([]any)) != 0 {
		t.Fatalf("label filter = %v", m)
	}
	if m := c.want(200, "GET", conn+"/services?filter=name=web", "").json(t); len(m["services"].([]any)) != 1 {
		t.Fatalf("filter=name=web = %v", m)
	}
	c.want(400, "GET", conn+"/services?colour=red", "")
	c.want(400, "GET", conn+"/services?filter=oops", "")
	if m := c.want(200, "GET", "/services?name=WE&status=running", "").json(t); m["total"] != float64(1) {
		t.Fatalf("all services = %v", m)
	}
	if m := c.want(200, "GET", "/services?sort=updated&dir=desc&status=failed", "").json(t); m["total"] != float64(0) ||
		len(m["summary"].([]any)) != 1 || m["summary"].([]any)[0].(map[string]any)["total"] != float64(1) {
		t.Fatalf("sorted, with a summary = %v", m)
	}
	g := c.want(200, "GET", svc, "")
	if g.header.Get("ETag") != `"1"` {
		t.Fatalf("service ETag = %q", g.header.Get("ETag"))
	}
	c.want(200, "PUT", svc, `{"name":"web","image":"nginx:2"}`, "If-Match", `"1"`)
	c.want(409, "PUT", svc, `{"name":"web","image":"nginx:3"}`, "If-Match", `"1"`)
	c.want(409, "PATCH", svc+"?version=1", `{"replicas":4}`)
	pt := c.want(200, "PATCH", svc, `{"replicas":4}`, "If-Match", `"2"`, "Content-Type", "application/merge-patch+json").json(t)
	if pt["service"].(map[string]any)["desired"] != float64(4) {
		t.Fatalf("patched service = %v", pt)
	}
	c.want(200, "POST", svc+"/actions/scale", `{"replicas":3}`)
	c.want(200, "POST", svc+"/actions/restart", "")
	c.want(400, "POST", svc+"/actions/scale", `{"replicas":"x"}`)
	c.want(404, "POST", svc+"/actions/explode", "")
	insts := c.want(200, "GET", svc+"/instances", "").json(t)["instances"].([]any)
	if len(insts) != 3 {
		t.Fatalf("instances = %v", insts)
	}
	c.want(200, "GET", svc+"/instances/"+insts[0].(map[string]any)["id"].(string), "")
	c.want(404, "GET", svc+"/instances/nope", "")
	deps := c.want(200, "GET", svc+"/deployments?status=successful&created_after=0", "").json(t)["deployments"].([]any)
	if len(deps) != 3 {
		t.Fatalf("deployments = %v", deps)
	}
	c.want(200, "GET", svc+"/deployments/"+deps[0].(map[string]any)["id"].(string), "")
	c.want(400, "GET", svc+"/deployments?created_after=yesterday", "")
	inv := c.want(200, "POST", svc+"/invoke", `{"method":"GET","path":"/x","body":"aGk="}`).json(t)
	if inv["status"] != float64(200) {
		t.Fatalf("invoke = %v", inv)
	}
	logs := c.want(200, "GET", svc+"/logs?tail=5&stdout=true&details=false", "").json(t)
	if len(logs["entries"].([]any)) != 1 || logs["cursor"] == "" {
		t.Fatalf("logs = %v", logs)
	}
	c.want(400, "GET", svc+"/logs?tail=-1", "")
	c.want(400, "GET", svc+"/logs?since=soon", "")
	// The fake plugin declares neither logs.until nor logs.backward: refused, naming the field.
	for q, field := range map[string]string{"until=2026-01-01T00:00:00Z": "/until", "until=2026-01-01T00:00:00Z&follow=true": "/until",
		"before=x": "/before", "until=later": "/until"} {
		e := c.want(400, "GET", svc+"/logs?"+q, "").json(t)["error"].(map[string]any)
		if e["field"] != field && !strings.Contains(e["message"].(string), strings.TrimPrefix(field, "/")) {
			t.Fatalf("logs?%s: error %v does not name %s", q, e, field)
		}
	}
	c.want(409, "DELETE", svc, "")
	c.want(200, "DELETE", svc+"?force=true", "")
	c.want(404, "GET", svc, "")

	// Plugins that do not offer an operation.
	c.want(201, "POST", "/connections", `{"name":"good","plugin":"good"}`)
	c.want(501, "GET", "/connections/good/services/x/instances", "")
	c.want(501, "GET", "/connections/good/services/x/deployments", "")

	// Audit.
	entries := c.want(200, "GET", "/audit?operation=service.create&outcome=ok&limit=10", "").json(t)["entries"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["outcome"] != "ok" {
		t.Fatalf("audit = %v", entries)
	}
	// The create refused for its spec is an entry too.
	entries = c.want(200, "GET", "/audit?operation=service.create&outcome=invalid", "").json(t)["entries"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["error_field"] != "/image" {
		t.Fatalf("invalid creates = %v", entries)
	}
	c.want(400, "GET", "/audit?outcome=maybe", "")
	csv := c.want(200, "GET", "/audit/export?format=csv", "")
	if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !bytes.Contains(csv.body, []byte("service.delete")) {
		t.Fatalf("csv export: %s\n%s", csv.header.Get("Content-Type"), csv.body)
	}
	jl := c.want(200, "GET", "/audit/export?connection=fake1", "")
	if n := bytes.Count(jl.body, []byte("\n")); n < 10 {
		t.Fatalf("jsonl export has %d lines", n)
	}
	if bytes.Contains(jl.body, []byte(opstest.PlatformToken)) || bytes.Contains(csv.body, []byte(opstest.PlatformToken)) {
		t.Fatal("audit export holds the platform token")
	}
	c.want(400, "GET", "/audit/export?format=xml", "")
	if m := c.want(200, "GET", "/audit/verify", "").json(t); m["ok"] != true {
		t.Fatalf("verify = %v", m)
	}
}

func TestErrorsAreStructured(t *testing.T) {
	v := newEnv(t, opstest.Options{})
	c := v.client(t, "")
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/nowhere", "", 404, "not_found"},
		{"DELETE", "/plugins", "", 404, "not_found"},
		{"POST", "/connections/fake1/services", `{"name":`, 400, "invalid"},
		{"POST", "/connections/fake1/services", ``, 400, "invalid"},
		{"POST", "/connections", `[1,2]`, 400, "invalid"},
		{"POST", "/connections/fake1/services", `{"name":"` + strings.Repeat("x", 70000) + `"}`, 413, "invalid"},
		{"GET", "/connections/nope/services", "", 404, "not_found"},
		{"GET", "/connections/fake1/services?page_size=x", "", 400, "invalid"},
		{"GET", "/services?page_token=zzz", "", 400, "invalid"},
		{"GET", "/services?sort=colour", "", 400, "invalid"},
		{"GET", "/services?sort=name&dir=up", "", 400, "invalid"},
	} {
		a := c.do(tc.method, tc.path, tc.body, "X-Request-Id", "req-123")
		if a.status != tc.status || a.errCode(t) != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, a.status, a.body, tc.status, tc.code)
		}
		if a.json(t)["request_id"] != "req-123" || a.header.Get(api.RequestIDHeader) != "req-123" {
			t.Errorf("%s %s: request id not echoed: %s", tc.method, tc.path, a.body)
		}
	}
	// A generated request id when none (or an insane one) is sent.
	a := c.do("GET", "/nowhere", "", "X-Request-Id", "bad id with spaces")
	if rid := a.header.Get(api.RequestIDHeader); !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(rid) {
		t.Fatalf("generated request id = %q", rid)
	}

	// The field of an invalid spec reaches the body.
	a = c.want(400, "POST", "/connections/fake1/services", `{"name":"Bad Name","image":"x"}`)
	if f := a.json(t)["error"].(map[string]any)["field"]; f != "/name" {
		t.Fatalf("field = %v", f)
	}
	// A platform that cannot be reached.
	c.want(201, "POST", "/connections", `{"name":"down","plugin":"fake","config":{"endpoint":"http://127.0.0.1:1","token":"x"}}`)
	if a := c.do("GET", "/connections/down/services", ""); a.status != 503 || a.errCode(t) != "unavailable" {
		t.Fatalf("unreachable platform: %d %s", a.status, a.body)
	}
}

func TestStatusOfEveryCode(t *testing.T) {
	want := map[pluginapi.Code]int{
		pluginapi.CodeInvalid: 400, pluginapi.CodeUnauthorized: 401, pluginapi.CodeForbidden: 403,
		pluginapi.CodeNotFound: 404, pluginapi.CodeConflict: 409, pluginapi.CodeUnsupported: 501,
		pluginapi.CodeUnavailable: 503, pluginapi.CodeTimeout: 504, pluginapi.CodeInternal: 500,
	}
	for _, code := range pluginapi.Codes {
		if got := api.StatusOf(code); got != want[code] {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, want[code])
		}
	}
	// Through the handler: internal messages are hidden, others kept.
	e := echo.New()
	e.Use(api.RequestID())
	e.HTTPErrorHandler = api.ErrorHandler(nil)
	e.GET("/internal", func(echo.Context) error { return errors.New("db password is hunter2") })
	e.GET("/timeout", func(echo.Context) error { return pluginapi.Errorf(pluginapi.CodeTimeout, "plugin call took too long") })
	for path, wantStatus := range map[string]int{"/internal": 500, "/timeout": 504} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != wantStatus || body.RequestID == "" {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Errorf("%s: internal message leaked: %s", path, rec.Body)
		}
		if path == "/timeout" && body.Error.Message != "plugin call took too long" {
			t.Errorf("timeout message = %q", body.Error.Message)
		}
	}
}

func TestAuthAndRoles(t *testing.T) {
	v := newEnv(t, opstest.Options{Tokens: []ops.Token{
		{Name: "vera", SHA256: ops.HashToken("view-tok-0123456789abcdef0123456789"), Role: ops.RoleViewer},
		{Name: "otto", SHA256: ops.HashToken("op-tok-0123456789abcdef0123456789"), Role: ops.RoleOperator},
		{Name: "ada", SHA256: ops.HashToken("admin-tok-0123456789abcdef0123456789"), Role: ops.RoleAdmin},
		{Name: "olga", SHA256: ops.HashToken("owner-tok-0123456789abcdef0123456789"), Role: ops.RoleOwner},
	}})
	anon, viewer, operator, admin := v.client(t, ""), v.client(t, "view-tok-0123456789abcdef0123456789"), v.client(t, "op-tok-0123456789abcdef0123456789"), v.client(t, "admin-tok-0123456789abcdef0123456789")

	a := anon.want(401, "GET", "/connections", "")
	if a.errCode(t) != "unauthorized" || a.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous: %s %v", a.body, a.header)
	}
	anon.want(200, "GET", "/healthz", "")
	anon.want(200, "GET", "/openapi.json", "")
	v.client(t, "wrong").want(401, "GET", "/connections", "")
	anon.want(401, "GET", "/connections", "", "Authorization", "Basic dXNlcjpwYXNz")

	viewer.want(200, "GET", "/connections", "")
	viewer.want(200, "GET", "/audit", "")
	if viewer.want(403, "POST", "/connections/fake1/services", spec).errCode(t) != "forbidden" {
		t.Fatal("viewer create: wrong code")
	}
	created := operator.want(201, "POST", "/connections/fake1/services", spec).json(t)
	id := created["service"].(map[string]any)["id"].(string)
	operator.want(403, "DELETE", "/connections/fake1", "")
	operator.want(403, "POST", "/connections", `{"name":"x","plugin":"fake","config":{}}`)
	admin.want(204, "DELETE", "/connections/fake1", "")

	// Entries of a deleted connection are an owner's to read: an admin's
	// rights are on connections, and fake1 is gone.
	if hidden := admin.want(200, "GET", "/audit?target="+id, "").json(t)["entries"].([]any); len(hidden) != 0 {
		t.Fatalf("admin sees the audit of a deleted connection: %v", hidden)
	}
	// The audit log names the token, the client address and the request id.
	owner := v.client(t, "owner-tok-0123456789abcdef0123456789")
	entries := owner.want(200, "GET", "/audit?target="+id, "").json(t)["entries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("audit = %v", entries)
	}
	en := entries[0].(map[string]any)
	if en["actor"] != "otto" || en["client_addr"] == "" || en["request_id"] == "" {
		t.Fatalf("audit entry = %v", en)
	}
}

func TestOpenModeActorHeader(t *testing.T) {
	v := newEnv(t, opstest.Options{})
	c := v.client(t, "")
	c.want(201, "POST", "/connections/fake1/services", spec, api.ActorHeader, "alice")
	en := c.want(200, "GET", "/audit?operation=service.create", "").json(t)["entries"].([]any)[0].(map[string]any)
	if en["actor"] != "alice" {
		t.Fatalf("actor = %v", en["actor"])
	}
}

func TestFollowLogsStreamsNDJSON(t *testing.T) {
	v := newEnv(t, opstest.Options{})
	c := v.client(t, "")
	id := c.want(201, "POST", "/connections/fake1/services", spec).json(t)["service"].(map[string]any)["id"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/connections/fake1/services/"+id+"/logs?follow=true&tail=10", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var it struct {
				Entry *pluginapi.LogEntry `json:"entry"`
			}
			if err := json.Unmarshal(sc.Bytes(), &it); err != nil || it.Entry == nil {
				lines <- "bad line: " + sc.Text()
				continue
			}
			lines <- it.Entry.Message
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no log line streamed")
		}
		return ""
	}
	if l := next(); l != "web started" {
		t.Fatalf("first streamed line = %q", l)
	}
	v.Platform.AddLogs(id, fakeplatform.Line{Stream: "stdout", Message: "live 1"}, fakeplatform.Line{Stream: "stderr", Message: "live 2"})
	if a, b := next(), next(); a != "live 1" || b != "live 2" {
		t.Fatalf("followed lines = %q, %q", a, b)
	}
	if n := v.Host.LogFollowers(); n != 1 {
		t.Fatalf("followers = %d", n)
	}
	cancel() // the client goes away: the follower stops
	for i := 0; i < 500 && v.Host.LogFollowers() != 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := v.Host.LogFollowers(); n != 0 {
		t.Fatalf("followers after the client left = %d", n)
	}
	c.want(404, "GET", "/connections/fake1/services/nope/logs?follow=true", "")
}

// TestOpenAPIDocumentMatchesRoutes fails when a route is missing from the
// document or the document lists a path or method that is not routed.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	v := newEnv(t, opstest.Options{NoConnection: true})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}
	documented := map[string]bool{}
	for p, item := range doc.Paths {
		for m := range item {
			if methods[m] {
				documented[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	routed := map[string]bool{}
	for _, r := range v.e.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, api.Prefix+"/") {
			continue
		}
		routed[r.Method+" "+param.ReplaceAllString(strings.TrimPrefix(r.Path, api.Prefix), "{$1}")] = true
	}
	var missing, extra []string
	for k := range routed {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v\ndocumented but not routed: %v", missing, extra)
	}
	if len(routed) < 25 {
		t.Fatalf("only %d routes found: the walk is broken", len(routed))
	}
	// Every $ref resolves.
	var whole map[string]any
	_ = json.Unmarshal(api.OpenAPI, &whole)
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(api.OpenAPI), -1) {
		var cur any = whole
		for _, part := range strings.Split(ref[1], "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		if cur == nil {
			t.Errorf("unresolved $ref #/%s", ref[1])
		}
	}
}

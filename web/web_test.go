package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// fastDocker makes services settle and log quickly.
var fastDocker = dockeremu.Options{StartDelay: 150 * time.Millisecond, LogEvery: 50 * time.Millisecond}

func newEnv(t *testing.T, opts webtest.Options) (*webtest.Env, *webtest.Client) {
	t.Helper()
	if opts.Docker.StartDelay == 0 {
		opts.Docker = fastDocker
	}
	opts.Faces = []server.Face{web.Face(web.Options{})}
	env := webtest.New(t, opts)
	return env, webtest.NewClient(t, env.URL)
}

func createService(t *testing.T, env *webtest.Env, name string) string {
	t.Helper()
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm",
		json.RawMessage(`{"name":"`+name+`","image":"nginx:1.27","replicas":1}`))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return res.Service.ID
}

// waitSettled polls the facade until the service has settled.
func waitSettled(t *testing.T, env *webtest.Env, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s, err := env.Host.GetService(context.Background(), webtest.Admin, "swarm", id)
		if err == nil && s.Status.Settled() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("service %s did not settle", id)
}

// waitLogLines polls the facade until the service has written n log lines.
func waitLogLines(t *testing.T, env *webtest.Env, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		page, err := env.Host.Logs(context.Background(), webtest.Admin, "swarm", id, ops.LogsOptions{Tail: n})
		if err == nil && len(page.Entries) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("service %s wrote fewer than %d log lines", id, n)
}

func expect(t *testing.T, r webtest.Response, status int, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.Status, status, excerpt(r.Body))
	}
	for _, s := range contains {
		if !strings.Contains(r.Body, s) {
			t.Errorf("body lacks %q:\n%s", s, excerpt(r.Body))
		}
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, `<main`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

func TestServicesListSearchFilterAndDownConnection(t *testing.T) {
	env, c := newEnv(t, webtest.Options{DownConnection: true})
	createService(t, env, "alpha-web")
	createService(t, env, "beta-worker")

	r := c.Get("/services")
	expect(t, r, 200, "alpha-web", "beta-worker", "Connection down (Docker Swarm) is unreachable:", "connection refused")

	r = c.Get("/services?q=alpha")
	expect(t, r, 200, "alpha-web")
	if strings.Contains(r.Body, "beta-worker") {
		t.Error("search by name kept beta-worker")
	}
	r = c.Get("/services?connection=swarm&status=failed")
	expect(t, r, 200, "No services match")

	r = c.Get("/services?plugin=docker&connection=swarm")
	expect(t, r, 200, "alpha-web", "beta-worker", `<option value="swarm" selected>`)
}

func TestServicesPaging(t *testing.T) {
	env := webtest.New(t, webtest.Options{Docker: fastDocker,
		Faces: []server.Face{web.Face(web.Options{PageSize: 2})}})
	c := webtest.NewClient(t, env.URL)
	for _, n := range []string{"svc-a", "svc-b", "svc-c"} {
		createService(t, env, n)
	}
	r := c.Get("/services")
	expect(t, r, 200, "3 services", "svc-a", "svc-b", `rel="next"`)
	if strings.Contains(r.Body, "svc-c") {
		t.Error("first page shows the third service")
	}
	next := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(r.Body)
	r = c.Get(htmlUnescape(next[1]))
	expect(t, r, 200, "svc-c", `rel="prev"`, "page 2")
}

func htmlUnescape(s string) string { return strings.ReplaceAll(s, "&amp;", "&") }

func TestCreateFormGeneratedValidatedAndCreated(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	r := c.Get("/services/new")
	expect(t, r, 200, `id="fld-name"`, `id="fld-image"`, `name="f.env.k"`, // object of strings: key/value rows
		`<select id="fld-mode"`, `name="f.tty"`, // enum and boolean
		`id="fld-command"`,                         // array of strings: one per line
		`name="f.ports/0/target"`, `data-add-item`, // array of objects: rows
		`name="f.resources/cpu_limit"`, // object: a group of sub-fields
		// The plugin's layout (x-group, x-order): basics first, sections shut.
		`<details class="form-section" data-section="Resources">`, `<details class="form-section" data-section="Update policy">`)
	order := []string{`id="fld-name"`, `id="fld-image"`, `id="fld-replicas"`, `data-field="ports"`, `data-field="env"`, `data-section="Command"`, `id="fld-command"`}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(r.Body, order[i-1]), strings.Index(r.Body, order[i]); a < 0 || b < a {
			t.Errorf("the create form draws %s before %s", order[i], order[i-1])
		}
	}

	// Rejected fields are shown at the field, the values kept.
	r = c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"bad name!"}, "f.image": {"nginx"},
		"f.replicas": {"two"}, "f.ports": {"[{"}, "f.env.k": {"A"}, "f.env.v": {"1"}})
	expect(t, r, 400, `value="bad name!"`)
	if msg := webtest.FieldError(r.Body, "replicas"); !strings.Contains(msg, "whole number") {
		t.Errorf("replicas error = %q", msg)
	}
	if msg := webtest.FieldError(r.Body, "ports"); !strings.Contains(msg, "JSON") {
		t.Errorf("ports error = %q", msg)
	}
	// Schema errors from the facade, every one at its own field.
	r = c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"bad name!"}, "f.replicas": {"-2"}})
	expect(t, r, 400)
	for _, f := range []string{"name", "image", "replicas"} {
		if webtest.FieldError(r.Body, f) == "" {
			t.Errorf("no error shown at %s:\n%s", f, excerpt(r.Body))
		}
	}
	if webtest.FieldError(r.Body, "workdir") != "" {
		t.Error("an error shown at a valid field")
	}

	r = c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"shop"}, "f.image": {"nginx:1.27"},
		"f.replicas": {"2"}, "f.env.k": {"GREETING", ""}, "f.env.v": {"hi", ""}, "f.command": {"nginx\n-g\ndaemon off;"},
		"f.tty.present": {"1"}, "f.mode": {"replicated"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/services/swarm/") {
		t.Fatalf("create: %d %s\n%s", r.Status, r.Header.Get("Location"), excerpt(r.Body))
	}
	r = c.Follow(r)
	expect(t, r, 200, "Service shop created", "<h1>shop</h1>", "nginx:1.27", "Raw platform object", `data-action="scale"`)
	svc, ok := env.Docker.Service("shop")
	if !ok {
		t.Fatal("the emulator has no service shop")
	}
	if got := svc.Spec.TaskTemplate.ContainerSpec.Env; len(got) != 1 || got[0] != "GREETING=hi" {
		t.Errorf("env sent to the platform = %v", got)
	}
	if got := svc.Spec.TaskTemplate.ContainerSpec.Command; len(got) != 3 || got[2] != "daemon off;" {
		t.Errorf("command sent to the platform = %q", got)
	}

	// A taken name is a conflict that names its field: shown at the field too.
	r = c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"shop"}, "f.image": {"nginx:1.27"}})
	expect(t, r, 409, `value="shop"`)
	if webtest.FieldError(r.Body, "name") == "" {
		t.Errorf("the conflict is not shown at the name field:\n%s", excerpt(r.Body))
	}
}

func TestDetailActionsStatusAndDelete(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "api")
	path := "/services/swarm/" + id

	r := c.Get(path + "/status")
	expect(t, r, 200, "badge")
	if r.Header.Get("X-Wharf-Settled") == "" {
		t.Error("status fragment lacks X-Wharf-Settled")
	}
	waitSettled(t, env, id)
	r = c.Get(path + "/status?part=badge")
	expect(t, r, 200, "running")
	if r.Header.Get("X-Wharf-Settled") != "true" {
		t.Errorf("settled header = %q after settling", r.Header.Get("X-Wharf-Settled"))
	}

	r = c.Get(path)
	expect(t, r, 200, "<h1>api</h1>", "platform:", "Instances", "Running", "Scale", "Delete service")
	// Instances read as the platform names them; the full id is on hover
	// and copyable.
	if m := regexp.MustCompile(`<span title="([0-9a-z]{20,})">api\.1</span>`).FindStringSubmatch(r.Body); m == nil {
		t.Errorf("instance api.1 is not shown by name with its id on hover:\n%s", excerpt(r.Body))
	} else if !strings.Contains(r.Body, `data-copy="`+m[1]+`"`) {
		t.Errorf("no copy button for instance id %s", m[1])
	}

	// Scale: a number, no confirmation; a bad number is shown at the field.
	r = c.Post(path+"/actions/scale", url.Values{"f.replicas": {"-1"}})
	expect(t, r, 400)
	if webtest.FieldError(r.Body, "replicas") == "" {
		t.Errorf("no error at replicas:\n%s", excerpt(r.Body))
	}
	// A bare aria-invalid reads as "not invalid" to assistive technology.
	if !strings.Contains(r.Body, `aria-invalid="true"`) || regexp.MustCompile(`aria-invalid[\s/>]`).MatchString(r.Body) {
		t.Errorf("the field with an error is not marked aria-invalid=\"true\":\n%s", excerpt(r.Body))
	}
	r = c.Post(path+"/actions/scale", url.Values{"f.replicas": {"3"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("scale: %d\n%s", r.Status, excerpt(r.Body))
	}
	expect(t, c.Follow(r), 200, "Scale requested")
	if s, _ := env.Docker.Service(id); s.Spec.Mode.Replicated == nil || *s.Spec.Mode.Replicated.Replicas != 3 {
		t.Errorf("replicas on the platform = %+v", s.Spec.Mode)
	}

	// Stop is dangerous: first a confirmation page, nothing done.
	r = c.Post(path+"/actions/stop", nil)
	expect(t, r, 200, "Stop api?", "Yes, Stop", `name="confirm" value="yes"`, "The service is currently <span class=\"badge st-")
	if strings.Contains(r.Body, "@statusBadge") {
		t.Errorf("the confirmation page shows template source:\n%s", excerpt(r.Body))
	}
	if s, _ := env.Docker.Service(id); *s.Spec.Mode.Replicated.Replicas != 3 {
		t.Fatal("stop ran without confirmation")
	}
	r = c.Post(path+"/actions/stop", url.Values{"confirm": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", r.Status, excerpt(r.Body))
	}
	if s, _ := env.Docker.Service(id); *s.Spec.Mode.Replicated.Replicas != 0 {
		t.Error("stop did not scale to 0")
	}
	expect(t, c.Post(path+"/actions/nope", nil), 404, "unknown action")

	r = c.Post(path+"/delete", nil)
	expect(t, r, 200, "Delete api?")
	r = c.Post(path+"/delete", url.Values{"confirm": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", r.Status, excerpt(r.Body))
	}
	// The message names the service, not its platform id.
	expect(t, c.Follow(r), 200, "Deletion of api requested.")
	if _, ok := env.Docker.Service(id); ok {
		t.Error("service still on the platform")
	}
	expect(t, c.Get(path), 404, "Not found")
}

func TestEditPreviewAndConflict(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "editme")
	waitSettled(t, env, id)
	path := "/services/swarm/" + id

	r := c.Get(path + "/edit")
	expect(t, r, 200, `value="editme"`, `value="nginx:1.27"`, "Review changes")
	form := webtest.FormValues(r.Body, path+"/edit")
	if form.Get("version") == "" {
		t.Fatal("the edit form does not carry the service version")
	}

	// Submitting the form unchanged changes nothing.
	expect(t, c.Post(path+"/edit", form), 200, "Nothing would change")

	form.Set("f.image", "nginx:1.28")
	r = c.Post(path+"/edit", form)
	expect(t, r, 200, "Review changes to editme", "1 field will change", `<span title="/image">Image</span>`, "nginx:1.28", "Apply changes")
	if table, _, _ := strings.Cut(r.Body[strings.Index(r.Body, `<table class="diff">`):], "</table>"); strings.Contains(table, "&#34;nginx:1.28&#34;") || strings.Contains(table, `"nginx:1.28"`) {
		t.Error("the review shows the new image as a JSON string, quotes and all")
	}
	apply := webtest.FormValues(r.Body, path+"/update")

	// Someone else changes the service meanwhile.
	if _, err := env.Host.PatchService(context.Background(), webtest.Admin, "swarm", id, json.RawMessage(`{"replicas":2}`), ""); err != nil {
		t.Fatal(err)
	}
	r = c.Post(path+"/update", apply)
	expect(t, r, 409, "changed meanwhile", "Reload the form")
	if s, _ := env.Docker.Service(id); !strings.HasPrefix(s.Spec.TaskTemplate.ContainerSpec.Image, "nginx:1.27") {
		t.Errorf("the stale edit was applied: image %s", s.Spec.TaskTemplate.ContainerSpec.Image)
	}

	// Starting again from the latest version works.
	r = c.Get(path + "/edit")
	form = webtest.FormValues(r.Body, path+"/edit")
	if form.Get("f.replicas") != "2" {
		t.Errorf("the reloaded form shows replicas %q, want the other change (2)", form.Get("f.replicas"))
	}
	form.Set("f.image", "nginx:1.28")
	form.Set("f.env.k", "MODE")
	form.Set("f.env.v", "blue")
	r = c.Post(path+"/edit", form)
	expect(t, r, 200, "2 fields will change", "Environment › MODE", ">blue<")
	r = c.Post(path+"/update", webtest.FormValues(r.Body, path+"/update"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", r.Status, excerpt(r.Body))
	}
	s, _ := env.Docker.Service(id)
	if !strings.HasPrefix(s.Spec.TaskTemplate.ContainerSpec.Image, "nginx:1.28") || *s.Spec.Mode.Replicated.Replicas != 2 {
		t.Errorf("after update: image %s replicas %d", s.Spec.TaskTemplate.ContainerSpec.Image, *s.Spec.Mode.Replicated.Replicas)
	}
}

func TestLogsPageSocketAndDownload(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "talker")
	waitSettled(t, env, id)
	path := "/services/swarm/" + id
	expect(t, c.Get(path+"/logs"), 200, "Logs of talker", `data-ws="/services/swarm/`+id+`/logs/ws"`, "Download")

	waitLogLines(t, env, id, 2)
	r := c.Get(path + "/logs/download?tail=100")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("download: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") || strings.Count(r.Body, "\n") < 2 {
		t.Errorf("download: %q\n%s", r.Header.Get("Content-Disposition"), r.Body)
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.URL, "http")+path+"/logs/ws?tail=5", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	lines, last := 0, ""
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for lines < 12 {
		var m struct {
			Items []struct {
				T, M string
			} `json:"items"`
			End string `json:"end"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("after %d lines: %v", lines, err)
		}
		if m.End != "" {
			t.Fatalf("stream ended: %s", m.End)
		}
		for _, it := range m.Items {
			if it.M != "" {
				lines++
				last = it.T
			}
		}
	}
	// Reconnecting with the last time resumes after it.
	ws2, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.URL, "http")+path+"/logs/ws?since="+url.QueryEscape(last), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	ws2.SetReadDeadline(time.Now().Add(15 * time.Second))
	var m struct {
		Items []struct{ T, M string } `json:"items"`
	}
	if err := ws2.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	lastT, _ := time.Parse(time.RFC3339Nano, last)
	for _, it := range m.Items {
		if ts, err := time.Parse(time.RFC3339Nano, it.T); err == nil && ts.Before(lastT) {
			t.Errorf("resumed stream repeats an older line %s < %s", it.T, last)
		}
	}
}

func TestAuditPageFiltersAndExport(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	createService(t, env, "audited")
	c.Get("/services") // for the CSRF token
	c.Post("/services/new", url.Values{"connection": {"swarm"}, "f.name": {"bad name!"}, "f.image": {"x"}})
	r := c.Get("/audit")
	expect(t, r, 200, "Audit log", "create", "audited", "test-setup", "out-ok", "Export CSV")
	r = c.Get("/audit?outcome=ok&actor=test-setup")
	expect(t, r, 200, "audited")
	r = c.Get("/audit?actor=nobody")
	expect(t, r, 200, "No entries match")
	r = c.Get("/audit?since=yesterday")
	expect(t, r, 200, "From: use a date")

	r = c.Get("/audit/export?format=csv&actor=test-setup")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Body, "audited") {
		t.Fatalf("csv: %d %s\n%s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	r = c.Get("/audit/export?format=jsonl")
	lines := strings.Split(strings.TrimSpace(r.Body), "\n")
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("jsonl line %q: %v", l, err)
		}
	}
	expect(t, c.Get("/audit/export?format=xml"), 400)
}

func TestPluginsAndConnections(t *testing.T) {
	env, c := newEnv(t, webtest.Options{HealthInterval: time.Hour})
	// The host checks each connection at start: the health column says so.
	var r webtest.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r = c.Get("/plugins")
		if strings.Contains(r.Body, "ms · checked") || time.Now().After(deadline) {
			break
		}
	}
	expect(t, r, 200, "<th scope=\"col\">Health</th>", `<span class="badge st-running">ok</span>`, "ms · checked")
	expect(t, r, 200, "<h1>Plugins & connections</h1>", "swarm", "Docker", "ABI 1.", "Operations:", "Actions:", "May reach",
		">New Docker Swarm connection</a>")
	for _, bad := range []string{">Add a ", "@timeAgo"} {
		if strings.Contains(r.Body, bad) {
			t.Errorf("the plugins page shows %q", bad)
		}
	}
	if r := c.Get("/plugins/docker"); strings.Contains(r.Body, "@timeAgo") {
		t.Error("the plugin page shows template source")
	}
	expect(t, c.Get("/plugins/docker"), 200, "Connection settings", "Service spec", "SHA-256", "Signed by", "not trusted: signatures are not checked (policy off)")
	expect(t, c.Get("/plugins/nope"), 404)

	r = c.Get("/connections/new?plugin=docker")
	expect(t, r, 200, `id="conn-name"`, `id="fld-host"`)
	r = c.Post("/connections/new", url.Values{"plugin": {"docker"}, "name": {""}, "f.host": {"not a url"}})
	expect(t, r, 400)
	if webtest.FieldError(r.Body, "name") == "" {
		t.Error("no error at the connection name")
	}
	// The platform refuses a field (a taken name is refused by the host at
	// /name, a bad endpoint at /config/host): named by its label, at it.
	r = c.Post("/connections/new", url.Values{"plugin": {"docker"}, "name": {"swarm"}, "f.host": {env.DockerURL}})
	expect(t, r, 409)
	if webtest.FieldError(r.Body, "name") == "" {
		t.Errorf("the taken name is not marked at the name field:\n%s", excerpt(r.Body))
	}
	r = c.Post("/connections/new", url.Values{"plugin": {"docker"}, "name": {"second"}, "f.host": {env.DockerURL}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create connection: %d\n%s", r.Status, excerpt(r.Body))
	}
	expect(t, c.Follow(r), 200, "Connection second added", `data-connection="second"`)

	r = c.Post("/connections/second/test", nil)
	expect(t, c.Follow(r), 200, "Connection second works")
	// The result stays on the page, not only in the flash.
	expect(t, c.Get("/plugins"), 200, "ms · tested")

	r = c.Get("/connections/second/edit")
	expect(t, r, 200, "Edit connection second", env.DockerURL)
	version := regexp.MustCompile(`name="version" value="([^"]*)"`).FindStringSubmatch(r.Body)[1]
	r = c.Post("/connections/second/edit", url.Values{"f.host": {"http://127.0.0.1:9"}, "version": {version}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("edit connection: %d\n%s", r.Status, excerpt(r.Body))
	}
	r = c.Post("/connections/second/test", nil)
	expect(t, c.Follow(r), 200, "failed its test")
	expect(t, c.Get("/plugins"), 200, `<span class="badge st-failed">down</span>`, "data-health-error")
	// A stale version is a conflict, not an overwrite.
	r = c.Post("/connections/second/edit", url.Values{"f.host": {env.DockerURL}, "version": {version}})
	expect(t, r, 409, "Someone changed this connection")

	expect(t, c.Post("/connections/second/delete", nil), 200, "Delete connection second?")
	r = c.Post("/connections/second/delete", url.Values{"confirm": {"yes"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("delete connection: %d", r.Status)
	}
	if _, err := env.Host.GetConnection(context.Background(), webtest.Admin, "second"); err == nil {
		t.Error("connection still there")
	}
}

func TestCSRFIsRequired(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "guarded")
	c.Get("/services")
	r := c.Post("/services/swarm/"+id+"/delete", url.Values{"confirm": {"yes"}, "_csrf": {"forged"}})
	expect(t, r, 403, "Form expired")
	if _, ok := env.Docker.Service(id); !ok {
		t.Fatal("a forged POST deleted the service")
	}
}

func TestSignInWithTokens(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret-s3cret-s3cret"
	tok := ops.Token{Name: "ops-team", SHA256: ops.HashToken(secret), Role: ops.RoleViewer}
	env, c := newEnv(t, webtest.Options{Tokens: []ops.Token{tok}})
	createService(t, env, "private")
	r := c.Get("/services")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Fatalf("unauthenticated: %d %s", r.Status, r.Header.Get("Location"))
	}
	r = c.Get("/signin?next=/services")
	expect(t, r, 200, "API token")
	r = c.Post("/signin", url.Values{"token": {"wrong"}, "next": {"/services"}})
	expect(t, r, 401, "not accepted")
	r = c.Post("/signin", url.Values{"token": {secret}, "next": {"/services"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("signin: %d\n%s", r.Status, excerpt(r.Body))
	}
	sawSession := false
	for _, ck := range r.Header.Values("Set-Cookie") {
		if strings.Contains(ck, secret) {
			t.Errorf("a cookie carries the token itself: %s", ck)
		}
		if strings.HasPrefix(ck, "wharf_session=") {
			sawSession = true
			if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
				t.Errorf("session cookie not HttpOnly and SameSite=Lax: %s", ck)
			}
		}
	}
	if !sawSession {
		t.Errorf("no session cookie set: %v", r.Header.Values("Set-Cookie"))
	}
	r = c.Follow(r)
	expect(t, r, 200, "private", "ops-team", "viewer")
	if strings.Contains(r.Body, "New service") {
		t.Error("a viewer is offered to create services")
	}
	// A viewer cannot change anything, even by posting directly.
	id := regexp.MustCompile(`/services/swarm/([^"/]+)"`).FindStringSubmatch(r.Body)[1]
	r = c.Post("/services/swarm/"+id+"/delete", url.Values{"confirm": {"yes"}})
	expect(t, r, 403)
}

// A second platform gets its forms from its own schema, with no code here.
func TestSecondPlatformGetsFormsForFree(t *testing.T) {
	_, c := newEnv(t, webtest.Options{Peak: true})
	r := c.Get("/services/new")
	expect(t, r, 200, "Where should the service run?", "/services/new?connection=peak", "/services/new?connection=swarm")
	r = c.Get("/services/new?connection=peak")
	expect(t, r, 200, `id="fld-imageId"`, `id="fld-instanceTypeId"`)
	r = c.Post("/services/new", url.Values{"connection": {"peak"}, "f.name": {"x"}, "f.imageId": {"abc"}})
	expect(t, r, 400)
	if webtest.FieldError(r.Body, "imageId") == "" {
		t.Errorf("no error at imageId:\n%s", excerpt(r.Body))
	}
	expect(t, c.Get("/services"), 200, "Services")
}

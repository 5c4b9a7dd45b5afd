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

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// specOf reads a service's spec from the platform, through the facade.
func specOf(t *testing.T, env *webtest.Env, conn, id string) map[string]any {
	t.Helper()
	s, err := env.Host.GetService(context.Background(), webtest.Admin, conn, id)
	if err != nil {
		t.Fatalf("get %s/%s: %v", conn, id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(s.Spec, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Docker: nested objects are groups of sub-fields, ports are rows; errors
// sit at the sub-field their JSON pointer names; the edit form is filled
// from the spec the same way and the preview shows nested changes.
func TestNestedFormsDocker(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	r := c.Get("/services/new")
	expect(t, r, 200, `<fieldset class="field group" data-field="update_config"`, `name="f.update_config/parallelism"`,
		`name="f.restart_policy/condition"`, `<fieldset class="field rows" data-field="ports"`, `name="f.ports/0/published"`)

	bad := url.Values{"connection": {"swarm"}, "f.name": {"shop"}, "f.image": {"nginx:1.27"},
		"f.update_config/parallelism": {"-1"}, "f.resources/cpu_limit": {"lots"},
		"f.ports/0/target": {"80"}, "f.ports/1/protocol": {"udp"}}
	// The form's own check (not a number) comes first...
	r = c.Post("/services/new", bad)
	expect(t, r, 400, `<details class="form-section" data-section="Resources" open>`, `value="lots"`)
	if msg := webtest.FieldError(r.Body, "resources/cpu_limit"); !strings.Contains(msg, "number") {
		t.Errorf("cpu_limit error = %q", msg)
	}
	// ...then the schema's, each at its sub-field.
	bad.Set("f.resources/cpu_limit", "0.5")
	r = c.Post("/services/new", bad)
	expect(t, r, 400, `<details class="form-section" data-section="Update policy" open>`)
	if msg := webtest.FieldError(r.Body, "update_config/parallelism"); msg == "" || strings.Contains(msg, "(at") {
		t.Errorf("parallelism error = %q", msg)
	}
	if msg := webtest.FieldError(r.Body, "ports/1/target"); !strings.Contains(msg, "required") {
		t.Errorf("ports/1/target error = %q\n%s", msg, excerpt(r.Body))
	}
	for _, ok := range []string{"ports/0/target", "resources/cpu_limit", "name"} {
		if msg := webtest.FieldError(r.Body, ok); msg != "" {
			t.Errorf("error at the valid field %s: %q", ok, msg)
		}
	}
	// What was typed is drawn back at its place.
	form := webtest.FormValues(r.Body, "/services/new")
	if form.Get("f.ports/0/target") != "80" || form.Get("f.ports/1/protocol") != "udp" || form.Get("f.update_config/parallelism") != "-1" {
		t.Errorf("the form lost values: %v", form)
	}

	form.Set("f.update_config/parallelism", "2")
	form.Set("f.ports/1/target", "443")
	form.Set("f.ports/1/published", "8443")
	form.Set("f.restart_policy/condition", "on-failure")
	r = c.Post("/services/new", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.Status, excerpt(r.Body))
	}
	id := strings.TrimPrefix(r.Header.Get("Location"), "/services/swarm/")
	spec := specOf(t, env, "swarm", id)
	if got := jsonOf(spec["ports"]); !strings.Contains(got, `"target":80`) || !strings.Contains(got, `"published":8443`) || !strings.Contains(got, `"protocol":"udp"`) {
		t.Errorf("ports on the platform: %s", got)
	}
	if got := jsonOf(spec["update_config"]); !strings.Contains(got, `"parallelism":2`) {
		t.Errorf("update_config on the platform: %s", got)
	}
	if got := jsonOf(spec["resources"]); !strings.Contains(got, `"cpu_limit":0.5`) {
		t.Errorf("resources on the platform: %s", got)
	}

	// Edit: the form is filled from the spec, sub-fields and rows alike.
	waitSettled(t, env, id)
	path := "/services/swarm/" + id
	r = c.Get(path + "/edit")
	// Sections holding values open; those holding none stay shut.
	expect(t, r, 200, `<details class="form-section" data-section="Resources" open>`, `<details class="form-section" data-section="Update policy" open>`,
		`<details class="form-section" data-section="Logging">`)
	edit := webtest.FormValues(r.Body, path+"/edit")
	for k, want := range map[string]string{"f.ports/0/target": "80", "f.ports/1/target": "443", "f.ports/1/protocol": "udp",
		"f.update_config/parallelism": "2", "f.resources/cpu_limit": "0.5", "f.restart_policy/condition": "on-failure", "f.ports/2/target": ""} {
		if got := edit.Get(k); got != want {
			t.Errorf("edit form %s = %q, want %q", k, got, want)
		}
	}
	expect(t, c.Post(path+"/edit", edit), 200, "Nothing would change")

	// Remove the first port (the script drops its inputs), add one, change a sub-field.
	for _, k := range []string{"target", "published", "protocol", "mode"} {
		edit.Del("f.ports/0/" + k)
	}
	edit.Set("f.ports/7/target", "9090")
	edit.Set("f.update_config/parallelism", "3")
	r = c.Post(path+"/edit", edit)
	expect(t, r, 200, "Review changes", "/update_config/parallelism", "/ports")
	r = c.Post(path+"/update", webtest.FormValues(r.Body, path+"/update"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", r.Status, excerpt(r.Body))
	}
	spec = specOf(t, env, "swarm", id)
	ports, _ := spec["ports"].([]any)
	if got := jsonOf(ports); len(ports) != 2 || strings.Contains(got, `"target":80,`) || !strings.Contains(got, `"target":9090`) {
		t.Errorf("ports after the edit: %s", got)
	}
	if got := jsonOf(spec["update_config"]); !strings.Contains(got, `"parallelism":3`) {
		t.Errorf("update_config after the edit: %s", got)
	}
}

var fastECS = ecsemu.Options{TaskStart: 30 * time.Millisecond, DrainTime: 100 * time.Millisecond, LogInterval: 50 * time.Millisecond}

// ECS: a group inside a group (deployment_configuration/circuit_breaker),
// lists of strings inside a group, load balancer rows.
func TestNestedFormsECS(t *testing.T) {
	env, c := newEnv(t, webtest.Options{ECS: true, ECSOptions: fastECS})
	r := c.Get("/services/new?connection=ecs")
	expect(t, r, 200, `data-field="deployment_configuration/circuit_breaker"`, `name="f.deployment_configuration/circuit_breaker/enable"`,
		`name="f.network_configuration/subnets"`, `name="f.load_balancers/0/container_port"`)

	form := url.Values{"connection": {"ecs"}, "f.service_name": {"shop"}, "f.task_definition": {"web:1"}, "f.launch_type": {"FARGATE"},
		"f.network_configuration/subnets": {"subnet-0a1b2c3d\nsubnet-0e0f"}, "f.network_configuration/assign_public_ip": {"true"},
		"f.deployment_configuration/maximum_percent": {"50"}, "f.deployment_configuration/circuit_breaker/enable": {"true"},
		"f.load_balancers/0/target_group_arn": {"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"},
		"f.load_balancers/0/container_name":   {"web"}}
	r = c.Post("/services/new", form)
	expect(t, r, 400)
	if msg := webtest.FieldError(r.Body, "deployment_configuration/maximum_percent"); msg == "" {
		t.Errorf("no error at maximum_percent:\n%s", excerpt(r.Body))
	}
	if msg := webtest.FieldError(r.Body, "load_balancers/0/container_port"); !strings.Contains(msg, "required") {
		t.Errorf("container_port error = %q", msg)
	}
	form.Set("f.deployment_configuration/maximum_percent", "200")
	form.Set("f.load_balancers/0/container_port", "80")
	r = c.Post("/services/new", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.Status, excerpt(r.Body))
	}
	id := strings.TrimPrefix(r.Header.Get("Location"), "/services/ecs/")
	id, _ = url.PathUnescape(id)
	spec := specOf(t, env, "ecs", id)
	for k, want := range map[string]string{
		"network_configuration":    `"subnets":["subnet-0a1b2c3d","subnet-0e0f"]`,
		"deployment_configuration": `"circuit_breaker":{"enable":true`,
		"load_balancers":           `"container_port":80`,
	} {
		if got := jsonOf(spec[k]); !strings.Contains(got, want) {
			t.Errorf("%s on the platform: %s (want %s)", k, got, want)
		}
	}
	r = c.Get("/services/ecs/" + url.PathEscape(id) + "/edit")
	edit := webtest.FormValues(r.Body, "/services/ecs/"+url.PathEscape(id)+"/edit")
	if edit.Get("f.deployment_configuration/circuit_breaker/enable") != "true" || edit.Get("f.load_balancers/0/container_name") != "web" ||
		edit.Get("f.network_configuration/subnets") != "subnet-0a1b2c3d\nsubnet-0e0f" {
		t.Errorf("edit form not filled from the spec: %v", edit)
	}
}

// ECS deployment history: pages and a status filter.
func TestDeploymentHistoryPagingAndFilter(t *testing.T) {
	env := webtest.New(t, webtest.Options{Docker: fastDocker, ECS: true, ECSOptions: fastECS,
		Faces: []server.Face{web.Face(web.Options{DeploymentsPageSize: 2})}})
	c := webtest.NewClient(t, env.URL)
	ctx := context.Background()
	res, err := env.Host.CreateService(ctx, webtest.Admin, "ecs", json.RawMessage(`{"service_name":"hist","task_definition":"web:1","desired_count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Service.ID
	for _, td := range []string{"web:2", "web:1"} {
		time.Sleep(100 * time.Millisecond) // distinct creation times, the previous rollout done
		if _, err := env.Host.PatchService(ctx, webtest.Admin, "ecs", id, json.RawMessage(`{"task_definition":"`+td+`"}`), ""); err != nil {
			t.Fatal(err)
		}
	}
	all, err := env.Host.ListDeployments(ctx, webtest.Admin, "ecs", id, opsDeployments(10))
	if err != nil || len(all.Deployments) != 3 {
		t.Fatalf("deployments on the platform: %+v, %v", all, err)
	}
	path := "/services/ecs/" + url.PathEscape(id)
	rowRE := regexp.MustCompile(`<tr data-deployment="([^"]+)"`)
	r := c.Get(path)
	expect(t, r, 200, `id="deployments"`, `rel="next"`)
	first := rowRE.FindAllStringSubmatch(r.Body, -1)
	if len(first) != 2 || first[0][1] != all.Deployments[0].ID {
		t.Fatalf("first page rows %v, want the newest two of %v", first, all.Deployments)
	}
	next := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(r.Body)[1]
	r = c.Get(htmlUnescape(next))
	expect(t, r, 200, `rel="first"`)
	second := rowRE.FindAllStringSubmatch(r.Body, -1)
	if len(second) != 1 || second[0][1] != all.Deployments[2].ID {
		t.Errorf("second page rows %v", second)
	}
	if strings.Contains(r.Body, `rel="next"`) {
		t.Error("the last page links to a next one")
	}

	// Filter by a status the history has: only those rows, and the filter is kept.
	st := all.Deployments[2].Status
	want := 0
	for _, d := range all.Deployments {
		if d.Status == st {
			want++
		}
	}
	r = c.Get(path + "?deploy_status=" + st)
	expect(t, r, 200, `value="`+st+`"`, "Clear")
	if got := len(rowRE.FindAllStringSubmatch(r.Body, -1)); got != min(want, 2) {
		t.Errorf("filter %s shows %d rows, want %d", st, got, min(want, 2))
	}
	r = c.Get(path + "?deploy_status=ROLLBACK_FAILED")
	expect(t, r, 200, "No deployments with status ROLLBACK_FAILED")
	// A status the platform does not know is explained in the section; the rest of the page works.
	r = c.Get(path + "?deploy_status=bogus")
	expect(t, r, 200, "bogus", "SUCCESSFUL", "status-panel")

	// Docker offers no deployments: no section.
	did := createService(t, env, "nohist")
	r = c.Get("/services/swarm/" + did)
	expect(t, r, 200)
	if strings.Contains(r.Body, `id="deployments"`) {
		t.Error("a deployments section for a plugin without deployments")
	}
}

// Peak api services can be invoked from the portal; audited; plugins
// without invoke have no link and no page.
func TestInvokePage(t *testing.T) {
	env, c := newEnv(t, webtest.Options{Peak: true,
		PeakOptions: peakemu.Options{Creating: 30 * time.Millisecond, Deploying: 30 * time.Millisecond, Deleting: 30 * time.Millisecond}})
	ctx := context.Background()
	res, err := env.Host.CreateService(ctx, webtest.Admin, "peak",
		json.RawMessage(`{"name":"scorer","serviceType":"api","imageId":101,"versionId":1,"instanceTypeId":21}`))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Service.ID
	path := "/services/peak/" + url.PathEscape(id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := env.Host.GetService(ctx, webtest.Admin, "peak", id)
		if err == nil && s.Status.Settled() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the peak service did not settle")
		}
		time.Sleep(30 * time.Millisecond)
	}

	r := c.Get(path)
	expect(t, r, 200, `href="`+path+`/invoke"`)
	r = c.Get(path + "/invoke")
	expect(t, r, 200, "Invoke scorer", `<select id="fld-method"`, `id="fld-body"`, "Send request")
	form := webtest.FormValues(r.Body, path+"/invoke")
	form.Set("f.method", "POST")
	form.Set("f.path", "/predict")
	form.Set("f.body", `{"rows":[1,2]}`)
	r = c.Post(path+"/invoke", form)
	expect(t, r, 200, `data-status-code="200"`, "Response", "&#34;path&#34;: &#34;/predict&#34;", "&#34;rows&#34;")
	// Pretty JSON: the service's answer is indented.
	if !regexp.MustCompile(`(?s)<pre class="json response-body">\{\n  `).MatchString(r.Body) {
		t.Errorf("the JSON answer is not pretty-printed:\n%s", excerpt(r.Body))
	}
	// What was sent stays in the form.
	again := webtest.FormValues(r.Body, path+"/invoke")
	if again.Get("f.method") != "POST" || again.Get("f.path") != "/predict" || again.Get("f.body") != `{"rows":[1,2]}` {
		t.Errorf("the form lost the request: %v", again)
	}

	// Peak cannot send headers: the refusal is at the headers field.
	form.Set("f.headers.k", "X-Trace")
	form.Set("f.headers.v", "1")
	r = c.Post(path+"/invoke", form)
	expect(t, r, 400)
	if msg := webtest.FieldError(r.Body, "headers"); !strings.Contains(msg, "headers") {
		t.Errorf("headers error = %q\n%s", msg, excerpt(r.Body))
	}

	entries, err := env.Host.QueryAudit(ctx, webtest.Admin, audit.Filter{Operation: "service.invoke"})
	if err != nil || len(entries) != 2 {
		t.Fatalf("invoke audit entries: %d, %v", len(entries), err)
	}

	// Docker offers no invoke.
	did := createService(t, env, "plain")
	r = c.Get("/services/swarm/" + did)
	expect(t, r, 200)
	if strings.Contains(r.Body, "/invoke") {
		t.Error("an Invoke link for a plugin without invoke")
	}
	expect(t, c.Get("/services/swarm/"+did+"/invoke"), 501, "cannot be invoked")
}

// A plugin's own internal failure shows its message; the host's stay hidden.
func TestPluginInternalErrorShown(t *testing.T) {
	_, c := newEnv(t, webtest.Options{ExtraPlugins: []string{"./internal/testplugins/panics"}})
	r := c.Get("/services/panics/anything")
	expect(t, r, 500, "The panics plugin failed", "deliberate panic in get")
	if strings.Contains(r.Body, "Something went wrong on our side") {
		t.Error("the generic message replaced the plugin's")
	}
}

func opsDeployments(n int) ops.DeploymentsOptions { return ops.DeploymentsOptions{PageSize: n} }

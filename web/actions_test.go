package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// offered reports whether the detail page offers an action's button.
func offered(body, action string) bool {
	return strings.Contains(body, `data-action="`+action+`"`)
}

func wantOffered(t *testing.T, body, what string, yes, no []string) {
	t.Helper()
	for _, a := range yes {
		if !offered(body, a) {
			t.Errorf("%s: %s is not offered:\n%s", what, a, excerpt(body))
		}
	}
	for _, a := range no {
		if offered(body, a) {
			t.Errorf("%s: %s is offered:\n%s", what, a, excerpt(body))
		}
	}
}

// The detail page offers the actions that fit the service's state (the
// docker plugin's actions_available), the API refuses the others, a
// scale to 0 is confirmed like a stop, and the plugin's bookkeeping label
// is not shown while start still finds it.
func TestActionsFitTheState(t *testing.T) {
	// The REST API beside the portal, as cmd/host mounts them.
	env := webtest.New(t, webtest.Options{Docker: fastDocker,
		Faces: []server.Face{api.Face(api.Options{}), web.Face(web.Options{})}})
	c := webtest.NewClient(t, env.URL)
	id := createService(t, env, "api")
	path := "/services/swarm/" + id
	waitSettled(t, env, id)

	r := c.Get(path)
	expect(t, r, 200, "<h1>api</h1>")
	wantOffered(t, r.Body, "running, never changed", []string{"stop", "restart", "scale"}, []string{"start", "rollback"})

	// The API refuses a start on a running service, naming its state.
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/v1/connections/swarm/services/"+id+"/actions/start", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var apiErr struct{ Error pluginapi.Error }
	_ = json.Unmarshal(body, &apiErr)
	if resp.StatusCode != http.StatusConflict || apiErr.Error.Code != pluginapi.CodeConflict ||
		!strings.Contains(apiErr.Error.Message, "service api is running: start does not apply") {
		t.Fatalf("API start on a running service: %d %s", resp.StatusCode, body)
	}
	// So does the portal, to a form posted anyway.
	expect(t, c.Post(path+"/actions/start", url.Values{"confirm": {"yes"}}), 409, "start does not apply")

	// Scale to 3, then to 0: 0 asks first, as a stop does.
	if r = c.Post(path+"/actions/scale", url.Values{"f.replicas": {"3"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("scale to 3: %d\n%s", r.Status, excerpt(r.Body))
	}
	r = c.Post(path+"/actions/scale", url.Values{"f.replicas": {"0"}})
	expect(t, r, 200, "Scale api?", `name="confirm" value="yes"`, "Scaling to 0 replicas stops every instance")
	if s, _ := env.Docker.Service(id); *s.Spec.Mode.Replicated.Replicas != 3 {
		t.Fatal("scale to 0 ran without confirmation")
	}
	form := webtest.FormValues(r.Body, path+"/actions/scale")
	if form.Get("f.replicas") != "0" || form.Get("confirm") != "yes" {
		t.Fatalf("the confirmation form does not carry the 0: %v", form)
	}
	if r = c.Post(path+"/actions/scale", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed scale to 0: %d\n%s", r.Status, excerpt(r.Body))
	}
	if s, _ := env.Docker.Service(id); *s.Spec.Mode.Replicated.Replicas != 0 {
		t.Fatal("the confirmed scale to 0 did not run")
	}
	if r = c.Post(path+"/actions/scale", url.Values{"f.replicas": {"3"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("scale a stopped service to 3 (no confirmation): %d\n%s", r.Status, excerpt(r.Body))
	}
	waitSettled(t, env, id)

	// Stop: the page then offers start, not stop, and hides the label the
	// plugin keeps the replica count in.
	if r = c.Post(path+"/actions/stop", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", r.Status, excerpt(r.Body))
	}
	waitSettled(t, env, id)
	r = c.Get(path)
	expect(t, r, 200, "stopped (will start 3 replicas)")
	wantOffered(t, r.Body, "stopped", []string{"start", "scale", "rollback"}, []string{"stop", "restart"})
	if strings.Contains(r.Body, `<span class="tag">wharf.previous-replicas`) {
		t.Errorf("the label wharf.previous-replicas is shown among the labels:\n%s", excerpt(r.Body))
	}
	if s, _ := env.Docker.Service(id); s.Spec.Labels["wharf.previous-replicas"] != "3" {
		t.Fatalf("the platform lost the remembered replicas: %v", s.Spec.Labels)
	}
	if r = c.Post(path+"/actions/start", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", r.Status, excerpt(r.Body))
	}
	if s, _ := env.Docker.Service(id); *s.Spec.Mode.Replicated.Replicas != 3 {
		t.Errorf("start brought back %d replicas, want 3", *s.Spec.Mode.Replicated.Replicas)
	}

	// A global service has no replicas to scale, start or stop.
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm", json.RawMessage(`{"name":"agent","image":"nginx:1.27","mode":"global"}`))
	if err != nil {
		t.Fatal(err)
	}
	r = c.Get("/services/swarm/" + res.Service.ID)
	expect(t, r, 200, "<h1>agent</h1>")
	wantOffered(t, r.Body, "global", []string{"restart"}, []string{"scale", "start", "stop"})
}

// Open mode is a banner on every page, with a way to end it; a host with
// tokens shows none. The favicon is served as SVG and linked.
func TestOpenModeBannerAndFavicon(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	id := createService(t, env, "api")
	for _, p := range []string{"/services", "/services/swarm/" + id, "/audit", "/plugins"} {
		r := c.Get(p)
		expect(t, r, 200, `role="alert" id="open-mode"`, "Open mode: anyone who can reach this page is an administrator.",
			`href="https://github.com/wharfhq/wharf#identity-and-access"`, `rel="icon" type="image/svg+xml" href="/static/favicon.svg"`)
	}
	r := c.Get("/static/favicon.svg")
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(r.Body, "<svg ") {
		t.Fatalf("favicon: %d %q %.40s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}

	const secret = "s3cret-s3cret-s3cret-s3cret-s3cret"
	tok := ops.Token{Name: "ops-team", SHA256: ops.HashToken(secret), Role: ops.RoleAdmin}
	_, c2 := newEnv(t, webtest.Options{Tokens: []ops.Token{tok}})
	expect(t, c2.Get("/signin"), 200)
	if r = c2.Post("/signin", url.Values{"token": {secret}, "next": {"/services"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("signin: %d", r.Status)
	}
	r = c2.Follow(r)
	expect(t, r, 200, "ops-team", `rel="icon"`)
	if strings.Contains(r.Body, "open-mode") || strings.Contains(r.Body, "Open mode") {
		t.Errorf("a host with tokens shows the open-mode banner:\n%s", r.Body)
	}
}

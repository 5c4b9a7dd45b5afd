package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// scaleOnPlatform changes a service on the Docker emulator directly, as
// someone else would, so that nothing tells the host's listings about it.
func scaleOnPlatform(t *testing.T, env *webtest.Env, name string, replicas uint64) {
	t.Helper()
	svc, ok := env.Docker.Service(name)
	if !ok {
		t.Fatalf("%s is not on the platform", name)
	}
	spec := svc.Spec
	spec.Mode.Replicated.Replicas = &replicas
	body, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	u := env.DockerURL + "/services/" + svc.ID + "/update?version=" + strconv.FormatUint(svc.Version.Index, 10)
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update on the platform: %s", resp.Status)
	}
}

// TestBrowserServicesListLiveAndAccessible signs in, sorts the services
// list by a header, watches a status change made on the platform arrive
// without a reload, saves the list's screenshots, and runs axe-core on
// every main page in light, dark and at a phone's width: any violation
// fails the test.
func TestBrowserServicesListLiveAndAccessible(t *testing.T) {
	ctx := browser(t)
	axe := axeScript(t)
	const secret = "list-test-owner-token-list-test-owner-token"
	env := webtest.New(t, webtest.Options{
		Docker:         dockeremu.Options{StartDelay: 150 * time.Millisecond, LogEvery: 200 * time.Millisecond},
		Peak:           true,
		PeakOptions:    peakemu.Options{Creating: 30 * time.Millisecond, Deploying: 30 * time.Millisecond, Deleting: 30 * time.Millisecond},
		DownConnection: true,
		Tokens:         []ops.Token{{Name: "root", SHA256: ops.HashToken(secret), Role: ops.RoleOwner}},
		Faces:          []server.Face{web.Face(web.Options{})},
	})
	dir := filepath.Join(wasmbuild.ModuleRoot(t), "test-artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := shooter{t: t, ctx: ctx, dir: dir}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitJS := func(what, expr string, d time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	bg := context.Background()
	base := env.URL
	var ids = map[string]string{}
	for _, n := range []string{"web", "api", "batch"} {
		ids[n] = createService(t, env, n)
		waitSettled(t, env, ids[n])
	}
	pres, err := env.Host.CreateService(bg, webtest.Admin, "peak",
		json.RawMessage(`{"name":"scorer","serviceType":"api","imageId":101,"versionId":1,"instanceTypeId":21}`))
	if err != nil {
		t.Fatal(err)
	}

	// Sign in (and check the sign-in page first).
	do("sign-in page", chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.CSS("#token")))
	checkAxe(t, ctx, axe, "sign-in")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), secret),
		chromedp.Click(chromedp.CSS(`form[action$="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.services`)))
	if body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(body, "web") {
		t.Fatalf("after signing in: %s", body)
	}

	// The list: the platform's title, the unreachable connection's row,
	// and sorting by a header.
	plat, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-service="scorer"] [data-cell="platform"]`)))
	if plat != "Peak" {
		t.Errorf("scorer's platform = %q", plat)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-connection-down="down"]').length`)); n != 1 {
		t.Errorf("%d rows for the unreachable connection", n)
	}
	do("sort by connection", chromedp.Click(chromedp.CSS(`th[data-sort="connection"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`th[data-sort="connection"][aria-sort="ascending"]`)))
	order, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('tr[data-service]')].map(r => r.dataset.service).join(' ')`))
	if order != "scorer api batch web" {
		t.Errorf("sorted by connection: %s", order)
	}
	do("sort by name again", chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.CSS(`tr[data-service="web"]`)))

	// A change made on the platform shows up without a reload.
	if n, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-summary="swarm"] [data-count="running"]`))); n != "3" {
		t.Fatalf("swarm runs %s services before the change", n)
	}
	do("mark the page", void(chromedp.Evaluate[bool](`window.__same = true; true`)))
	changed := time.Now()
	scaleOnPlatform(t, env, "web", 0)
	waitJS("web turns stopped in place",
		`document.querySelector('tr[data-service="web"]').dataset.status === 'stopped' && window.__same === true`, 20*time.Second)
	t.Logf("a change on the platform showed in the list after %s (poll 3 s, listing cache %s)", time.Since(changed).Round(100*time.Millisecond), ops.ListCacheTTL)
	badge, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-service="web"] .badge`)))
	inst, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-service="web"] [data-cell="instances"]`)))
	if badge != "stopped" || inst != "0 / 0" {
		t.Errorf("web's row after scaling to 0 on the platform: badge %q, instances %q", badge, inst)
	}
	waitJS("the summary counts one running service fewer",
		`document.querySelector('tr[data-summary="swarm"] [data-count="running"]').textContent === '2' && window.__same === true`, 10*time.Second)
	s.shot("services-list-summary")

	// axe finds what it should: an image with no text fails.
	do("plant a violation", void(chromedp.Evaluate[bool](`document.querySelector('main').append(document.createElement('img')); true`)))
	if vs, err := axeRun(ctx, axe); err != nil || len(vs) != 1 || vs[0].ID != "image-alt" {
		t.Fatalf("axe on a page with an image without alt: %+v, %v", vs, err)
	}

	pages := []struct{ name, path, ready string }{
		{"services", "/services", `tr[data-service="web"]`},
		{"services-sorted", "/services?sort=status", `tr[data-service="web"]`},
		{"service-detail", "/services/swarm/" + ids["api"], ".status-panel"},
		{"create-form", "/services/new?connection=swarm", "#fld-name"},
		{"edit-form", "/services/swarm/" + ids["api"] + "/edit", "form"},
		{"logs", "/services/swarm/" + ids["api"] + "/logs", "#log-view"},
		{"invoke", "/services/peak/" + pres.Service.ID + "/invoke", "#fld-body"},
		{"audit", "/audit", "table.audit"},
		{"plugins", "/plugins", `tr[data-connection="swarm"]`},
		{"plugin", "/plugins/docker", "main h1"},
		{"connection-new", "/connections/new?plugin=docker", "main form"},
		{"connection-edit", "/connections/swarm/edit", "main form"},
		{"access", "/access", "main h1"},
		{"account", "/account", "main h1"},
		{"webhooks", "/webhooks", "main h1"},
	}
	modes := []struct {
		name  string
		dark  bool
		width int64
	}{{"light", false, 1280}, {"dark", true, 1280}, {"phone", false, 390}}
	for _, m := range modes {
		do("mode "+m.name, darkMode(m.dark), chromedp.EmulateViewport(m.width, 900))
		for _, p := range pages {
			do(p.name+" ("+m.name+")", chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			checkAxe(t, ctx, axe, p.name+" ("+m.name+")")
			if p.name == "services" {
				switch m.name {
				case "light":
					s.shot("services-list-light")
				case "dark":
					s.shot("services-list-dark")
				case "phone":
					s.shot("services-list-phone")
					if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`)); wide {
						t.Error("the services list scrolls sideways at phone width")
					}
				}
			}
		}
	}
	do("sign out for the last check", darkMode(true), chromedp.EmulateViewport(390, 844),
		chromedp.Click(chromedp.CSS(`form[action$="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	checkAxe(t, ctx, axe, "sign-in (dark, phone)")
	do("back to a light desktop", darkMode(false), chromedp.EmulateViewport(1280, 900))
}

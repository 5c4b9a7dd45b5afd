package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium, or skips (fails when
// WHARF_REQUIRE_CHROMIUM=1) when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			if os.Getenv("WHARF_REQUIRE_CHROMIUM") == "1" {
				t.Fatalf("chromium is required (WHARF_REQUIRE_CHROMIUM=1) but %s is missing", chromiumPath)
			}
			t.Skipf("browser test skipped: no chromium at %s (install the Debian package chromium; set WHARF_REQUIRE_CHROMIUM=1 to make this an error)", chromiumPath)
		}
		path = p
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

type shooter struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// shot saves a full-page screenshot under test-artifacts/screenshots.
func (s shooter) shot(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func darkMode(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v := "light"
		if on {
			v = "dark"
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	})
}

// grantClipboard lets pages of origin read and write the clipboard, as a
// person allowing it would.
func grantClipboard(origin string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			_, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: name == "clipboard-write"},
				Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// TestBrowserJourney drives the portal like a person: create (with a
// rejected field), watch the status settle, follow logs, scale, read the
// audit log, delete. It saves screenshots of the main pages.
func TestBrowserJourney(t *testing.T) {
	ctx := browser(t)
	env := webtest.New(t, webtest.Options{
		Docker: dockeremu.Options{StartDelay: 1500 * time.Millisecond, LogEvery: 150 * time.Millisecond},
		Faces:  []server.Face{web.Face(web.Options{})},
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
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	waitJS := func(what, expr string, d time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	base := env.URL

	// Create, with a field the schema rejects: the error is at the field.
	do("open the create form",
		chromedp.Navigate(base+"/services/new"),
		chromedp.WaitVisible(chromedp.CSS("#fld-name")),
		chromedp.SendKeys(chromedp.CSS("#fld-name"), "bad name!"),
		chromedp.SendKeys(chromedp.CSS("#fld-image"), "nginx:1.27"),
		// The basics come first: env and ports need no unfolding.
		chromedp.WaitVisible(chromedp.CSS(`input[name="f.env.k"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.env.k"]`), "GREETING"),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.env.v"]`), "hello"),
		// Ports are rows: fill one, add a second with no container port.
		chromedp.SendKeys(chromedp.CSS(`input[name="f.ports/0/target"]`), "80"),
		chromedp.Click(chromedp.CSS(`[data-field="ports"] [data-add-item]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="f.ports/1/published"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.ports/1/published"]`), "8443"),
		// Sections are folded until opened.
		chromedp.Click(chromedp.CSS(`details[data-section="Update policy"] > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="f.update_config/parallelism"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.update_config/parallelism"]`), "2"),
		chromedp.Click(chromedp.CSS(`form.spec-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="name"].has-error .field-error`)),
	)
	if msg := text(`[data-field="name"] .field-error`); !strings.Contains(msg, "pattern") && !strings.Contains(msg, "match") {
		t.Errorf("error at the name field = %q", msg)
	}
	if msg := text(`[data-field="ports/1/target"] .field-error`); !strings.Contains(msg, "required") {
		t.Errorf("error at the second port = %q", msg)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="f.env.v"]`))); v != "hello" {
		t.Errorf("the form lost the env value: %q", v)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="f.ports/1/published"]`))); v != "8443" {
		t.Errorf("the form lost the second port: %q", v)
	}
	s.shot("create-form-error")

	do("fix the name and the port, add and remove a row, and create",
		setValue("#fld-name", ""),
		chromedp.SendKeys(chromedp.CSS("#fld-name"), "webshop"),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.ports/1/target"]`), "443"),
		chromedp.Click(chromedp.CSS(`[data-field="ports"] [data-add-item]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="f.ports/3/target"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.ports/3/target"]`), "9999"),
		chromedp.Click(chromedp.CSS(`[data-index="3"] [data-remove-item]`)),
		chromedp.Click(chromedp.CSS(`form.spec-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.status-panel`)),
	)
	if h := text("h1"); h != "webshop" {
		t.Fatalf("after create the page is %q", h)
	}
	// The status updates live, without reloading, until it settles.
	do("mark the page", void(chromedp.Evaluate[bool](`window.__same = true; true`)))
	waitJS("status settles to running", `document.querySelector('#status .badge').textContent.trim() === 'running'`, 30*time.Second)
	waitJS("polling stops", `document.getElementById('status').dataset.settled === 'true' && window.__same === true`, 10*time.Second)
	s.shot("service-detail")
	if svc, ok := env.Docker.Service("webshop"); !ok || svc.Spec.EndpointSpec == nil || len(svc.Spec.EndpointSpec.Ports) != 2 {
		t.Errorf("ports on the platform: %+v (want 80 and 443; the removed row left out)", svc.Spec.EndpointSpec)
	}

	do("open the list", chromedp.Navigate(base+"/services"), chromedp.WaitVisible(chromedp.CSS(`tr[data-service="webshop"]`)))
	s.shot("services-list")

	// Logs stream in and keep arriving.
	do("open the logs",
		chromedp.Click(chromedp.CSS(`tr[data-service="webshop"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/logs"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/logs"]`)),
		chromedp.WaitVisible(chromedp.CSS("#log-view")),
	)
	waitJS("first lines", `document.querySelectorAll('#log-view .ln').length >= 3`, 30*time.Second)
	first, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#log-view .ln').length`))
	waitJS("more lines keep arriving", `document.querySelectorAll('#log-view .ln').length > `+strconv.Itoa(first+2), 30*time.Second)
	if st := text("#log-state"); st != "live" {
		t.Errorf("log state = %q", st)
	}
	do("filter the lines", chromedp.SendKeys(chromedp.CSS("#log-filter"), "zzz-no-such-text"))
	waitJS("filter hides lines", `document.querySelectorAll('#log-view .ln:not(.hidden)').length === 0`, 5*time.Second)
	do("clear the filter", setValue("#log-filter", ""),
		void(chromedp.Evaluate[bool](`document.getElementById('log-filter').dispatchEvent(new Event('input')); true`)))
	s.shot("logs")

	// Find highlights matches in what is loaded; next walks them.
	do("find", chromedp.SendKeys(chromedp.CSS("#log-find"), "line"))
	waitJS("matches highlighted", `document.querySelectorAll('#log-view .ln mark').length > 0 && /match/.test(document.getElementById('log-find-count').textContent)`, 5*time.Second)
	do("next match", chromedp.Click(chromedp.CSS("#log-find-next")))
	waitJS("the first match is current", `document.querySelectorAll('#log-view mark.current').length === 1 && /^1 of \d+$/.test(document.getElementById('log-find-count').textContent)`, 5*time.Second)
	do("next match again", chromedp.Click(chromedp.CSS("#log-find-next")))
	waitJS("the second match is current", `/^2 of \d+$/.test(document.getElementById('log-find-count').textContent)`, 5*time.Second)
	if marked, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('#log-view mark')).every(m => m.textContent.toLowerCase() === 'line')`)); !marked {
		t.Error("a highlight is not the text searched for")
	}
	s.shot("logs-find")
	do("clear find", setValue("#log-find", ""),
		void(chromedp.Evaluate[bool](`document.getElementById('log-find').dispatchEvent(new Event('input')); true`)))
	waitJS("no highlights left", `document.querySelectorAll('#log-view mark').length === 0`, 5*time.Second)

	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById('log-newest')).display !== 'none'`)); shown {
		t.Error("Jump to newest is shown while following")
	}
	// Scrolled up, "Jump to newest" appears and brings the view back.
	do("scroll up", void(chromedp.Evaluate[bool](`(() => { const v = document.getElementById('log-view'); v.style.height = '60px'; v.style.minHeight = '0'; v.scrollTop = 0; v.dispatchEvent(new Event('scroll')); return true })()`)))
	waitJS("jump to newest shown", `getComputedStyle(document.getElementById('log-newest')).display !== 'none' && document.getElementById('log-state').textContent.includes('not following')`, 5*time.Second)
	do("jump to newest", chromedp.Click(chromedp.CSS("#log-newest")))
	waitJS("following again", `getComputedStyle(document.getElementById('log-newest')).display === 'none' && document.getElementById('log-state').textContent === 'live'`, 5*time.Second)

	// Changing what to show applies at once, without a Reload button: the
	// view starts again with only the stream chosen.
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#log-apply').length`)); n != 0 {
		t.Error("the logs page still has a Reload button")
	}
	do("only stdout", void(chromedp.Evaluate[bool](`(() => { const s = document.getElementById('log-stream'); s.value = 'stdout'; s.dispatchEvent(new Event('change')); return true })()`)))
	waitJS("stdout lines after the change", `document.querySelectorAll('#log-view .ln').length >= 3`, 30*time.Second)
	if errs, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#log-view .ln.err').length`)); errs != 0 {
		t.Errorf("%d stderr lines shown after choosing stdout", errs)
	}

	// Scale from the detail page.
	svc, ok := env.Docker.Service("webshop")
	if !ok {
		t.Fatal("webshop is not on the platform")
	}
	do("scale to 3",
		chromedp.Navigate(base+"/services/swarm/"+svc.ID),
		chromedp.WaitVisible(chromedp.CSS(`form.action #fld-replicas`)),
		setValue(`form.action #fld-replicas`, "3"),
		chromedp.Click(chromedp.CSS(`button[data-action="scale"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if f := text(".flash"); !strings.Contains(f, "Scale requested") {
		t.Errorf("flash after scale = %q", f)
	}
	waitJS("desired count 3", `[...document.querySelectorAll('.counts dd')].some(d => d.textContent.trim() === '3')`, 30*time.Second)

	// An instance's copy button puts its full id on the clipboard.
	if err := chromedp.Do(ctx, grantClipboard(base)); err != nil {
		t.Fatalf("clipboard permission: %v", err)
	}
	do("copy an instance id", chromedp.WaitVisible(chromedp.CSS(`button[data-copy]`)), chromedp.Click(chromedp.CSS(`button[data-copy]`)))
	waitJS("copied", `document.querySelector('button[data-copy]').textContent === 'copied'`, 5*time.Second)
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil || got == "" {
		t.Errorf("clipboard after copy: %q %v", got, err)
	} else if want, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('button[data-copy]').dataset.copy`)); got != want {
		t.Errorf("clipboard holds %q, want the instance id %q", got, want)
	}
	if svc, _ = env.Docker.Service("webshop"); svc.Spec.Mode.Replicated == nil || *svc.Spec.Mode.Replicated.Replicas != 3 {
		t.Error("the platform was not scaled")
	}

	// Delete, confirmed on its own page.
	do("delete",
		chromedp.Click(chromedp.CSS(`.danger-zone button`)),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Yes, delete")]`)),
		chromedp.Click(chromedp.Search(`//button[contains(., "Yes, delete")]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if _, ok := env.Docker.Service("webshop"); ok {
		t.Error("service still on the platform after delete")
	}

	// The audit log shows each step.
	do("audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	auditText := text("table.audit")
	for _, want := range []string{"service.create", "service.action:scale", "service.delete", "webshop", "ok"} {
		if !strings.Contains(auditText, want) {
			t.Errorf("audit page lacks %q:\n%s", want, auditText)
		}
	}
	s.shot("audit")

	do("connections", chromedp.Navigate(base+"/plugins"), chromedp.WaitVisible(chromedp.CSS(`tr[data-connection="swarm"]`)))
	s.shot("connections")

	// Dark mode and a phone's width.
	do("dark", darkMode(true), chromedp.Navigate(base+"/services/new"), chromedp.WaitVisible(chromedp.CSS("#fld-name")))
	bg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if bg == "rgb(246, 247, 249)" {
		t.Errorf("dark mode did not change the background (%s)", bg)
	}
	s.shot("create-form-dark")
	do("dark audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	s.shot("audit-dark")
	do("phone", darkMode(false), chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	s.shot("audit-phone")
	do("phone plugins", chromedp.Navigate(base+"/plugins"), chromedp.WaitVisible(chromedp.CSS(`tr[data-connection="swarm"]`)))
	s.shot("connections-phone")
	wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`))
	if wide {
		t.Error("the page scrolls sideways at phone width")
	}
}

// TestBrowserNestedInvokeAndHistory looks at the ECS form (groups within
// groups, rows), an ECS service's deployment history and a Peak service's
// invoke page, in light, dark and at a phone's width.
func TestBrowserNestedInvokeAndHistory(t *testing.T) {
	ctx := browser(t)
	env := webtest.New(t, webtest.Options{
		Docker:      dockeremu.Options{StartDelay: 150 * time.Millisecond, LogEvery: 150 * time.Millisecond},
		ECS:         true,
		ECSOptions:  ecsemu.Options{TaskStart: 30 * time.Millisecond, DrainTime: 100 * time.Millisecond, LogInterval: 200 * time.Millisecond},
		Peak:        true,
		PeakOptions: peakemu.Options{Creating: 30 * time.Millisecond, Deploying: 30 * time.Millisecond, Deleting: 30 * time.Millisecond},
		Faces:       []server.Face{web.Face(web.Options{DeploymentsPageSize: 3})},
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
	base := env.URL
	bg := context.Background()

	// The ECS form with a rejected nested value: More options opens at it.
	do("ecs form",
		chromedp.Navigate(base+"/services/new?connection=ecs"),
		chromedp.WaitVisible(chromedp.CSS("#fld-service_name")),
		chromedp.SendKeys(chromedp.CSS("#fld-service_name"), "shop"),
		chromedp.SendKeys(chromedp.CSS("#fld-task_definition"), "web:1"),
		chromedp.Click(chromedp.CSS(`details.more-options > summary`)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="f.network_configuration/subnets"]`), "subnet-0a1b2c3d"),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.deployment_configuration/maximum_percent"]`), "50"),
		chromedp.Click(chromedp.CSS(`input[name="f.deployment_configuration/circuit_breaker/enable"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.load_balancers/0/container_name"]`), "web"),
		chromedp.Click(chromedp.CSS(`form.spec-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="deployment_configuration/maximum_percent"].has-error`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="load_balancers/0/container_port"].has-error`)),
	)
	s.shot("ecs-create-form-error")
	do("ecs form dark", darkMode(true), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-field="load_balancers/0/container_port"].has-error`)))
	s.shot("ecs-create-form-error-dark")
	do("ecs form phone", darkMode(false), chromedp.EmulateViewport(390, 844), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="load_balancers/0/container_port"].has-error`)))
	s.shot("ecs-create-form-phone")
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`)); wide {
		t.Error("the ECS form scrolls sideways at phone width")
	}
	do("back to a desktop", chromedp.EmulateViewport(1280, 900))

	// A service with some history.
	res, err := env.Host.CreateService(bg, webtest.Admin, "ecs", json.RawMessage(`{"service_name":"hist","task_definition":"web:1"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range []string{"web:2", "web:1", "web:2"} {
		time.Sleep(80 * time.Millisecond)
		if _, err := env.Host.PatchService(bg, webtest.Admin, "ecs", res.Service.ID, json.RawMessage(`{"task_definition":"`+td+`"}`), ""); err != nil {
			t.Fatal(err)
		}
	}
	do("history", chromedp.Navigate(base+"/services/ecs/"+res.Service.ID+"#deployments"), chromedp.WaitVisible(chromedp.CSS(`#deployments a[rel="next"]`)))
	s.shot("ecs-deployments")
	do("older", chromedp.Click(chromedp.CSS(`#deployments a[rel="next"]`)), chromedp.WaitVisible(chromedp.CSS(`#deployments a[rel="first"]`)))
	n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#deployments tbody tr').length`))
	if n != 1 {
		t.Errorf("the second page of 4 deployments by 3 shows %d rows", n)
	}

	// Invoke a Peak api service.
	pres, err := env.Host.CreateService(bg, webtest.Admin, "peak",
		json.RawMessage(`{"name":"scorer","serviceType":"api","imageId":101,"versionId":1,"instanceTypeId":21}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if sv, err := env.Host.GetService(bg, webtest.Admin, "peak", pres.Service.ID); err == nil && sv.Status.Settled() {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	do("invoke",
		chromedp.Navigate(base+"/services/peak/"+pres.Service.ID),
		chromedp.Click(chromedp.CSS(`a[href$="/invoke"]`)),
		chromedp.WaitVisible(chromedp.CSS("#fld-body")),
		chromedp.SetValue(chromedp.CSS("#fld-method"), "POST"),
		setValue("#fld-path", "/predict"),
		chromedp.SendKeys(chromedp.CSS("#fld-body"), `{"rows": [1, 2, 3]}`),
		chromedp.Click(chromedp.CSS(`form.invoke-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.invoke-result`)),
	)
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".response-body")))
	if !strings.Contains(body, `"path": "/predict"`) {
		t.Errorf("response body = %q", body)
	}
	s.shot("invoke")
	do("invoke dark", darkMode(true), chromedp.EmulateViewport(390, 844))
	s.shot("invoke-phone-dark")
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`)); wide {
		t.Error("the invoke page scrolls sideways at phone width")
	}
}

// void drops an action's value, to use it among steps.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// setValue sets an input's value as typing would (with an input event).
func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, sel, v)
	return void(chromedp.Evaluate[bool](js))
}

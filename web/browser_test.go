package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
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
		chromedp.SendKeys(chromedp.CSS(`input[name="f.env.k"]`), "GREETING"),
		chromedp.SendKeys(chromedp.CSS(`input[name="f.env.v"]`), "hello"),
		chromedp.Click(chromedp.CSS(`form.spec-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="name"].has-error .field-error`)),
	)
	if msg := text(`[data-field="name"] .field-error`); !strings.Contains(msg, "pattern") && !strings.Contains(msg, "match") {
		t.Errorf("error at the name field = %q", msg)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`input[name="f.env.v"]`))); v != "hello" {
		t.Errorf("the form lost the env value: %q", v)
	}
	s.shot("create-form-error")

	do("fix the name and create",
		setValue("#fld-name", ""),
		chromedp.SendKeys(chromedp.CSS("#fld-name"), "webshop"),
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

package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// maxPhoneHeader is the tallest a one-line header may be: one line of
// menu links (about 2.2rem) with the header's padding and a thin scrollbar.
const maxPhoneHeader = 64

// TestBrowserPhoneHeader: on a phone (390 px wide) the header is one line
// on every page — in open mode (with its banner, which is not part of the
// header) and for a signed-in owner, whose menu is the longest — and the
// page does not scroll sideways.
func TestBrowserPhoneHeader(t *testing.T) {
	ctx := browser(t)
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
	check := func(what string) {
		t.Helper()
		h, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('header.top').offsetHeight`))
		if err != nil {
			t.Fatalf("%s: header height: %v", what, err)
		}
		t.Logf("%s: header %d px", what, h)
		if h > maxPhoneHeader {
			t.Errorf("%s: the header is %d px high at 390 px wide, want one line (≤ %d px)", what, h, maxPhoneHeader)
		}
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 2`))
		if wide {
			t.Errorf("%s: the page scrolls sideways at phone width", what)
		}
		// The current page's entry is shown without scrolling (wharf.js).
		if cur, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const a = document.querySelector('header.top nav a[aria-current="page"]');
			if (!a) return true; const r = a.getBoundingClientRect(), n = a.closest('nav').getBoundingClientRect();
			return r.left >= n.left - 1 && r.right <= n.right + 1 })()`)); err != nil || !cur {
			t.Errorf("%s: the current page's menu entry is scrolled out of sight (%v)", what, err)
		}
		// Every menu entry is still there, reached by scrolling the menu.
		last, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const a = [...document.querySelectorAll('header.top nav a')].pop();
			a.scrollIntoView({inline: 'end'}); const r = a.getBoundingClientRect(); return r.right <= window.innerWidth + 1 && r.width > 0 })()`))
		if !last {
			t.Errorf("%s: the last menu entry cannot be scrolled into view", what)
		}
	}

	open := webtest.New(t, webtest.Options{Docker: fastDocker, Faces: []server.Face{web.Face(web.Options{})}})
	createService(t, open, "api")
	do("phone", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/services", "/audit", "/plugins", "/webhooks"} {
		do("open "+p, chromedp.Navigate(open.URL+p), chromedp.WaitVisible(chromedp.CSS("#open-mode")))
		check("open mode " + p)
	}
	s.shot("header-phone-open")

	// The services list's filters fold away on a phone, unless one is set;
	// opening the fold shows them. On a desktop they are all in view.
	visible := func(sel string) bool {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector('`+sel+`'); return !!e && e.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true}) })()`))
		return v
	}
	do("phone list", chromedp.Navigate(open.URL+"/services"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if visible("#f-sort") || !visible(".filters-fold > summary") {
		t.Error("on a phone the services filters are not folded away behind their summary")
	}
	do("open the filters", chromedp.Click(chromedp.CSS(".filters-fold > summary")))
	if !visible("#f-sort") {
		t.Error("opening the fold does not show the filters")
	}
	do("phone list filtered", chromedp.Navigate(open.URL+"/services?connection=swarm"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if !visible("#f-connection") {
		t.Error("with a filter set, the fold is shut on a phone")
	}
	s.shot("services-list-phone-folded")
	do("desktop list", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(open.URL+"/services"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if !visible("#f-sort") || visible(".filters-fold > summary") {
		t.Error("on a desktop the filters are not all in view")
	}
	do("phone again", chromedp.EmulateViewport(390, 844))

	const secret = "s3cret-s3cret-s3cret-s3cret-s3cret"
	tok := ops.Token{Name: "platform-owner", SHA256: ops.HashToken(secret), Role: ops.RoleOwner}
	closed := webtest.New(t, webtest.Options{Docker: fastDocker, Tokens: []ops.Token{tok}, Faces: []server.Face{web.Face(web.Options{})}})
	do("sign in", chromedp.Navigate(closed.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), secret), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("header.top .role")))
	for _, p := range []string{"/services", "/account", "/access"} {
		do("owner "+p, chromedp.Navigate(closed.URL+p), chromedp.WaitVisible(chromedp.CSS("header.top .role")))
		check("signed-in owner " + p)
	}
	s.shot("header-phone-owner")
	do("back to a desktop", chromedp.EmulateViewport(1280, 900))
}

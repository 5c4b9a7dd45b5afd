package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestBrowserTimeline: in Chromium, a failed service's detail page shows
// the timeline above the details, its items laid out one per row with a
// severity sign and the time; screenshots light, dark and on a phone.
func TestBrowserTimeline(t *testing.T) {
	ctx := browser(t)
	env := webtest.New(t, webtest.Options{Docker: fastDocker, Faces: []server.Face{web.Face(web.Options{})}})
	dir := filepath.Join(wasmbuild.ModuleRoot(t), "test-artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := shooter{t: t, ctx: ctx, dir: dir}
	bg := context.Background()
	alice := ops.Caller{Actor: "alice", Role: ops.RoleAdmin}
	id := createService(t, env, "shop")
	waitSettled(t, env, id)
	if _, err := env.Host.RunAction(bg, alice, "swarm", id, "scale", json.RawMessage(`{"replicas":2}`)); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, env, id)
	if _, err := env.Host.PatchService(bg, alice, "swarm", id, json.RawMessage(`{"image":"shop:crash"}`), ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if sv, err := env.Host.GetService(bg, webtest.Admin, "swarm", id); err == nil && sv.Status == pluginapi.StatusFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the update to a crashing image did not fail")
		}
		time.Sleep(50 * time.Millisecond)
	}

	page := env.URL + "/services/swarm/" + id
	// The browser is shared: start from a light desktop, whatever the
	// test before left.
	if err := chromedp.Do(ctx, darkMode(false), chromedp.EmulateViewport(1280, 900), chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#timeline .tl-item"))); err != nil {
		t.Fatal(err)
	}
	above, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const tl = document.getElementById('timeline').getBoundingClientRect();
		const details = [...document.querySelectorAll('section.card h2')].find(h => h.textContent === 'Details').getBoundingClientRect();
		return tl.top < details.top;
	})()`))
	if err != nil || !above {
		t.Fatalf("the timeline is not above the details (%v)", err)
	}
	// One item per row: the sign left of the title, the time at the right.
	row, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const it = document.querySelector('#timeline .tl-item.sev-error') || document.querySelector('#timeline .tl-item');
		const sign = it.querySelector('.tl-sev').getBoundingClientRect(), title = it.querySelector('.tl-title').getBoundingClientRect();
		const when = it.querySelector('.tl-meta time').getBoundingClientRect();
		return sign.right <= title.left && title.right <= when.left && Math.abs(sign.top - title.top) < 12;
	})()`))
	if err != nil || !row {
		t.Fatalf("a timeline item is not laid out on one row (%v)", err)
	}
	s.shot("service-timeline-failed")
	if err := chromedp.Do(ctx, darkMode(true), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#timeline .tl-item"))); err != nil {
		t.Fatal(err)
	}
	s.shot("service-timeline-failed-dark")
	if err := chromedp.Do(ctx, darkMode(false), chromedp.EmulateViewport(390, 844), chromedp.Navigate(page+"/timeline"),
		chromedp.WaitVisible(chromedp.CSS("#timeline .tl-item"))); err != nil {
		t.Fatal(err)
	}
	s.shot("service-timeline-phone")
}

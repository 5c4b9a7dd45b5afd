package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

func createLabelled(t *testing.T, env *webtest.Env, name, team string) string {
	t.Helper()
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm",
		json.RawMessage(`{"name":"`+name+`","image":"nginx:1.27","replicas":1,"labels":{"team":"`+team+`"}}`))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return res.Service.ID
}

// streamsOf reads the services a merged log page follows.
func streamsOf(t *testing.T, body string) []string {
	t.Helper()
	m := regexp.MustCompile(`data-streams="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var ss []struct{ Name string }
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &ss); err != nil {
		t.Fatalf("data-streams: %v", err)
	}
	var names []string
	for _, s := range ss {
		names = append(names, s.Name)
	}
	return names
}

// The merged log view picks services by connection, name and label, or
// one by one; it follows at most 8 and says how many more matched.
func TestMergedLogsPicksServices(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	createLabelled(t, env, "alpha", "shop")
	createLabelled(t, env, "beta", "shop")
	gamma := createLabelled(t, env, "gamma", "ops")

	expect(t, c.Get("/logs"), 200, "Choose a connection, a name or a label")
	r := c.Get("/logs?connection=swarm&label=team%3Dshop")
	expect(t, r, 200, "Following 2 services")
	if got := strings.Join(streamsOf(t, r.Body), ","); got != "alpha,beta" {
		t.Errorf("team=shop follows %s, want alpha,beta", got)
	}
	if got := strings.Join(streamsOf(t, c.Get("/logs?name=gam").Body), ","); got != "gamma" {
		t.Errorf("name gam follows %s", got)
	}
	if got := streamsOf(t, c.Get("/logs?service=swarm/"+gamma).Body); len(got) != 1 || got[0] != "gamma" {
		t.Errorf("one picked service: %v", got)
	}
	expect(t, c.Get("/logs?connection=nope"), 404)
	expect(t, c.Get("/logs?service=swarm"), 400, "connection/id")
	expect(t, c.Get("/logs?connection=swarm&label=team%3Dnobody"), 200, "No service with logs matches")

	for i := range 7 {
		createLabelled(t, env, fmt.Sprintf("extra-%d", i), "bulk")
	}
	r = c.Get("/logs?connection=swarm")
	expect(t, r, 200, "Following 8 services", "and 2 more not shown")
	if n := len(streamsOf(t, r.Body)); n != 8 {
		t.Errorf("%d streams, want at most 8", n)
	}
	var refs []string
	for range 9 {
		refs = append(refs, "service=swarm/"+gamma)
	}
	expect(t, c.Get("/logs?"+strings.Join(refs, "&")), 400, "at most 8 services")
	expect(t, c.Get("/plugins"), 200, `href="/logs?connection=swarm"`)
}

// In Chromium: lines of every service arrive, tagged with their service,
// in time order across services.
func TestBrowserMergedLogs(t *testing.T) {
	ctx := browser(t)
	env := webtest.New(t, webtest.Options{Docker: dockeremu.Options{StartDelay: 50 * time.Millisecond, LogEvery: 100 * time.Millisecond},
		Faces: []server.Face{web.Face(web.Options{})}})
	createLabelled(t, env, "alpha", "shop")
	createLabelled(t, env, "beta", "shop")
	createLabelled(t, env, "gamma", "ops")
	if err := chromedp.Do(ctx, chromedp.Navigate(env.URL+"/logs?connection=swarm&label=team%3Dshop"),
		chromedp.WaitVisible(chromedp.CSS("#merged-log-view"))); err != nil {
		t.Fatal(err)
	}
	both := `(() => { const tags = new Set([...document.querySelectorAll('#merged-log-view .svc-tag')].map(e => e.textContent)); return tags.has('alpha') && tags.has('beta') && document.querySelectorAll('#merged-log-view .ln').length >= 20 })()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](both, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("lines of both services: %v", err)
	}
	ordered, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const ms = [...document.querySelectorAll('#merged-log-view .ln')].map(d => d._ms); return ms.every((m, i) => i === 0 || ms[i-1] <= m) })()`))
	if err != nil || !ordered {
		t.Errorf("merged lines are not in time order (%v)", err)
	}
	if gamma, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#merged-log-view .svc-tag')].filter(e => e.textContent === 'gamma').length`)); gamma != 0 {
		t.Errorf("%d lines of gamma, which the label leaves out", gamma)
	}
	if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('log-state').textContent`)); st != "live" {
		t.Errorf("state %q, want live", st)
	}
}

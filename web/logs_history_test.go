package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

var (
	olderLink = regexp.MustCompile(`id="log-older" href="([^"]+)"`)
	lineMsg   = regexp.MustCompile(`<span class="msg">([^<]*)</span>`)
)

// The read-back view pages into the past with plain links (no JavaScript):
// following "Older lines" to the beginning gives every line once.
func TestLogsReadBackWithoutJavaScript(t *testing.T) {
	env, c := newEnv(t, webtest.Options{ECS: true, ECSOptions: fastECS})
	if _, err := env.Host.CreateService(context.Background(), webtest.Admin, "ecs",
		json.RawMessage(`{"service_name":"hist","task_definition":"web:1","desired_count":1}`)); err != nil {
		t.Fatal(err)
	}
	path := "/services/ecs/hist/logs"
	expect(t, c.Get(path), 200, `name="view" value="history"`, `id="log-until"`)
	time.Sleep(600 * time.Millisecond) // some lines
	// Until now: the log stops growing for this read.
	until := time.Now().UTC().Format(time.RFC3339Nano)
	r := c.Get(path + "?view=history&tail=3&until=" + url.QueryEscape(until))
	expect(t, r, 200, "Live view")
	if strings.Contains(r.Body, `id="log-view"`) {
		t.Fatal("the read-back view also opens the live view")
	}
	var pages [][]string
	for {
		var msgs []string
		for _, m := range lineMsg.FindAllStringSubmatch(r.Body, -1) {
			msgs = append(msgs, html.UnescapeString(m[1]))
		}
		if len(msgs) > 3 {
			t.Fatalf("a page of %d lines, tail 3", len(msgs))
		}
		pages = append(pages, msgs)
		m := olderLink.FindStringSubmatch(r.Body)
		if m == nil {
			expect(t, r, 200, "Beginning of the log.")
			break
		}
		if len(pages) > 100 {
			t.Fatal("paging back never reaches the beginning")
		}
		r = c.Get(html.UnescapeString(m[1]))
		expect(t, r, 200)
	}
	var got []string
	for i := len(pages) - 1; i >= 0; i-- {
		got = append(got, pages[i]...)
	}
	// The whole log up to until, read forward in one go, is the same lines.
	u, _ := time.Parse(time.RFC3339Nano, until)
	page, err := env.Host.Logs(context.Background(), webtest.Admin, "ecs", "hist", logsUntil(u))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range page.Entries {
		want = append(want, e.Message)
	}
	if len(want) < 4 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read back %d lines in %d pages, want the %d lines up to until:\n got %v\nwant %v", len(got), len(pages), len(want), got, want)
	}
	expect(t, c.Get(path+"?view=history&until=soon"), 400, "until", "/until")
}

func logsUntil(u time.Time) ops.LogsOptions { return ops.LogsOptions{Until: &u, Limit: 10000} }

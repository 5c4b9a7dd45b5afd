package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/web/internal/webtest"
)

var rowRe = regexp.MustCompile(`<tr data-service="([^"]+)" data-conn="([^"]+)" data-id="[^"]*" data-status="([^"]+)"`)

// rowsOf lists the service rows of a list page: name, connection, status.
func rowsOf(body string) [][3]string {
	var out [][3]string
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, [3]string{m[1], m[2], m[3]})
	}
	return out
}

func rowNames(body string) string {
	var n []string
	for _, r := range rowsOf(body) {
		n = append(n, r[0])
	}
	return strings.Join(n, " ")
}

// summaryCount reads one count of the summary bar: conn "" is the total.
func summaryCount(t *testing.T, body, conn, what string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-summary="` + regexp.QuoteMeta(conn) + `">(.*?)</tr>`).FindStringSubmatch(body)
	if row == nil {
		t.Fatalf("no summary row for %q:\n%s", conn, excerpt(body))
	}
	m := regexp.MustCompile(`data-count="` + what + `">(\d+)<`).FindStringSubmatch(row[1])
	if m == nil {
		t.Fatalf("summary row %q has no %s count: %s", conn, what, row[1])
	}
	return m[1]
}

func createSpec(t *testing.T, env *webtest.Env, spec string) string {
	t.Helper()
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm", json.RawMessage(spec))
	if err != nil {
		t.Fatalf("create %s: %v", spec, err)
	}
	return res.Service.ID
}

// Sorting by each header's link, both ways, with aria-sort on the sorted
// header only; the Platform column; an unknown order falls back to names.
func TestServicesListSortsByColumn(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	for _, n := range []string{"beta", "alpha", "gamma"} {
		waitSettled(t, env, createService(t, env, n))
	}
	sick := createSpec(t, env, `{"name":"delta","image":"app:unhealthy","replicas":1,"healthcheck":{"test":["CMD","false"],"retries":1}}`)
	waitSettled(t, env, sick)

	r := c.Get("/services")
	expect(t, r, 200, `<th scope="col" aria-sort="ascending" data-sort="name">`,
		`<td data-label="Platform" data-cell="platform">Docker Swarm</td>`)
	if got := rowNames(r.Body); got != "alpha beta delta gamma" {
		t.Fatalf("default order = %s", got)
	}
	if n := strings.Count(r.Body, "aria-sort="); n != 1 {
		t.Errorf("%d headers carry aria-sort", n)
	}
	// The sorted header's link reverses it.
	link := regexp.MustCompile(`data-sort="name"><a href="([^"]+)"`).FindStringSubmatch(r.Body)
	if link == nil || htmlUnescape(link[1]) != "/services?dir=desc" {
		t.Fatalf("name header link = %v", link)
	}
	r = c.Get(htmlUnescape(link[1]))
	expect(t, r, 200, `aria-sort="descending" data-sort="name"`)
	if got := rowNames(r.Body); got != "gamma delta beta alpha" {
		t.Fatalf("name, descending = %s", got)
	}
	// By status: the failed one first, then by name.
	link = regexp.MustCompile(`data-sort="status"><a href="([^"]+)"`).FindStringSubmatch(r.Body)
	r = c.Get(htmlUnescape(link[1]))
	expect(t, r, 200, `aria-sort="ascending" data-sort="status"`)
	if got := rowNames(r.Body); got != "delta alpha beta gamma" {
		t.Fatalf("status = %s", got)
	}
	r = c.Get("/services?sort=status&dir=desc")
	if got := rowNames(r.Body); got != "alpha beta gamma delta" {
		t.Fatalf("status, descending = %s", got)
	}
	// Updated: newest first from its header.
	link = regexp.MustCompile(`data-sort="updated"><a href="([^"]+)"`).FindStringSubmatch(r.Body)
	if htmlUnescape(link[1]) != "/services?dir=desc&sort=updated" {
		t.Fatalf("updated header link = %s", link[1])
	}
	r = c.Get("/services?sort=updated&dir=desc")
	if got := rowNames(r.Body); got != "delta gamma alpha beta" {
		t.Fatalf("updated, newest first = %s", got)
	}
	// The filters keep the order, and the order keeps the filters.
	r = c.Get("/services?q=a&sort=name&dir=desc")
	if got := rowNames(r.Body); got != "gamma delta beta alpha" {
		t.Fatalf("filtered, descending = %s", got)
	}
	expect(t, r, 200, `href="/services?q=a&amp;sort=status"`)
	// An order the list does not know: the default, not an error page.
	r = c.Get("/services?sort=colour&dir=sideways")
	expect(t, r, 200, `aria-sort="ascending" data-sort="name"`)
	if got := rowNames(r.Body); got != "alpha beta delta gamma" {
		t.Fatalf("unknown order = %s", got)
	}
}

// The summary bar counts each connection's services by status, the counts
// match the rows, and each count links to the list filtered by it. A
// connection that cannot be reached is one row of the table, with why
// and a retry, and a row of the summary.
func TestServicesListSummaryAndUnreachableConnection(t *testing.T) {
	env, c := newEnv(t, webtest.Options{DownConnection: true})
	for _, n := range []string{"web", "api"} {
		waitSettled(t, env, createService(t, env, n))
	}
	stopped := createService(t, env, "batch")
	waitSettled(t, env, stopped)
	if _, err := env.Host.RunAction(context.Background(), webtest.Admin, "swarm", stopped, "stop", nil); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, env, stopped)
	sick := createSpec(t, env, `{"name":"sick","image":"app:unhealthy","replicas":1,"healthcheck":{"test":["CMD","false"],"retries":1}}`)
	waitSettled(t, env, sick)

	r := c.Get("/services")
	expect(t, r, 200, `<tr class="conn-down" data-connection-down="down">`, "Connection down (Docker Swarm) is unreachable:", `<a href="/services">Retry</a>`,
		`href="/connections/down/edit"`)
	byStatus := map[string]int{}
	for _, row := range rowsOf(r.Body) {
		byStatus[row[2]]++
	}
	if byStatus["running"] != 2 || byStatus["stopped"] != 1 || byStatus["failed"] != 1 {
		t.Fatalf("rows by status = %v", byStatus)
	}
	for what, want := range map[string]string{"services": "4", "running": "2", "updating": "0", "failed": "1"} {
		if got := summaryCount(t, r.Body, "swarm", what); got != want {
			t.Errorf("summary of swarm: %s = %s, want %s", what, got, want)
		}
	}
	if !regexp.MustCompile(`(?s)<tr data-summary="down" class="conn-down">.*?unreachable`).MatchString(r.Body) {
		t.Errorf("the summary lacks the unreachable connection:\n%s", excerpt(r.Body))
	}
	// A count's link shows as many rows as it counts, the count still the whole.
	link := regexp.MustCompile(`(?s)<tr data-summary="swarm">.*?<a href="([^"]+)" data-count="running">`).FindStringSubmatch(r.Body)
	if link == nil || htmlUnescape(link[1]) != "/services?connection=swarm&status=running" {
		t.Fatalf("running link = %v", link)
	}
	r = c.Get(htmlUnescape(link[1]))
	if got := rowNames(r.Body); got != "api web" {
		t.Fatalf("running on swarm = %s", got)
	}
	expect(t, r, 200, `aria-current="true" data-count="running"`)
	if got := summaryCount(t, r.Body, "swarm", "services"); got != "4" {
		t.Errorf("filtered: summary total = %s", got)
	}
	// "Updating" is three statuses at once.
	u := regexp.MustCompile(`(?s)<tr data-summary="swarm">.*?<a href="([^"]+)" data-count="updating">`).FindStringSubmatch(r.Body)
	if u == nil || htmlUnescape(u[1]) != "/services?connection=swarm&status=pending&status=deploying&status=updating" {
		t.Fatalf("updating link = %v", u)
	}
	r = c.Get(htmlUnescape(u[1]))
	expect(t, r, 200, "No services match")

	// With several connections, a total row.
	env2, c2 := newEnv(t, webtest.Options{Peak: true})
	createService(t, env2, "one")
	r = c2.Get("/services")
	expect(t, r, 200, `<tr data-summary="peak">`, `<tr data-summary="">`, "All connections")
	if got := summaryCount(t, r.Body, "", "services"); got != "1" {
		t.Errorf("total = %s", got)
	}
}

// The live endpoint answers the rows asked for, from the listings, with
// the status cell as the page renders it; bad requests name the parameter.
func TestServicesLiveAnswersTheRowsAsked(t *testing.T) {
	env, c := newEnv(t, webtest.Options{DownConnection: true})
	id := createService(t, env, "web")
	waitSettled(t, env, id)
	q := url.Values{"conn": {"swarm", "swarm", "down"}, "id": {id, "no-such", "x"}}
	r := c.Get("/services/live?" + q.Encode())
	var got struct {
		Rows []struct {
			Conn, ID, Status, Cell, Instances string
		}
		Unreachable []string
		Summary     []struct {
			Conn                                string
			Services, Running, Updating, Failed int
		}
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &got) != nil {
		t.Fatalf("live: %d %s", r.Status, r.Body)
	}
	if len(got.Rows) != 1 || got.Rows[0].ID != id || got.Rows[0].Status != "running" || got.Rows[0].Instances != "1 / 1" ||
		!strings.Contains(got.Rows[0].Cell, `class="badge st-running"`) {
		t.Fatalf("live rows = %+v", got.Rows)
	}
	if len(got.Unreachable) != 1 || got.Unreachable[0] != "down" {
		t.Fatalf("unreachable = %v", got.Unreachable)
	}
	// The summary bar's counts: swarm, then all connections.
	if len(got.Summary) != 2 || got.Summary[0].Conn != "swarm" || got.Summary[0].Services != 1 || got.Summary[0].Running != 1 ||
		got.Summary[1].Conn != "" || got.Summary[1].Services != 1 {
		t.Fatalf("summary = %+v", got.Summary)
	}
	// Under the page's own filters.
	r = c.Get("/services/live?q=nothing-matches")
	if !strings.Contains(r.Body, `"summary":[{"conn":"swarm","services":0`) || !strings.Contains(r.Body, `"rows":[]`) {
		t.Fatalf("filtered summary: %s", r.Body)
	}
	// A status changed through the host shows at once (the listing is dropped).
	if _, err := env.Host.RunAction(context.Background(), webtest.Admin, "swarm", id, "stop", nil); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, env, id)
	r = c.Get("/services/live?conn=swarm&id=" + url.QueryEscape(id))
	if !strings.Contains(r.Body, `"status":"stopped"`) {
		t.Fatalf("after stop: %s", r.Body)
	}
	r = c.Get("/services/live?conn=swarm")
	expect(t, r, 400, `"field":"id"`)
	many := url.Values{}
	for range 501 {
		many.Add("conn", "swarm")
		many.Add("id", "x")
	}
	r = c.Get("/services/live?" + many.Encode())
	expect(t, r, 400, `"field":"id"`, "at most 500")
}

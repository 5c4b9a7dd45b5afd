package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/wharfhq/wharf/web/internal/webtest"
)

// page is a parsed HTML answer.
type page struct {
	t    *testing.T
	root *html.Node
}

func parsePage(t *testing.T, body string) page {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return page{t, root}
}

func attr(n *html.Node, k string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val, true
		}
	}
	return "", false
}

// all lists the elements below n for which ok holds.
func all(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && ok(c) {
			out = append(out, c)
		}
		out = append(out, all(c, ok)...)
	}
	return out
}

func tag(name string, attrs ...string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Data != name {
			return false
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if v, ok := attr(n, attrs[i]); !ok || (attrs[i+1] != "*" && v != attrs[i+1]) {
				return false
			}
		}
		return true
	}
}

// text is n's text, spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// table returns the header and body cell texts of the table labelled label.
func (p page) table(under *html.Node, label string) (head []string, rows [][]string) {
	p.t.Helper()
	tables := all(under, tag("table", "aria-label", label))
	if len(tables) != 1 {
		p.t.Fatalf("%d tables labelled %q", len(tables), label)
	}
	for _, th := range all(tables[0], tag("th", "scope", "col")) {
		head = append(head, text(th))
	}
	for _, tr := range all(tables[0], tag("tr")) {
		if tr.Parent.Data != "tbody" {
			continue
		}
		var row []string
		for _, c := range all(tr, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
			row = append(row, text(c))
		}
		rows = append(rows, row)
	}
	return head, rows
}

// specSection is the readable spec, without its JSON disclosure.
func (p page) specSection() *html.Node {
	p.t.Helper()
	s := all(p.root, tag("section", "aria-labelledby", "spec-title"))
	if len(s) != 1 {
		p.t.Fatalf("%d spec sections", len(s))
	}
	for _, d := range all(s[0], tag("details")) {
		d.Parent.RemoveChild(d)
	}
	return s[0]
}

// member is the text of the dd of the member key directly in dl.
func member(under *html.Node, key string) string {
	for _, dd := range all(under, tag("dd", "data-key", key)) {
		return text(dd)
	}
	return ""
}

func wantRow(t *testing.T, what string, rows [][]string, want ...string) {
	t.Helper()
	for _, r := range rows {
		if slices.Equal(r, want) {
			return
		}
	}
	t.Errorf("%s: no row %q in %q", what, want, rows)
}

func wantColumns(t *testing.T, what string, head []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(head, w) {
			t.Errorf("%s: no column %q in %q", what, w, head)
		}
	}
}

// TestDetailShowsSpecReadably: a docker service's spec is shown by the
// schema's titles, env and labels as name/value tables, ports and mounts
// as tables with a column per property set, and not as JSON (which stays
// behind the disclosure).
func TestDetailShowsSpecReadably(t *testing.T) {
	env, c := newEnv(t, webtest.Options{})
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm", json.RawMessage(`{"name":"spec-view","image":"nginx:1.27",
		"replicas":1,"env":{"GREETING":"hello-env"},"labels":{"team":"shop"},"ports":[{"target":80,"published":8080}],
		"mounts":[{"type":"volume","source":"data-vol","target":"/data","read_only":true}],"update_config":{"delay":"10s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Get("/services/swarm/" + res.Service.ID)
	expect(t, r, 200)
	p := parsePage(t, r.Body)
	spec := p.specSection()

	if got := member(spec, "image"); got != "nginx:1.27" {
		t.Errorf("Image = %q", got)
	}
	if dts := all(spec, tag("dt", "data-key", "image")); len(dts) != 1 || text(dts[0]) != "Image" {
		t.Errorf("the image is not under its title")
	}
	_, rows := p.table(spec, "Environment")
	wantRow(t, "env", rows, "GREETING", "hello-env")
	_, rows = p.table(spec, "Service labels")
	wantRow(t, "labels", rows, "team", "shop")
	head, rows := p.table(spec, "Ports")
	wantColumns(t, "ports", head, "Container port", "Published port")
	if len(rows) != 1 || !slices.Contains(rows[0], "80") || !slices.Contains(rows[0], "8080") {
		t.Errorf("ports rows = %q", rows)
	}
	head, rows = p.table(spec, "Mounts")
	wantColumns(t, "mounts", head, "Type", "Source", "Target", "Read-only")
	if len(rows) != 1 || !slices.Contains(rows[0], "/data") || !slices.Contains(rows[0], "data-vol") || !slices.Contains(rows[0], "yes") {
		t.Errorf("mounts rows = %q", rows)
	}
	if got := member(spec, "update_config"); !strings.Contains(got, "Delay 10s") {
		t.Errorf("update strategy (nested) = %q", got)
	}
	if s := text(spec); strings.Contains(s, `"GREETING"`) || strings.Contains(s, "{") {
		t.Errorf("the readable spec shows JSON: %s", s)
	}
	if !strings.Contains(r.Body, "<summary>Spec (JSON)</summary>") {
		t.Error("no JSON disclosure")
	}
}

// TestDetailSpecExtrasShownSecretsHidden: members the schema does not
// describe are shown under their key (a member and a table column), and
// values marked secret (x-secret, writeOnly, nested) appear nowhere on the
// page, not in the JSON either.
func TestDetailSpecExtrasShownSecretsHidden(t *testing.T) {
	_, c := newEnv(t, webtest.Options{ExtraPlugins: []string{"./internal/testplugins/specfixture"}})
	r := c.Get("/services/specfixture/any-id")
	expect(t, r, 200, "<summary>Spec (JSON)</summary>", "strawberry-unknown")
	for _, h := range []string{"hunter2-fixture", "tok-fixture-123", "nested-secret-456"} {
		if strings.Contains(r.Body, h) {
			t.Errorf("the page shows the secret value %q", h)
		}
	}
	p := parsePage(t, r.Body)
	spec := p.specSection()
	if got := member(spec, "password"); got != "hidden" {
		t.Errorf("password = %q", got)
	}
	if got := member(spec, "x_unknown"); got != "strawberry-unknown" && !strings.Contains(got, "flavour strawberry-unknown") {
		t.Errorf("x_unknown = %q", got)
	}
	if dts := all(spec, tag("dt", "data-key", "x_unknown")); len(dts) != 1 || !strings.Contains(text(dts[0]), "extra") {
		t.Errorf("x_unknown is not shown as an extra member")
	}
	head, rows := p.table(spec, "Secrets")
	wantColumns(t, "secrets", head, "Secret name", "File", "extra_col extra")
	wantRow(t, "secrets", rows, "db", "db.txt", "kept-extra-cell")
	if got := member(spec, "resources"); !strings.Contains(got, "Memory limit 512M") || !strings.Contains(got, "Nested token hidden") {
		t.Errorf("resources = %q", got)
	}
}

// TestFormOffersChoices: the docker create form offers the swarm's
// secrets in a datalist on the secret name of every row; a plugin whose
// schema asks for choices but that lacks the operation gets its form with
// a plain text input.
func TestFormOffersChoices(t *testing.T) {
	env, c := newEnv(t, webtest.Options{ExtraPlugins: []string{"./internal/testplugins/specfixture"}})
	resp, err := http.Post(env.DockerURL+"/secrets/create", "application/json", strings.NewReader(`{"Name":"db-password","Data":"cHc="}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create secret: %v %v", resp, err)
	}
	resp.Body.Close()

	r := c.Get("/services/new?connection=swarm")
	expect(t, r, 200)
	p := parsePage(t, r.Body)
	in := all(p.root, tag("input", "name", "f.secrets/0/name"))
	if len(in) != 1 {
		t.Fatalf("%d secret name inputs", len(in))
	}
	list, ok := attr(in[0], "list")
	if !ok {
		t.Fatal("the secret name input has no datalist")
	}
	dl := all(p.root, tag("datalist", "id", list))
	if len(dl) != 1 {
		t.Fatalf("%d datalists %q", len(dl), list)
	}
	var values []string
	for _, o := range all(dl[0], tag("option")) {
		v, _ := attr(o, "value")
		values = append(values, v)
	}
	if !slices.Equal(values, []string{"db-password"}) {
		t.Errorf("choices = %q", values)
	}
	if cin := all(p.root, tag("input", "name", "f.configs/0/name")); len(cin) != 1 {
		t.Error("no config name input")
	} else if cl, _ := attr(cin[0], "list"); cl == "" || cl == list {
		t.Errorf("config name list = %q (secrets: %q)", cl, list)
	}

	r = c.Get("/services/new?connection=specfixture")
	expect(t, r, 200)
	p = parsePage(t, r.Body)
	in = all(p.root, tag("input", "name", "f.secrets/0/name"))
	if len(in) != 1 {
		t.Fatalf("fixture form: %d secret name inputs", len(in))
	}
	if l, ok := attr(in[0], "list"); ok {
		t.Errorf("without choices the input still points at list %q", l)
	}
	if len(all(p.root, tag("datalist"))) != 0 {
		t.Error("a datalist without choices")
	}
}

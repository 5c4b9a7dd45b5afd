package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/testplugins/hostile/mirror"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestConnectionFormApprovalsAndKeepSecrets: the portal's connection form
// approves a plugin's declared hosts, shows where credentials go, and drops
// (or, when asked, keeps) the secrets when an endpoint changes.
func TestConnectionFormApprovalsAndKeepSecrets(t *testing.T) {
	env, c := newEnv(t, webtest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/internal/testplugins/hostile"}})
	version := func() string {
		r := c.Get("/connections/hostile/edit")
		expect(t, r, 200, `name="approved_host" value="`+mirror.Host+`"`, `name="keep_secrets"`)
		return regexp.MustCompile(`name="version" value="([^"]*)"`).FindStringSubmatch(r.Body)[1]
	}
	save := func(form url.Values) webtest.Response {
		t.Helper()
		form.Set("version", version())
		r := c.Post("/connections/hostile/edit", form)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", r.Status, excerpt(r.Body))
		}
		return c.Follow(r)
	}
	get := func() ([]string, []string) {
		cn, err := env.Host.GetConnection(context.Background(), webtest.Admin, "hostile")
		if err != nil {
			t.Fatal(err)
		}
		return cn.ApprovedHosts, cn.SecretsSet
	}

	r := save(url.Values{"f.endpoint": {"http://127.0.0.1:7001"}, "f.token": {"t0ken-value"}, "approved_host": {mirror.Host}})
	expect(t, r, 200, "Connection hostile saved.", "Credentials go to", "http://127.0.0.1:7001", "also reaches, without credentials")
	if approved, set := get(); !slices.Equal(approved, []string{mirror.Host}) || !slices.Equal(set, []string{"token"}) {
		t.Fatalf("approved %v secrets %v", approved, set)
	}
	expect(t, c.Get("/connections/hostile/edit"), 200, `value="`+mirror.Host+`" checked`, "Credentials are sent only to")

	// Another endpoint, keep asked: the token stays; the unchecked box removes the approval.
	save(url.Values{"f.endpoint": {"http://127.0.0.1:7002"}, "keep_secrets": {"yes"}})
	if approved, set := get(); len(approved) != 0 || !slices.Equal(set, []string{"token"}) {
		t.Fatalf("kept: approved %v secrets %v", approved, set)
	}
	// Another endpoint, not asked: the token is dropped, and the page says so.
	r = save(url.Values{"f.endpoint": {"http://127.0.0.1:7003"}})
	expect(t, r, 200, "so its stored secrets were dropped (token)")
	if _, set := get(); len(set) != 0 {
		t.Fatalf("secrets after the move: %v", set)
	}
}

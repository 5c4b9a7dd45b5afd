package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/web"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestWebhooksPage: an owner sees each webhook (its URL masked, never its
// secret), sends a ping that a real receiver gets and sees the delivery;
// an operator has neither the page nor the menu entry.
func TestWebhooksPage(t *testing.T) {
	const ownerTok, opTok = "owner-owner-owner-owner-owner-owner", "operator-operator-operator-operator"
	const hookSecret = "hook-secret-0123456789"
	pings := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pings <- r.Header.Get(webhooks.HeaderID)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer recv.Close()
	env := webtest.New(t, webtest.Options{
		Tokens: []ops.Token{{Name: "root", SHA256: ops.HashToken(ownerTok), Role: ops.RoleOwner},
			{Name: "dev", SHA256: ops.HashToken(opTok), Role: ops.RoleOperator}},
		Faces:    []server.Face{api.Face(api.Options{}), web.Face(web.Options{})},
		Webhooks: []webhooks.Subscription{{Name: "ci", URL: recv.URL + "/hook?key=hush", Secret: hookSecret, Events: []string{"service.*"}, Selector: "team=payments"}},
	})
	signIn := func(token, next string) *webtest.Client {
		c := webtest.NewClient(t, env.URL)
		c.Get("/signin")
		expect(t, c.Post("/signin", url.Values{"token": {token}, "next": {next}}), 303)
		return c
	}

	owner := signIn(ownerTok, "/webhooks")
	r := owner.Get("/webhooks")
	expect(t, r, 200, `href="/webhooks" aria-current="page">Webhooks</a>`, `id="webhook-ci"`, "/hook?key=xxxxx", "team=payments", "No deliveries yet.")
	if strings.Contains(r.Body, hookSecret) || strings.Contains(r.Body, "hush") {
		t.Fatal("the page shows a secret")
	}
	r = owner.Post("/webhooks/ci/test", url.Values{"_csrf": {webtest.FormValues(r.Body, "/webhooks/ci/test").Get("_csrf")}})
	expect(t, r, 303)
	r = owner.Follow(r)
	expect(t, r, 200, "Ping sent to ci: delivered (answer 202).", `data-status="delivered"`, "<td data-label=\"Event\"")
	id := <-pings
	if !strings.Contains(r.Body, `title="`+id+`"`) {
		t.Errorf("the delivered ping %s is not listed:\n%s", id, excerpt(r.Body))
	}
	expect(t, owner.Post("/webhooks/nope/test", url.Values{"_csrf": {webtest.FormValues(r.Body, "/webhooks/ci/test").Get("_csrf")}}), 404)

	dev := signIn(opTok, "/services")
	r = dev.Get("/services")
	expect(t, r, 200)
	if strings.Contains(r.Body, `href="/webhooks"`) {
		t.Error("an operator's menu links to the webhooks page")
	}
	expect(t, dev.Get("/webhooks"), 403)
	if len(pings) != 0 {
		t.Fatal("an extra ping was sent")
	}
}

// TestWebhooksPageWithoutWebhooks: an owner of a host without webhooks
// is told there are none.
func TestWebhooksPageWithoutWebhooks(t *testing.T) {
	env := webtest.New(t, webtest.Options{Faces: []server.Face{web.Face(web.Options{})}})
	expect(t, webtest.NewClient(t, env.URL).Get("/webhooks"), 200, `id="no-webhooks"`, "No webhooks are configured.")
}

package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/webhooks"
)

// TestWebhookRoutes: owners list the webhooks (no secret), read a
// delivery log and send a ping that a real receiver gets signed; others
// are refused; every answer matches openapi.json.
func TestWebhookRoutes(t *testing.T) {
	const hookSecret = "hook-secret-0123456789"
	got := make(chan http.Header, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ownerTok, opTok := strings.Repeat("o", 40), strings.Repeat("p", 40)
	s, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), PluginFiles: []string{opstest.PluginPath(t)},
		Runtime: runtime.Config{CacheDir: opstest.CacheDir()}, Logger: slog.New(slog.DiscardHandler),
		Tokens: []ops.Token{{Name: "root", SHA256: ops.HashToken(ownerTok), Role: ops.RoleOwner},
			{Name: "dev", SHA256: ops.HashToken(opTok), Role: ops.RoleOperator}},
		Webhooks: []webhooks.Subscription{{Name: "ci", URL: recv.URL + "/hook?key=k", Secret: hookSecret, Events: []string{"service.*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	srv := httptest.NewServer(validated(t, api.New(s.Host, api.Options{})))
	defer srv.Close()
	owner := &client{t: t, base: srv.URL + api.Prefix, token: ownerTok}
	dev := &client{t: t, base: srv.URL + api.Prefix, token: opTok}

	list := owner.want(200, "GET", "/webhooks", "")
	if strings.Contains(string(list.body), hookSecret) || strings.Contains(string(list.body), "key=k") {
		t.Fatalf("the list shows a secret: %s", list.body)
	}
	hooks := list.json(t)["webhooks"].([]any)
	if len(hooks) != 1 || hooks[0].(map[string]any)["name"] != "ci" {
		t.Fatalf("webhooks = %s", list.body)
	}
	d := owner.want(200, "POST", "/webhooks/ci/test", "").json(t)
	if d["status"] != "delivered" || d["event_type"] != "ping" {
		t.Fatalf("ping = %v", d)
	}
	h := <-got
	if h.Get(webhooks.HeaderID) != d["event_id"] || !strings.HasPrefix(h.Get(webhooks.HeaderSignature), "v1=") {
		t.Fatalf("received headers %v", h)
	}
	ds := owner.want(200, "GET", "/webhooks/ci/deliveries?limit=5", "").json(t)["deliveries"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["id"] != d["id"] {
		t.Fatalf("deliveries = %v", ds)
	}
	owner.want(400, "GET", "/webhooks/ci/deliveries?limit=-1", "")
	owner.want(404, "GET", "/webhooks/nope/deliveries", "")
	owner.want(404, "POST", "/webhooks/nope/test", "")
	for _, r := range [][2]string{{"GET", "/webhooks"}, {"GET", "/webhooks/ci/deliveries"}, {"POST", "/webhooks/ci/test"}} {
		if code := dev.want(403, r[0], r[1], "").errCode(t); code != "forbidden" {
			t.Fatalf("%s %s as operator: %s", r[0], r[1], code)
		}
	}
	if len(got) != 0 {
		t.Fatal("a refused test sent a ping")
	}
}

// TestNoWebhooks: a host without webhooks lists none and knows no name.
func TestNoWebhooks(t *testing.T) {
	v := newEnv(t, opstest.Options{NoConnection: true})
	c := v.client(t, "")
	if hooks := c.want(200, "GET", "/webhooks", "").json(t)["webhooks"].([]any); len(hooks) != 0 {
		t.Fatalf("webhooks = %v", hooks)
	}
	c.want(404, "POST", "/webhooks/ci/test", "")
}

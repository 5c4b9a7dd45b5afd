package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestChoicesRoute: GET /connections/{c}/choices lists a secret of the
// emulated swarm through the docker plugin; a plugin without the
// operation answers 501; bad input is 400 naming the parameter.
func TestChoicesRoute(t *testing.T) {
	v := newEnv(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/plugins/docker"}})
	emu := dockeremu.New(dockeremu.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c := v.client(t, "")
	c.want(201, "POST", "/connections", `{"name":"swarm","plugin":"docker","config":{"host":"`+srv.URL+`"}}`)
	resp, err := http.Post(srv.URL+"/secrets/create", "application/json", strings.NewReader(`{"Name":"db-password","Data":"cHc="}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create secret: %v %v", resp, err)
	}
	resp.Body.Close()

	field := "field=" + url.QueryEscape("/secrets/*/name")
	m := c.want(200, "GET", "/connections/swarm/choices?"+field, "").json(t)
	choices, _ := m["choices"].([]any)
	if len(choices) != 1 || choices[0].(map[string]any)["value"] != "db-password" || m["more"] != false {
		t.Fatalf("choices = %v", m)
	}
	if l, _ := choices[0].(map[string]any)["label"].(string); !strings.HasPrefix(l, "db-password (secret") {
		t.Errorf("label = %q", l)
	}
	m = c.want(200, "GET", "/connections/swarm/choices?"+field+"&prefix=api-&limit=10", "").json(t)
	if choices, _ := m["choices"].([]any); choices == nil || len(choices) != 0 {
		t.Fatalf("prefix api- = %v (want an empty list, not null)", m)
	}

	if code := c.want(501, "GET", "/connections/"+opstest.Conn+"/choices?"+field, "").errCode(t); code != "unsupported" {
		t.Fatalf("fake plugin: code %s", code)
	}
	for query, want := range map[string]string{
		"":                    "/field",
		"field=%2Fimage":      "/field",
		field + "&limit=501":  "/limit",
		field + "&limit=x":    "limit",
		field + "&colour=red": "colour",
		field + "&prefix=" + strings.Repeat("p", 300): "/prefix",
	} {
		a := c.want(400, "GET", "/connections/swarm/choices?"+query, "")
		e, _ := a.json(t)["error"].(map[string]any)
		if f, _ := e["field"].(string); strings.TrimPrefix(f, "/") != strings.TrimPrefix(want, "/") {
			t.Errorf("?%s: error field %q, want %q (%v)", query, f, want, e)
		}
	}
	c.want(404, "GET", "/connections/nope/choices?"+field, "")
}

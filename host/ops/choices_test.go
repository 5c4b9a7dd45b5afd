package ops_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestChoices: the docker plugin's choices through the facade list a
// secret of the emulated swarm; a plugin without the operation answers
// unsupported; a field the schema does not annotate, and bad bounds, are
// invalid before any plugin call.
func TestChoices(t *testing.T) {
	e := opstest.New(t, opstest.Options{ExtraPlugins: []string{"github.com/wharfhq/wharf/plugins/docker"}})
	emu := dockeremu.New(dockeremu.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(emu.DemoConfig(srv.URL))
	if _, err := e.Host.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: "swarm", Plugin: "docker", Config: cfg}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/secrets/create", "application/json", strings.NewReader(`{"Name":"db-password","Data":"cHc="}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create secret: %v %v", resp, err)
	}
	resp.Body.Close()

	viewer := ops.Caller{Actor: "vera", Role: ops.RoleViewer}
	got := must[*ops.ChoicesResult](t)(e.Host.Choices(ctx, viewer, "swarm", "/secrets/*/name", ops.ChoicesOptions{}))
	if len(got.Choices) != 1 || got.Choices[0].Value != "db-password" || got.More {
		t.Fatalf("choices = %+v", got)
	}
	got = must[*ops.ChoicesResult](t)(e.Host.Choices(ctx, viewer, "swarm", "/secrets/*/name", ops.ChoicesOptions{Prefix: "api-"}))
	if len(got.Choices) != 0 {
		t.Fatalf("prefix api- = %+v", got)
	}

	_, err = e.Host.Choices(ctx, viewer, opstest.Conn, "/secrets/*/name", ops.ChoicesOptions{})
	wantCode(t, err, pluginapi.CodeUnsupported)
	// A caller with no role on the connection does not learn it exists.
	_, err = e.Host.Choices(ctx, ops.Caller{Actor: "nobody"}, "swarm", "/secrets/*/name", ops.ChoicesOptions{})
	wantCode(t, err, pluginapi.CodeNotFound)
	_, err = e.Host.Choices(ctx, viewer, "nope", "/secrets/*/name", ops.ChoicesOptions{})
	wantCode(t, err, pluginapi.CodeNotFound)
	for _, tc := range []struct {
		field, want string
		opts        ops.ChoicesOptions
	}{
		{"", "/field", ops.ChoicesOptions{}},
		{"secrets/*/name", "/field", ops.ChoicesOptions{}},
		{"/image", "/field", ops.ChoicesOptions{}},
		{"/secrets/*/name", "/limit", ops.ChoicesOptions{Limit: pluginapi.MaxChoices + 1}},
		{"/secrets/*/name", "/limit", ops.ChoicesOptions{Limit: -1}},
		{"/secrets/*/name", "/prefix", ops.ChoicesOptions{Prefix: strings.Repeat("x", 300)}},
	} {
		_, err := e.Host.Choices(ctx, viewer, "swarm", tc.field, tc.opts)
		if pe := wantCode(t, err, pluginapi.CodeInvalid); pe.Field != tc.want {
			t.Errorf("field %q %+v: error field %q, want %q (%v)", tc.field, tc.opts, pe.Field, tc.want, pe)
		}
	}
}

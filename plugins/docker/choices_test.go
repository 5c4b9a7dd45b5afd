package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

func (h *harness) choices(field, prefix string, limit int) (*pluginapi.ChoicesResponse, *pluginapi.Error) {
	h.t.Helper()
	var resp pluginapi.ChoicesResponse
	err := h.call(pluginapi.OpChoices, pluginapi.ChoicesRequest{Request: h.req(), Field: field, Prefix: prefix, Limit: limit}, &resp)
	return &resp, err
}

func values(cs []pluginapi.Choice) string {
	v := make([]string, len(cs))
	for i, c := range cs {
		v[i] = c.Value
	}
	return strings.Join(v, ",")
}

// TestChoicesListSecretsAndConfigs: the secrets and configs of the
// emulated swarm, by name, narrowed by a prefix, cut at the limit with
// more; the data of neither is ever in the answer; other fields invalid.
func TestChoicesListSecretsAndConfigs(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	for _, n := range []string{"db-password", "api-key", "db-user"} {
		h.engineCall("POST", "/secrets/create", []byte(`{"Name":"`+n+`","Data":"c2VjcmV0LWRhdGE="}`))
	}
	h.engineCall("POST", "/configs/create", []byte(`{"Name":"nginx-conf","Data":"c2VydmVyIHt9"}`))

	got, err := h.choices("/secrets/*/name", "", 0)
	if err != nil || values(got.Choices) != "api-key,db-password,db-user" || got.More {
		t.Fatalf("secrets = %+v, %v", got, err)
	}
	if l := got.Choices[1].Label; !strings.HasPrefix(l, "db-password (secret, created ") {
		t.Errorf("label = %q", l)
	}
	if got, err = h.choices("/secrets/*/name", "db-", 0); err != nil || values(got.Choices) != "db-password,db-user" {
		t.Fatalf("prefix db- = %+v, %v", got, err)
	}
	if got, err = h.choices("/secrets/*/name", "", 2); err != nil || values(got.Choices) != "api-key,db-password" || !got.More {
		t.Fatalf("limit 2 = %+v, %v", got, err)
	}
	if got, err = h.choices("/configs/*/name", "", 0); err != nil || values(got.Choices) != "nginx-conf" {
		t.Fatalf("configs = %+v, %v", got, err)
	}
	raw := fmt.Sprint(got)
	if strings.Contains(raw, "c2VydmVy") || strings.Contains(raw, "server {}") {
		t.Errorf("a config's data is in the answer: %s", raw)
	}
	if _, err = h.choices("/image", "", 0); err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/field" {
		t.Fatalf("choices for /image = %v", err)
	}
}

// The fields the plugin lists are the ones its schema annotates.
func TestChoicesFieldsAnnotated(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Items struct {
				Properties map[string]map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(specSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for field := range choiceKinds {
		parts := strings.Split(field, "/") // "", "secrets", "*", "name"
		if got := schema.Properties[parts[1]].Items.Properties[parts[3]][pluginapi.KeyChoices]; got != true {
			t.Errorf("%s: x-choices = %v, want true", field, got)
		}
	}
}

// TestRealEngineChoices: a secret created on the real swarm is offered.
func TestRealEngineChoices(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-choices-%d", time.Now().UnixNano()%1_000_000_000)
	realObject(t, "secret", `{"Name":"`+name+`","Data":"c2VjcmV0"}`)
	got, err := h.choices("/secrets/*/name", name, 0)
	if err != nil || values(got.Choices) != name {
		t.Fatalf("choices on the real engine = %+v, %v", got, err)
	}
	if !strings.HasPrefix(got.Choices[0].Label, name+" (secret, created ") {
		t.Errorf("label = %q", got.Choices[0].Label)
	}
}

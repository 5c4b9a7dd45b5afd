package ops

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// A plugin's answer is cut to the limit (more set), and values without
// the prefix or empty ones are dropped.
func TestBoundChoices(t *testing.T) {
	resp := &pluginapi.ChoicesResponse{Choices: []pluginapi.Choice{{Value: "db-a"}, {Value: ""}, {Value: "web"}, {Value: "db-b"}, {Value: "db-c"}}}
	got := boundChoices(resp, "db-", 2)
	if len(got.Choices) != 2 || got.Choices[0].Value != "db-a" || got.Choices[1].Value != "db-b" || !got.More {
		t.Fatalf("bound = %+v", got)
	}
	got = boundChoices(&pluginapi.ChoicesResponse{Choices: []pluginapi.Choice{{Value: "x"}}, More: true}, "", 5)
	if len(got.Choices) != 1 || !got.More {
		t.Fatalf("the plugin's more is kept: %+v", got)
	}
}

func TestHasChoices(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","properties":{
		"secrets":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string","x-choices":true},"target":{"type":"string"}}}},
		"env":{"type":"object","additionalProperties":{"type":"string","x-choices":true}},
		"a/b":{"type":"string","x-choices":true},
		"image":{"type":"string","x-choices":false}}}`)
	for field, want := range map[string]bool{
		"/secrets/*/name": true, "/env/*": true, "/a~1b": true,
		"/secrets/*/target": false, "/image": false, "/secrets/0/name": false, "/secrets": false, "secrets/*/name": false, "/nope": false, "": false,
	} {
		if got := hasChoices(schema, field); got != want {
			t.Errorf("hasChoices(%q) = %v, want %v", field, got, want)
		}
	}
}

package form

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

func TestLabel(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"type":"object","properties":{
		"username":{"type":"string","title":"User name"},
		"ports":{"type":"array","title":"Ports","items":{"type":"object","additionalProperties":false,"properties":{"target":{"type":"integer","title":"Container port"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	fields := Build(s.Properties(), Decode(json.RawMessage(`{"ports":[{"target":80}]}`)), nil)
	for ptr, want := range map[string]string{
		"":                "",
		"/username":       "User name",
		"/ports":          "Ports",
		"/ports/0/target": "Ports › item 1 › Container port",
		"/ports/3/target": "Ports › item 4 › Container port",
		"/unknown/x~1y":   "unknown › x/y",
	} {
		if got := Label(fields, ptr); got != want {
			t.Errorf("Label(%q) = %q, want %q", ptr, got, want)
		}
	}
}

func TestUnder(t *testing.T) {
	pe := &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/config/username", Message: "username is required",
		Detail: map[string]any{"errors": []map[string]any{{"field": "/config/username", "message": "username is required"}, {"field": "/name", "message": "name is taken"}}}}
	u := Under(pe, "/config")
	errs := fieldErrors(u)
	if u.Field != "/username" || len(errs) != 2 || errs[0].Field != "/username" || errs[1].Field != "" {
		t.Fatalf("Under = %+v, errors %+v", u, errs)
	}
	if pe.Field != "/config/username" {
		t.Fatal("Under changed its argument")
	}
}

func TestPlain(t *testing.T) {
	for raw, want := range map[string]string{
		`"nginx:1.27"`: "nginx:1.27", `3`: "3", `true`: "true", `null`: "none", `[]`: "empty", `{}`: "empty",
		`["a","b"]`: "a, b", `["a, b","c"]`: `["a, b","c"]`, `[1,2]`: `[1,2]`, `{"k":"v"}`: `{"k":"v"}`,
	} {
		if got := Plain(raw); got != want {
			t.Errorf("Plain(%s) = %q, want %q", raw, got, want)
		}
	}
}

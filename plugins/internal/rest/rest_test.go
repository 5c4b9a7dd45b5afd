package rest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

func TestErrorFromStatus(t *testing.T) {
	for status, want := range map[int]pluginapi.Code{400: pluginapi.CodeInvalid, 401: pluginapi.CodeUnauthorized,
		403: pluginapi.CodeForbidden, 404: pluginapi.CodeNotFound, 409: pluginapi.CodeConflict, 422: pluginapi.CodeInvalid,
		429: pluginapi.CodeUnavailable, 500: pluginapi.CodeUnavailable, 503: pluginapi.CodeUnavailable, 504: pluginapi.CodeTimeout, 418: pluginapi.CodeInternal} {
		e := ErrorFromStatus(status, "")
		if e.Code != want || e.Message == "" || e.Retryable != (want == pluginapi.CodeUnavailable || want == pluginapi.CodeTimeout) {
			t.Errorf("%d: %+v, want %s", status, e, want)
		}
	}
}

func TestMessage(t *testing.T) {
	for body, want := range map[string]string{`{"message":"m"}`: "m", `{"error":"e","error_description":"d"}`: "d",
		`{"detail":"too big"}`: "too big", `plain text`: "plain text", `<html>oops</html>`: "", `{"other":1}`: ""} {
		if got := Message([]byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}

func TestPage(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6}
	var got []int
	token, pages := "", 0
	for {
		page, next, err := Page(items, 3, 50, token)
		if err != nil {
			t.Fatal(err)
		}
		got, token, pages = append(got, page...), next, pages+1
		if token == "" {
			break
		}
	}
	if !slices.Equal(got, items) || pages != 3 {
		t.Fatalf("%v in %d pages", got, pages)
	}
	if _, _, err := Page(items, 3, 50, "x"); pluginapi.CodeOf(err) != pluginapi.CodeInvalid {
		t.Fatalf("bad token: %v", err)
	}
}

func TestDecodeSpecNamesTheField(t *testing.T) {
	var s struct {
		N int `json:"n"`
	}
	err := DecodeSpec(json.RawMessage(`{"n":"x"}`), &s)
	if e := pluginapi.AsError(err); e == nil || e.Field != "/n" {
		t.Fatalf("%v", err)
	}
}

func TestChanges(t *testing.T) {
	cur := map[string]any{"a": 1, "b": map[string]any{"x": "y"}, "c": "kept"}
	want := map[string]any{"a": 1, "b": map[string]any{"x": "z"}, "d": nil, "e": "new"}
	got := Changes(cur, want)
	if len(got) != 2 || got["e"] != "new" || got["b"].(map[string]any)["x"] != "z" {
		t.Fatalf("changes: %v", got)
	}
	if _, sent := got["c"]; sent {
		t.Fatal("a member the caller does not name was sent")
	}
	if len(Changes(cur, map[string]any{"a": 1})) != 0 {
		t.Fatal("an unchanged member was sent")
	}
}

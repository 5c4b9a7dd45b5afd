package rest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func TestErrorFromStatus(t *testing.T) {
	for status, want := range map[int]pluginapi.Code{400: pluginapi.CodeInvalid, 401: pluginapi.CodeUnauthorized,
		403: pluginapi.CodeForbidden, 404: pluginapi.CodeNotFound, 409: pluginapi.CodeConflict, 422: pluginapi.CodeInvalid,
		429: pluginapi.CodeUnavailable, 500: pluginapi.CodeUnavailable, 503: pluginapi.CodeUnavailable, 504: pluginapi.CodeTimeout, 418: pluginapi.CodeInvalid, 302: pluginapi.CodeInternal} {
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

// recorder is a plugin.Doer that keeps the requests and answers a fixed response.
type recorder struct {
	got  []*pluginapi.HTTPRequest
	resp pluginapi.HTTPResponse
}

func (r *recorder) Do(req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	r.got = append(r.got, req)
	resp := r.resp
	return &resp
}

func TestClientSendsPrefixTimeoutAndCap(t *testing.T) {
	rec := &recorder{resp: pluginapi.HTTPResponse{Status: 200, Body: []byte(`{"id":"x"}`)}}
	ctx := plugin.WithDoer(context.Background(), rec)
	c := &Client{Endpoint: "host", PathPrefix: "/v1.47", Timeout: 30 * time.Second, MaxBodyBytes: 1 << 20,
		Headers: map[string]string{"X-User": "u"}}
	var out struct{ ID string }
	if err := c.Do(ctx, Request{Method: "GET", Path: "/services"}, &out); err != nil || out.ID != "x" {
		t.Fatalf("%v %+v", err, out)
	}
	if err := c.Do(ctx, Request{Method: "POST", Path: "/s", JSON: map[string]int{"a": 1}, Timeout: time.Second, MaxBodyBytes: 10,
		Endpoint: "other", Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "tok"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, Request{Method: "GET", URL: "https://example.com/x"}, nil); err != nil {
		t.Fatal(err)
	}
	a, b, u := rec.got[0], rec.got[1], rec.got[2]
	if a.Endpoint != "host" || a.Path != "/v1.47/services" || a.TimeoutMS != 30000 || a.MaxBodyBytes != 1<<20 ||
		a.Headers["Accept"] != "application/json" || a.Headers["X-User"] != "u" || a.Auth != nil {
		t.Errorf("first request: %+v", a)
	}
	if b.Endpoint != "other" || b.Path != "/v1.47/s" || b.TimeoutMS != 1000 || b.MaxBodyBytes != 10 ||
		string(b.Body) != `{"a":1}` || b.Headers["Content-Type"] != "application/json" || b.Auth == nil || b.Auth.Secret != "tok" {
		t.Errorf("second request: %+v", b)
	}
	if u.Endpoint != "" || u.Path != "" || u.URL != "https://example.com/x" {
		t.Errorf("absolute request: %+v", u)
	}
}

func TestClientHooks(t *testing.T) {
	rec := &recorder{resp: pluginapi.HTTPResponse{Status: 429, Body: []byte(`{"message":"slow down"}`)}}
	ctx := plugin.WithDoer(context.Background(), rec)
	plain := &Client{Endpoint: "e"}
	err := plain.Do(ctx, Request{Method: "GET", Path: "/x"}, nil)
	if e := pluginapi.AsError(err); e == nil || e.Code != pluginapi.CodeUnavailable || !e.Retryable || e.Message != "slow down" || e.Detail["status"] != 429 {
		t.Fatalf("default mapping of 429: %#v", err)
	}
	hooked := &Client{Endpoint: "e",
		MapStatus: func(r Request, resp *pluginapi.HTTPResponse) error {
			return pluginapi.Errorf(pluginapi.CodeConflict, "%s got %d", r.Op, resp.Status)
		},
		Unreachable: func(r Request, e *pluginapi.Error) error {
			e.Message = "cannot reach the platform: " + e.Message
			return e
		}}
	if err := hooked.Do(ctx, Request{Op: "Create", Method: "GET", Path: "/x"}, nil); pluginapi.CodeOf(err) != pluginapi.CodeConflict || err.Error() == "" {
		t.Fatalf("MapStatus not used: %v", err)
	}
	rec.resp = pluginapi.HTTPResponse{Error: &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "connection refused"}}
	err = hooked.Do(ctx, Request{Op: "Create", Method: "GET", Path: "/x"}, nil)
	if e := pluginapi.AsError(err); e == nil || e.Code != pluginapi.CodeUnavailable || !e.Retryable || e.Message != "cannot reach the platform: Create: connection refused" {
		t.Fatalf("transport failure: %#v", err)
	}
	rec.resp = pluginapi.HTTPResponse{Status: 200, Body: []byte(`not json`)}
	if err := plain.Do(ctx, Request{Method: "GET", Path: "/y"}, &struct{}{}); pluginapi.CodeOf(err) != pluginapi.CodeInternal ||
		!strings.Contains(err.Error(), "GET /y") {
		t.Fatalf("bad body: %v", err)
	}
}

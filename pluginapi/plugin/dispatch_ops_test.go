package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// An operation Dispatch does not know, and an optional one the provider
// does not implement, are unsupported errors naming the operation, never a
// panic or an empty answer.
func TestDispatchUnknownAndUnofferedOperations(t *testing.T) {
	cases := []struct{ op, want string }{
		{"no-such-operation", `unknown operation "no-such-operation"`},
		{"", `unknown operation ""`},
		{pluginapi.OpInstances, `does not offer "instances"`},
		{pluginapi.OpDeployments, `does not offer "deployments"`},
		{pluginapi.OpInvoke, `does not offer "invoke"`},
	}
	for _, tc := range cases {
		out := plugin.Dispatch(context.Background(), acme{}, tc.op, []byte(`{"connection":"c","id":"a1"}`))
		var got pluginapi.Response
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: answer is not JSON: %v\n%s", tc.op, err, out)
		}
		if got.Error == nil || got.Error.Code != pluginapi.CodeUnsupported || !strings.Contains(got.Error.Message, tc.want) {
			t.Errorf("%q: answer %s, want an unsupported error with %q", tc.op, out, tc.want)
		}
	}
}

// panicky panics in every operation it implements, with values of several
// kinds.
type panicky struct{ acme }

func (panicky) Get(context.Context, *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	panic(struct{ N int }{42})
}

func (panicky) List(_ context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	var pages []string
	_ = pages[req.PageSize] // a runtime error: index out of range
	return nil, nil
}

// A panic of any value, a runtime error included, is an internal error
// whose message says what panicked; Dispatch goes on answering afterwards.
func TestDispatchPanicIsInternalError(t *testing.T) {
	for op, want := range map[string]string{pluginapi.OpGet: "42", pluginapi.OpList: "index out of range"} {
		out := plugin.Dispatch(context.Background(), panicky{}, op, []byte(`{"connection":"c","id":"a1"}`))
		var got pluginapi.Response
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: answer is not JSON: %v\n%s", op, err, out)
		}
		if got.Error == nil || got.Error.Code != pluginapi.CodeInternal || !strings.Contains(got.Error.Message, want) {
			t.Errorf("%s: answer %s, want an internal error mentioning %q", op, out, want)
		}
	}
	var d pluginapi.DescribeResponse
	if err := json.Unmarshal(plugin.Dispatch(context.Background(), panicky{}, pluginapi.OpDescribe, nil), &d); err != nil || d.Name != "acme" {
		t.Fatalf("describe after panics: %+v, %v", d, err)
	}
}

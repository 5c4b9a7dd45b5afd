package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// A provider's panic is an internal error carrying its message, and a
// request that is not JSON is invalid: neither escapes Dispatch.
func TestDispatchPanicAndBadInput(t *testing.T) {
	var got pluginapi.ServiceResponse
	out := plugin.Dispatch(context.Background(), acme{}, pluginapi.OpDelete, []byte(`{"connection":"c","id":"a1"}`))
	if err := json.Unmarshal(out, &got); err != nil || got.Error == nil || got.Error.Code != pluginapi.CodeInternal ||
		!strings.Contains(got.Error.Message, "delete is broken") {
		t.Fatalf("panic: %s", out)
	}
	got = pluginapi.ServiceResponse{}
	out = plugin.Dispatch(context.Background(), acme{}, pluginapi.OpGet, []byte(`{"id":`))
	if err := json.Unmarshal(out, &got); err != nil || got.Error == nil || got.Error.Code != pluginapi.CodeInvalid {
		t.Fatalf("bad input: %s", out)
	}
	var d pluginapi.DescribeResponse
	out = plugin.Dispatch(context.Background(), acme{}, pluginapi.OpDescribe, nil)
	if err := json.Unmarshal(out, &d); err != nil || d.ABIVersion != pluginapi.ABIVersion || d.Name != "acme" {
		t.Fatalf("describe fills the ABI version: %s", out)
	}
}

// acmeChoices is acme offering "choices".
type acmeChoices struct{ acme }

func (acmeChoices) Choices(_ context.Context, req *pluginapi.ChoicesRequest) (*pluginapi.ChoicesResponse, error) {
	if req.Field != "/secrets/*/name" {
		return nil, pluginapi.Invalid("/field", "no choices for %s", req.Field)
	}
	return &pluginapi.ChoicesResponse{Choices: []pluginapi.Choice{{Value: "db-password", Label: "db-password (secret)"}}}, nil
}

// "choices" reaches a provider implementing ChoicesProvider, and one that
// does not answers unsupported.
func TestDispatchChoices(t *testing.T) {
	var got pluginapi.ChoicesResponse
	out := plugin.Dispatch(context.Background(), acmeChoices{}, pluginapi.OpChoices, []byte(`{"connection":"c","field":"/secrets/*/name"}`))
	if err := json.Unmarshal(out, &got); err != nil || got.Error != nil || len(got.Choices) != 1 || got.Choices[0].Value != "db-password" {
		t.Fatalf("choices: %s", out)
	}
	got = pluginapi.ChoicesResponse{}
	out = plugin.Dispatch(context.Background(), acme{}, pluginapi.OpChoices, []byte(`{"field":"/secrets/*/name"}`))
	if err := json.Unmarshal(out, &got); err != nil || got.Error == nil || got.Error.Code != pluginapi.CodeUnsupported {
		t.Fatalf("without the interface: %s", out)
	}
}

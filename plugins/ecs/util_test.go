package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// recordingDoer answers every request with a 500 and remembers it.
type recordingDoer struct{ reqs []*pluginapi.HTTPRequest }

func (r *recordingDoer) Do(req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	r.reqs = append(r.reqs, req)
	return &pluginapi.HTTPResponse{Status: 500, Body: []byte(`{"__type":"ServerException","message":"x"}`)}
}

func withDoer(d plugin.Doer) context.Context { return plugin.WithDoer(context.Background(), d) }

func compileSchema(t *testing.T, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(s *jsonschema.Schema, v any) error {
	b, _ := json.Marshal(v)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

func TestAWSErrorMapping(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		header    string
		code      pluginapi.Code
		retryable bool
		field     string
	}{
		{400, `{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"bad token"}`, "", pluginapi.CodeUnauthorized, false, ""},
		{400, `{"__type":"InvalidSignatureException","message":"sig"}`, "", pluginapi.CodeUnauthorized, false, ""},
		{400, `{"__type":"AccessDeniedException","Message":"no"}`, "", pluginapi.CodeForbidden, false, ""},
		{400, `{"__type":"ServiceNotActiveException","message":"Service was not ACTIVE."}`, "", pluginapi.CodeNotFound, false, ""},
		{400, `{"__type":"ClusterNotFoundException","message":"Cluster not found."}`, "", pluginapi.CodeNotFound, false, ""},
		{400, `{"__type":"ServiceDeploymentNotFoundException","message":"x"}`, "", pluginapi.CodeNotFound, false, ""},
		{400, `{"__type":"ConflictException","message":"x"}`, "", pluginapi.CodeConflict, false, ""},
		{400, `{"__type":"InvalidParameterException","message":"Creation of service was not idempotent."}`, "", pluginapi.CodeConflict, false, ""},
		{400, `{"__type":"ClientException","message":"Unable to describe task definition."}`, "", pluginapi.CodeInvalid, false, "/task_definition"},
		{400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`, "", pluginapi.CodeUnavailable, true, ""},
		{500, `{"__type":"ServerException","message":"boom"}`, "", pluginapi.CodeUnavailable, true, ""},
		{503, `<html>`, "", pluginapi.CodeUnavailable, true, ""},
		{400, `{}`, "ServiceNotFoundException:http://internal.amazon.com/coral/", pluginapi.CodeNotFound, false, ""},
		{400, `{"__type":"UnsupportedFeatureException","message":"x"}`, "", pluginapi.CodeUnsupported, false, ""},
	}
	for _, c := range cases {
		resp := &pluginapi.HTTPResponse{Status: c.status, Body: []byte(c.body), Headers: map[string][]string{}}
		if c.header != "" {
			resp.Headers["X-Amzn-ErrorType"] = []string{c.header}
		}
		e := awsError("Op", resp)
		if e.Code != c.code || e.Retryable != c.retryable || e.Field != c.field {
			t.Errorf("%d %s: got %s retryable=%v field=%q", c.status, c.body, e.Code, e.Retryable, e.Field)
		}
	}
}

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

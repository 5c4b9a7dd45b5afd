// Command specfixture is a test plugin for the portal's spec views: its
// spec schema has secret-marked properties (x-secret, writeOnly, at the
// top and nested) and an x-choices field, but it offers no "choices"; its
// "get" answers one service whose spec also carries members the schema
// does not describe. Values meant to stay hidden are in Hidden.
package main

import (
	"context"
	"encoding/json"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// Hidden are the spec's secret values: no page may show them.
var Hidden = []string{"hunter2-fixture", "tok-fixture-123", "nested-secret-456"}

const specSchema = `{
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": "string", "title": "Name"},
    "image": {"type": "string", "title": "Image"},
    "password": {"type": "string", "title": "Database password", "writeOnly": true},
    "api_token": {"type": "string", "title": "API token", "x-secret": true},
    "secrets": {"type": "array", "title": "Secrets", "items": {"type": "object", "additionalProperties": false, "properties": {
      "name": {"type": "string", "title": "Secret name", "x-choices": true},
      "target": {"type": "string", "title": "File"}}}},
    "resources": {"type": "object", "title": "Resources", "properties": {
      "memory_limit": {"type": "string", "title": "Memory limit"},
      "token": {"type": "string", "title": "Nested token", "writeOnly": true}}}
  }
}`

const spec = `{"name": "fixture-web", "image": "nginx:1.27", "password": "hunter2-fixture", "api_token": "tok-fixture-123",
  "secrets": [{"name": "db", "target": "db.txt", "extra_col": "kept-extra-cell"}],
  "resources": {"memory_limit": "512M", "token": "nested-secret-456"},
  "x_unknown": {"flavour": "strawberry-unknown"}}`

type provider struct{ base.Provider }

func (p provider) Describe() pluginapi.DescribeResponse {
	d := p.Provider.Describe()
	d.SpecSchema = json.RawMessage(specSchema)
	return d
}

// Get answers the fixture service, whatever the id.
func (provider) Get(_ context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	return &pluginapi.ServiceResponse{Service: &pluginapi.Service{ID: req.ID, Name: "fixture-web",
		Status: pluginapi.StatusRunning, Image: "nginx:1.27", Spec: json.RawMessage(spec)}}, nil
}

func init() { plugin.Register(provider{base.Provider{Name: "specfixture"}}) }

func main() {}

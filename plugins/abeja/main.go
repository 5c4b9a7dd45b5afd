// Command abeja is the Wharf provider plugin for ABEJA Platform services
// (model services of a deployment, as managed by abeja-sdk's
// abeja.services.APIClient). Build it to wasm:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o abeja.wasm ./plugins/abeja
//
// A connection is one organization's deployment; services are keyed by
// their service id ("ser-..."). Invoke posts to the service on the
// organization's sub-domain, https://{organization_id}.api.abeja.io, or to
// invoke_endpoint when the connection sets one.
package main

import (
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func init() { plugin.Register(provider{}) }

func main() {}

// version is this plugin's own version.
const version = "0.1.0"

// Describe says what the plugin offers.
func (provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name:         "abeja",
		Version:      version,
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "ABEJA Platform",
		Description:  "Model services of an ABEJA Platform deployment.",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete,
			pluginapi.OpList, pluginapi.OpLogs, pluginapi.OpLifecycle, pluginapi.OpInvoke},
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionStart, Title: "Start", Description: "Start a stopped service."},
			{Name: pluginapi.ActionStop, Title: "Stop", Description: "Stop a running service.", Dangerous: true},
			{Name: pluginapi.ActionScale, Title: "Scale", Description: "Set the number of instances (instance_number).",
				ParamsSchema: json.RawMessage(`{"type":"object","required":["replicas"],"additionalProperties":false,
				  "properties":{"replicas":{"type":"integer","minimum":1,"maximum":10,"title":"Instances"}}}`)},
		},
		ListFilters: []string{"status", "id"},
		Logs:        &pluginapi.LogsCapabilities{Since: true, Tail: true, Timestamps: true, Until: true, Backward: true, PollIntervalMS: 2000},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "ABEJA Platform connection",
  "required": ["organization_id", "deployment_id"],
  "additionalProperties": false,
  "properties": {
    "organization_id": {"type": "string", "pattern": "^[0-9]+$", "title": "Organization ID", "description": "The organization's numeric identifier."},
    "deployment_id": {"type": "string", "pattern": "^[0-9]+$", "title": "Deployment ID", "description": "The deployment whose services this connection manages."},
    "auth_method": {"type": "string", "enum": ["token", "personal_access_token"], "default": "token", "title": "Authentication",
      "description": "token: an access token sent as Bearer; personal_access_token: user id and personal access token sent as Basic."},
    "token": {"type": "string", "title": "Access token", "description": "Used when auth_method is token.", "x-secret": true},
    "user_id": {"type": "string", "pattern": "^[0-9]+$", "title": "User ID",
      "description": "Your numeric user id (without the user- prefix); used with a personal access token."},
    "personal_access_token": {"type": "string", "title": "Personal access token",
      "description": "Used when auth_method is personal_access_token.", "x-secret": true},
    "endpoint": {"type": "string", "format": "uri", "default": "https://api.abeja.io", "title": "API endpoint",
      "description": "Base URL of the ABEJA Platform API.", "x-endpoint": true},
    "invoke_endpoint": {"type": "string", "format": "uri", "title": "Invoke endpoint",
      "description": "Base URL for requests to services; default https://{organization_id}.api.abeja.io.", "x-endpoint": true,
      "x-endpoint-default": "https://{organization_id}.api.abeja.io"}
  }
}`

const specSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "ABEJA service",
  "required": ["version_id"],
  "additionalProperties": false,
  "properties": {
    "version_id": {"type": "string", "pattern": "^ver-[0-9a-z]+$", "title": "Model version ID",
      "description": "The deployment version to serve, e.g. ver-abc1111111111111. Cannot be changed."},
    "instance_type": {"type": "string", "pattern": "^(cpu|gpu)-[0-9.]+$", "default": "cpu-0.25", "title": "Instance type",
      "description": "e.g. cpu-0.25, cpu-1, gpu-1. Cannot be changed."},
    "instance_number": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1, "title": "Instances",
      "description": "Number of instances."},
    "models": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Models",
      "description": "Training models by alias: {\"alias\": \"<model id>\"}. Cannot be changed."},
    "environment": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Environment",
      "description": "Environment variables of the running service."},
    "enable_autoscale": {"type": "boolean", "default": false, "title": "Autoscale",
      "description": "Scale between the minimum and maximum instance numbers."},
    "min_instance_number": {"type": "integer", "minimum": 1, "maximum": 10, "title": "Minimum instances",
      "description": "Lower bound when autoscaling."},
    "max_instance_number": {"type": "integer", "minimum": 1, "maximum": 10, "title": "Maximum instances",
      "description": "Upper bound when autoscaling; not below the minimum."}
  }
}`

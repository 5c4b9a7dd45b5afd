// Command peak is the Wharf provider plugin for Peak services (the API,
// web-app and Shiny services of https://service.peak.ai, as managed by
// peak-sdk's peak.resources.services). Build it to wasm:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o peak.wasm ./plugins/peak
//
// Peak identifies a service by a UUID; its test endpoint takes the name.
// Peak has no logs, start, stop or scale: "logs" and "lifecycle" answer
// unsupported and are left out of the described operations.
//
// create_or_update: a spec with "upsert": true makes create behave like
// peak-sdk's create_or_update_service — it looks the name up and, when a
// service has it, updates that service instead of failing with a conflict.
// A spec choice (rather than a lifecycle action) because it is a property
// of one create call and needs no service id.
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
		Name:         "peak",
		Version:      version,
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Peak",
		Description:  "API, web-app and Shiny services on the Peak platform.",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete,
			pluginapi.OpList, pluginapi.OpInvoke},
		ListFilters: []string{"status", "name", "serviceType"},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "Peak connection",
  "required": ["api_key"],
  "additionalProperties": false,
  "properties": {
    "api_key": {"type": "string", "minLength": 1, "title": "API key",
      "description": "A Peak tenant API key, sent as the Authorization header.", "x-secret": true},
    "endpoint": {"type": "string", "format": "uri", "title": "Endpoint",
      "description": "Base URL of the Peak API (https://service.dev.peak.ai for the dev stage).",
      "default": "https://service.peak.ai", "x-endpoint": true}
  }
}`

const specSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "Peak service",
  "required": ["name", "imageId"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "title": "Name", "pattern": "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$",
      "description": "Unique name: lowercase letters, digits and hyphens. Cannot be changed later."},
    "title": {"type": "string", "title": "Title", "description": "Display name; changing it does not redeploy."},
    "description": {"type": "string", "title": "Description", "description": "Free text; changing it does not redeploy."},
    "serviceType": {"type": "string", "enum": ["api", "web-app", "shiny"], "default": "api", "title": "Service type",
      "description": "api, web-app or shiny. Cannot be changed later; only api services can be invoked."},
    "imageId": {"type": "integer", "minimum": 1, "title": "Image ID", "description": "ID of the Peak image to run."},
    "versionId": {"type": "integer", "minimum": 1, "title": "Image version ID",
      "description": "ID of the image version; Peak picks the latest when left out."},
    "instanceTypeId": {"type": "integer", "minimum": 1, "title": "Instance type ID",
      "description": "ID of the Peak instance type (CPU and memory size)."},
    "env": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Environment",
      "description": "Environment variables passed to the service."},
    "secrets": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "title": "Secrets",
      "description": "Names of tenant secrets exposed to the service as environment variables."},
    "sessionStickiness": {"type": "boolean", "title": "Session stickiness",
      "description": "Route a client to the same instance; not used by api services."},
    "scaleToZero": {"type": "boolean", "title": "Scale to zero", "description": "Stop instances when idle."},
    "minInstances": {"type": "integer", "minimum": 0, "maximum": 10, "title": "Minimum instances",
      "description": "Instances kept running at all times."},
    "entrypoint": {"type": "string", "title": "Entrypoint", "description": "Command overriding the image's entrypoint."},
    "healthCheckURL": {"type": "string", "title": "Health check URL", "description": "Path Peak probes to decide the service is healthy, e.g. /health."},
    "upsert": {"type": "boolean", "default": false, "title": "Create or update",
      "description": "On create, update the service with this name if it exists instead of failing (peak-sdk create_or_update_service)."}
  }
}`

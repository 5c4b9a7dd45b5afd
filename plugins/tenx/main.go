// Command tenx is the Wharf provider plugin for TenxCloud services (REST
// API v1, https://api.tenxcloud.com/v1/regions/{region}/services). Build it
// to wasm:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o tenx.wasm ./plugins/tenx
//
// A service is keyed by its name within the connection's region. The spec
// describes one container (the common case; a service with more keeps the
// others untouched and shows the first). Only the instance count, the
// memory limit and the bound domains can change after creation, as the
// TenxCloud API allows; other changes answer invalid naming the field.
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
		Name:         "tenx",
		Version:      version,
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "TenxCloud",
		Description:  "Container services on TenxCloud (时速云).",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete,
			pluginapi.OpList, pluginapi.OpLogs, pluginapi.OpLifecycle, pluginapi.OpInstances},
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionStart, Title: "Start", Description: "Start the service's instances."},
			{Name: pluginapi.ActionStop, Title: "Stop", Description: "Stop every instance of the service.", Dangerous: true},
			{Name: pluginapi.ActionRestart, Title: "Restart", Description: "Replace every instance with a new one.", Dangerous: true},
			{Name: pluginapi.ActionScale, Title: "Scale", Description: "Set the number of instances (target_instance_size).",
				ParamsSchema: json.RawMessage(`{"type":"object","required":["replicas"],"additionalProperties":false,
				  "properties":{"replicas":{"type":"integer","minimum":0,"maximum":20,"title":"Instances"}}}`)},
		},
		ListFilters: []string{"name", "status"},
		Logs:        &pluginapi.LogsCapabilities{Since: true, Tail: true, PollIntervalMS: 2000},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "TenxCloud connection",
  "required": ["username", "token", "region"],
  "additionalProperties": false,
  "properties": {
    "username": {"type": "string", "minLength": 1, "title": "User name",
      "description": "Your TenxCloud user name, sent as the username header."},
    "token": {"type": "string", "minLength": 1, "title": "API token",
      "description": "A TenxCloud API token, sent as Authorization: token <api token>.", "x-secret": true},
    "region": {"type": "string", "minLength": 1, "default": "beijing1", "title": "Region",
      "description": "The cluster region services live in, e.g. beijing1."},
    "endpoint": {"type": "string", "format": "uri", "default": "https://api.tenxcloud.com", "title": "Endpoint",
      "description": "Base URL of the TenxCloud API.", "x-endpoint": true}
  }
}`

const specSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "title": "TenxCloud service",
  "required": ["name", "image"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,61}[a-z0-9]$", "title": "Name",
      "description": "Service name: 3-63 lowercase letters, digits and hyphens. Cannot be changed."},
    "image": {"type": "string", "minLength": 1, "title": "Image",
      "description": "Container image, e.g. index.tenxcloud.com/tenxcloud/mysql:latest. Cannot be changed."},
    "command": {"type": "array", "items": {"type": "string"}, "title": "Command",
      "description": "Command and arguments overriding the image's. Cannot be changed."},
    "env": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Environment",
      "description": "Environment variables. Cannot be changed."},
    "ports": {"type": "array", "title": "Ports", "description": "Container ports; public ones get a service URL. Cannot be changed.",
      "items": {"type": "object", "required": ["port"], "additionalProperties": false, "properties": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "Port"},
        "protocol": {"type": "string", "enum": ["TCP", "UDP"], "default": "TCP", "title": "Protocol"},
        "public": {"type": "boolean", "default": true, "title": "Public", "description": "Map the port to a service URL."}}}},
    "instances": {"type": "integer", "minimum": 0, "maximum": 20, "default": 1, "title": "Instances",
      "description": "Number of instances (target_instance_size)."},
    "memory": {"type": "integer", "enum": [256, 512, 1024, 2048], "default": 512, "title": "Memory (MiB)",
      "description": "Container memory limit in MiB."},
    "volumes": {"type": "array", "title": "Volumes", "description": "Disks mounted into the container. Cannot be changed.",
      "items": {"type": "object", "required": ["disk_name", "mount_path"], "additionalProperties": false, "properties": {
        "disk_name": {"type": "string", "minLength": 1, "title": "Disk name"},
        "mount_path": {"type": "string", "pattern": "^/", "title": "Mount path"},
        "read_only": {"type": "boolean", "title": "Read only"}}}},
    "sync_timezone": {"type": "boolean", "title": "Sync time zone",
      "description": "Give the container the host's time zone. Cannot be changed."},
    "domains": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": true, "title": "Bound domains",
      "description": "Your own domain names bound to the service (binding_domain_name)."}
  }
}`

// Command docker is the Wharf provider plugin for Docker Swarm services.
// It speaks the Docker Engine API (the subset docker-py's ServiceApiMixin
// uses) through the host's HTTP function, to a unix socket or a tcp/http
// endpoint. TLS client certificates are out of scope: use a unix socket, a
// plain tcp endpoint on a trusted network, or an https endpoint that needs
// no client certificate.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o docker.wasm ./plugins/docker
package main

import (
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func init() { plugin.Register(provider{}) }

func main() {}

// provider implements plugin.Provider and plugin.InstancesProvider.
type provider struct{}

// version is the plugin's own version.
var version = "1.0.0" // a var, so that a test build may set it (-ldflags -X main.version=…)

// Describe says what the plugin offers.
func (provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name:         "docker",
		Version:      version,
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "Docker Swarm",
		Description:  "Services on a Docker Swarm, through the Docker Engine API (unix socket or tcp).",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete,
			pluginapi.OpList, pluginapi.OpLogs, pluginapi.OpLifecycle, pluginapi.OpInstances, pluginapi.OpChoices},
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionStart, Title: "Start", Description: "Scale a stopped replicated service back to the replica count it had when stopped (1 if unknown)."},
			{Name: pluginapi.ActionStop, Title: "Stop", Description: "Scale a replicated service to 0, remembering its replica count in the label wharf.previous-replicas.", Dangerous: true},
			{Name: pluginapi.ActionRestart, Title: "Restart", Description: "Replace every task (docker service update --force)."},
			{Name: pluginapi.ActionScale, Title: "Scale", Description: "Set the number of replicas of a replicated service.",
				ParamsSchema: json.RawMessage(`{"type":"object","required":["replicas"],"additionalProperties":false,"properties":{"replicas":{"type":"integer","minimum":0,"title":"Replicas","description":"Number of tasks to run."}}}`)},
			{Name: pluginapi.ActionRollback, Title: "Roll back", Description: "Go back to the previous spec (docker service rollback).", Dangerous: true},
		},
		ListFilters: []string{"id", "name", "label", "mode", "status"},
		Logs:        &pluginapi.LogsCapabilities{Since: true, Tail: true, Streams: true, Timestamps: true, Details: true, Until: true, PollIntervalMS: 75},
		Get:         &pluginapi.GetCapabilities{InsertDefaults: true},
		Instances:   &pluginapi.InstancesCapabilities{Filters: []string{"desired_state", "node", "name", "id", "label"}, All: true},
	}
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "host": {
      "type": "string",
      "title": "Docker host",
      "description": "Where the Docker engine (a swarm manager) listens: unix:///var/run/docker.sock, tcp://host:2375 or http://host:2375. TLS client certificates are not supported.",
      "default": "unix:///var/run/docker.sock",
      "pattern": "^(unix|tcp|http|https)://.+",
      "x-endpoint": true,
      "x-endpoint-schemes": {"tcp": {"scheme": "http", "port": 2375}}
    },
    "api_version": {
      "type": "string",
      "title": "API version",
      "description": "Docker Engine API version to use, such as 1.41. Leave empty to negotiate with the engine.",
      "pattern": "^1\\.[0-9]+$"
    }
  },
  "required": ["host"]
}`

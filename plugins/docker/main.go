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
const version = "1.0.0"

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
			pluginapi.OpList, pluginapi.OpLogs, pluginapi.OpLifecycle, pluginapi.OpInstances},
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
      "x-endpoint": true
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

const durationPattern = `^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`

func updateConfigSchema(title, description string) string {
	return `{
      "type": "object",
      "title": "` + title + `",
      "description": "` + description + `",
      "additionalProperties": false,
      "properties": {
        "parallelism": {"type": "integer", "minimum": 0, "title": "Parallelism", "description": "Tasks updated at once; 0 means all at once. Default 1."},
        "delay": {"type": "string", "pattern": "` + durationPattern + `", "title": "Delay", "description": "Wait between updating two batches, e.g. 10s."},
        "failure_action": {"type": "string", "enum": ["pause", "continue", "rollback"], "title": "On failure", "description": "What to do when a task fails to update (rollback is not allowed for rollback_config)."},
        "monitor": {"type": "string", "pattern": "` + durationPattern + `", "title": "Monitor", "description": "How long to watch each task for failure after it is updated, e.g. 5s."},
        "max_failure_ratio": {"type": "number", "minimum": 0, "maximum": 1, "title": "Max failure ratio", "description": "Fraction of tasks that may fail before the failure action applies."},
        "order": {"type": "string", "enum": ["stop-first", "start-first"], "title": "Order", "description": "Stop the old task before starting the new one, or the reverse."}
      }
    }`
}

var specSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["name", "image"],
  "properties": {
    "name": {"type": "string", "title": "Name", "description": "Service name: letters, digits, - and _ (a DNS label). Cannot be changed later.", "pattern": "^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$", "maxLength": 63},
    "image": {"type": "string", "minLength": 1, "title": "Image", "description": "Image reference, such as nginx:1.27 or registry.example.com/app@sha256:..."},
    "command": {"type": "array", "items": {"type": "string"}, "title": "Command", "description": "Overrides the image's entrypoint."},
    "args": {"type": "array", "items": {"type": "string"}, "title": "Arguments", "description": "Arguments to the command (the image's CMD when left out)."},
    "env": {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"pattern": "^[^=]+$"}, "title": "Environment", "description": "Environment variables, name to value."},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Service labels", "description": "Labels on the service."},
    "container_labels": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Container labels", "description": "Labels on each task's container."},
    "workdir": {"type": "string", "title": "Working directory", "description": "Working directory inside the container."},
    "user": {"type": "string", "title": "User", "description": "User (and group) the command runs as, such as 1000:1000."},
    "tty": {"type": "boolean", "title": "TTY", "description": "Allocate a terminal. Logs are then one raw stream."},
    "mode": {"type": "string", "enum": ["replicated", "global", "replicated-job", "global-job"], "default": "replicated", "title": "Mode", "description": "replicated: a number of tasks; global: one task per node; the job modes run to completion."},
    "replicas": {"type": "integer", "minimum": 0, "title": "Replicas", "description": "Number of tasks (replicated), or of completions (replicated-job). Default 1."},
    "max_concurrent": {"type": "integer", "minimum": 1, "title": "Max concurrent", "description": "For replicated-job: tasks running at once."},
    "resources": {
      "type": "object",
      "additionalProperties": false,
      "title": "Resources",
      "description": "CPU in cores (0.5 = half a CPU), memory with a binary unit (512M, 1G).",
      "properties": {
        "cpu_limit": {"type": "number", "minimum": 0, "title": "CPU limit", "description": "Most CPUs a task may use."},
        "memory_limit": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)? ?[kKmMgGtT]?(i?[bB])?$", "title": "Memory limit", "description": "Most memory a task may use, such as 512M."},
        "cpu_reservation": {"type": "number", "minimum": 0, "title": "CPU reservation", "description": "CPUs a node must have free to run a task."},
        "memory_reservation": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)? ?[kKmMgGtT]?(i?[bB])?$", "title": "Memory reservation", "description": "Memory a node must have free to run a task, such as 256M."}
      }
    },
    "restart_policy": {
      "type": "object",
      "additionalProperties": false,
      "title": "Restart policy",
      "description": "What swarm does when a task exits.",
      "properties": {
        "condition": {"type": "string", "enum": ["none", "on-failure", "any"], "title": "Condition", "description": "When to restart. Default any."},
        "delay": {"type": "string", "pattern": "` + durationPattern + `", "title": "Delay", "description": "Wait between restarts, e.g. 5s."},
        "max_attempts": {"type": "integer", "minimum": 0, "title": "Max attempts", "description": "Give up after this many restarts; 0 means never give up."},
        "window": {"type": "string", "pattern": "` + durationPattern + `", "title": "Window", "description": "Time window in which restarts are counted, e.g. 2m."}
      }
    },
    "constraints": {"type": "array", "items": {"type": "string", "minLength": 1}, "title": "Placement constraints", "description": "Such as node.role==manager or node.labels.zone==a."},
    "networks": {"type": "array", "items": {"type": "string", "minLength": 1}, "title": "Networks", "description": "Names or IDs of swarm networks to attach (the engine shows IDs back)."},
    "ports": {
      "type": "array",
      "title": "Ports",
      "description": "Container ports to publish.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["target"],
        "properties": {
          "target": {"type": "integer", "minimum": 1, "maximum": 65535, "title": "Container port"},
          "published": {"type": "integer", "minimum": 0, "maximum": 65535, "title": "Published port", "description": "Port on the swarm; 0 or left out lets swarm pick one."},
          "protocol": {"type": "string", "enum": ["tcp", "udp", "sctp"], "default": "tcp", "title": "Protocol"},
          "mode": {"type": "string", "enum": ["ingress", "host"], "default": "ingress", "title": "Publish mode", "description": "ingress: routing mesh on every node; host: only on the node running the task."}
        }
      }
    },
    "endpoint_mode": {"type": "string", "enum": ["vip", "dnsrr"], "title": "Endpoint mode", "description": "vip: one virtual IP load-balanced by swarm; dnsrr: DNS round robin (no ingress ports)."},
    "update_config": ` + updateConfigSchema("Update strategy", "How a change rolls out over the tasks.") + `,
    "rollback_config": ` + updateConfigSchema("Rollback strategy", "How a rollback rolls out over the tasks.") + `,
    "log_driver": {
      "type": "object",
      "additionalProperties": false,
      "required": ["name"],
      "title": "Log driver",
      "description": "Logging driver of the tasks. Logs can be read back only with json-file, local or journald.",
      "properties": {
        "name": {"type": "string", "minLength": 1, "title": "Driver", "description": "Such as json-file, local, journald, syslog."},
        "options": {"type": "object", "additionalProperties": {"type": "string"}, "title": "Options", "description": "Driver options, such as max-size: 10m."}
      }
    }
  }
}`

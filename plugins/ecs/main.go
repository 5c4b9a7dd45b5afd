// Command ecs is the Wharf provider plugin for AWS ECS services, with logs
// from CloudWatch Logs (awslogs driver). Build it to wasm:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ecs.wasm ./plugins/ecs
//
// It speaks the AWS JSON 1.1 protocol through the host's wharf_http
// function; the host signs every request with SigV4 from the connection's
// secrets, so the plugin never sees a key.
package main

import (
	"encoding/json"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func init() { plugin.Register(provider{}) }

func main() {}

// provider implements plugin.Provider and the instances and deployments extras.
type provider struct{}

var (
	_ plugin.Provider            = provider{}
	_ plugin.InstancesProvider   = provider{}
	_ plugin.DeploymentsProvider = provider{}
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["region"],
  "additionalProperties": false,
  "properties": {
    "region": {"type": "string", "title": "Region", "description": "AWS region of the cluster, for example us-east-1.", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"},
    "cluster": {"type": "string", "title": "Cluster", "description": "ECS cluster name or ARN.", "default": "default"},
    "access_key_id": {"type": "string", "title": "Access key ID", "description": "AWS access key ID.", "x-secret": true},
    "secret_access_key": {"type": "string", "title": "Secret access key", "description": "AWS secret access key.", "x-secret": true},
    "session_token": {"type": "string", "title": "Session token", "description": "Session token of temporary credentials (optional).", "x-secret": true},
    "endpoint": {"type": "string", "title": "ECS endpoint", "description": "Base URL of the ECS API. Leave empty for https://ecs.<region>.amazonaws.com.", "format": "uri", "x-endpoint": true, "x-endpoint-default": "https://ecs.{region}.amazonaws.com"},
    "logs_endpoint": {"type": "string", "title": "CloudWatch Logs endpoint", "description": "Base URL of the CloudWatch Logs API. Leave empty for https://logs.<region>.amazonaws.com.", "format": "uri", "x-endpoint": true, "x-endpoint-default": "https://logs.{region}.amazonaws.com"},
    "log_group_prefix": {"type": "string", "title": "Log group prefix", "description": "When a service's task definition has no awslogs settings, read logs from the group <prefix><service name>, for example /ecs/."}
  }
}`

const specSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["service_name", "task_definition"],
  "additionalProperties": false,
  "properties": {
    "service_name": {"type": "string", "title": "Service name", "description": "Name of the ECS service, unique in the cluster. Cannot be changed.", "pattern": "^[A-Za-z0-9_-]{1,255}$"},
    "task_definition": {"type": "string", "title": "Task definition", "description": "family, family:revision or the full ARN of a registered task definition.", "minLength": 1},
    "desired_count": {"type": "integer", "title": "Desired tasks", "description": "How many tasks to keep running (REPLICA only).", "minimum": 0, "default": 1},
    "launch_type": {"type": "string", "title": "Launch type", "description": "Where tasks run. Cannot be changed.", "enum": ["EC2", "FARGATE", "EXTERNAL"]},
    "scheduling_strategy": {"type": "string", "title": "Scheduling strategy", "description": "REPLICA keeps desired_count tasks; DAEMON runs one per container instance. Cannot be changed.", "enum": ["REPLICA", "DAEMON"], "default": "REPLICA"},
    "network_configuration": {
      "type": "object", "title": "Network (awsvpc)", "description": "Required for FARGATE and awsvpc task definitions.",
      "required": ["subnets"], "additionalProperties": false,
      "properties": {
        "subnets": {"type": "array", "title": "Subnets", "description": "Subnet IDs for the tasks.", "items": {"type": "string"}, "minItems": 1},
        "security_groups": {"type": "array", "title": "Security groups", "description": "Security group IDs for the tasks.", "items": {"type": "string"}},
        "assign_public_ip": {"type": "boolean", "title": "Assign public IP", "description": "Give each task a public IP address."}
      }
    },
    "load_balancers": {
      "type": "array", "title": "Load balancers", "description": "Target groups (or classic load balancers) to register tasks with.",
      "items": {
        "type": "object", "required": ["container_name", "container_port"], "additionalProperties": false,
        "properties": {
          "target_group_arn": {"type": "string", "title": "Target group ARN", "description": "ARN of an ELBv2 target group."},
          "load_balancer_name": {"type": "string", "title": "Classic load balancer", "description": "Name of a classic load balancer."},
          "container_name": {"type": "string", "title": "Container", "description": "Container receiving the traffic."},
          "container_port": {"type": "integer", "title": "Container port", "description": "Port of that container.", "minimum": 1, "maximum": 65535}
        }
      }
    },
    "deployment_configuration": {
      "type": "object", "title": "Deployment", "description": "How rolling deployments proceed.", "additionalProperties": false,
      "properties": {
        "maximum_percent": {"type": "integer", "title": "Maximum percent", "description": "Upper limit of running tasks during a deployment, in percent of desired.", "minimum": 100, "maximum": 1000},
        "minimum_healthy_percent": {"type": "integer", "title": "Minimum healthy percent", "description": "Lower limit of healthy tasks during a deployment, in percent of desired.", "minimum": 0, "maximum": 100},
        "circuit_breaker": {
          "type": "object", "title": "Circuit breaker", "description": "Stop a deployment whose tasks keep failing.", "additionalProperties": false,
          "properties": {
            "enable": {"type": "boolean", "title": "Enable", "description": "Fail deployments whose tasks do not start."},
            "rollback": {"type": "boolean", "title": "Roll back", "description": "Roll back to the last good deployment when it trips."}
          }
        }
      }
    },
    "tags": {"type": "object", "title": "Tags", "description": "Tags of the service. Keys starting with aws: or wharf: are reserved.", "additionalProperties": {"type": "string", "maxLength": 256}},
    "enable_execute_command": {"type": "boolean", "title": "ECS Exec", "description": "Allow ECS Exec into the tasks."},
    "log_group": {"type": "string", "title": "Log group", "description": "CloudWatch Logs group. Leave empty to read it from the task definition's awslogs options."},
    "log_stream_prefix": {"type": "string", "title": "Log stream prefix", "description": "awslogs-stream-prefix. Leave empty to read it from the task definition."},
    "container_name": {"type": "string", "title": "Log container", "description": "Only show logs of this container. Leave empty for all containers."}
  }
}`

const scaleSchema = `{"type": "object", "required": ["replicas"], "additionalProperties": false,
  "properties": {"replicas": {"type": "integer", "title": "Tasks", "description": "New desired task count.", "minimum": 0}}}`

// Describe implements plugin.Provider.
func (provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name:         "ecs",
		Version:      "0.1.0",
		ABIVersion:   pluginapi.ABIVersion,
		Title:        "AWS ECS",
		Description:  "Amazon Elastic Container Service services, with logs from CloudWatch Logs.",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete, pluginapi.OpList,
			pluginapi.OpLogs, pluginapi.OpLifecycle, pluginapi.OpInstances, pluginapi.OpDeployments},
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionScale, Title: "Scale", Description: "Set the desired task count.", ParamsSchema: json.RawMessage(scaleSchema)},
			{Name: pluginapi.ActionRestart, Title: "Restart", Description: "Force a new deployment: every task is replaced."},
			{Name: pluginapi.ActionStop, Title: "Stop", Description: "Scale to 0, remembering the count in the tag " + tagPrevDesired + ".", Dangerous: true},
			{Name: pluginapi.ActionStart, Title: "Start", Description: "Scale back to the count before stop (1 if unknown)."},
			{Name: pluginapi.ActionRollback, Title: "Roll back", Description: "Roll back the deployment in progress to the previous service revision.", Dangerous: true},
		},
		ListFilters: []string{"name", "id", "status", "label", "launch_type", "scheduling_strategy"},
		Instances:   &pluginapi.InstancesCapabilities{Filters: []string{"desired_state"}},
		Logs:        &pluginapi.LogsCapabilities{Since: true, Tail: true, Timestamps: true, Details: true, Until: true, Backward: true, PollIntervalMS: 2000},
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// spec is a Wharf service spec for ECS (see specSchema).
type spec struct {
	ServiceName             string            `json:"service_name"`
	TaskDefinition          string            `json:"task_definition"`
	DesiredCount            *int              `json:"desired_count,omitempty"`
	LaunchType              string            `json:"launch_type,omitempty"`
	SchedulingStrategy      string            `json:"scheduling_strategy,omitempty"`
	NetworkConfiguration    *specNetwork      `json:"network_configuration,omitempty"`
	LoadBalancers           []specLB          `json:"load_balancers,omitempty"`
	DeploymentConfiguration *specDeploy       `json:"deployment_configuration,omitempty"`
	Tags                    map[string]string `json:"tags,omitempty"`
	EnableExecuteCommand    bool              `json:"enable_execute_command,omitempty"`
	LogGroup                string            `json:"log_group,omitempty"`
	LogStreamPrefix         string            `json:"log_stream_prefix,omitempty"`
	ContainerName           string            `json:"container_name,omitempty"`
}

type specNetwork struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"security_groups,omitempty"`
	AssignPublicIP bool     `json:"assign_public_ip,omitempty"`
}

type specLB struct {
	TargetGroupArn   string `json:"target_group_arn,omitempty"`
	LoadBalancerName string `json:"load_balancer_name,omitempty"`
	ContainerName    string `json:"container_name"`
	ContainerPort    int    `json:"container_port"`
}

type specDeploy struct {
	MaximumPercent        *int    `json:"maximum_percent,omitempty"`
	MinimumHealthyPercent *int    `json:"minimum_healthy_percent,omitempty"`
	CircuitBreaker        *specCB `json:"circuit_breaker,omitempty"`
}

type specCB struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// Tags the plugin keeps on the service for its own memory. They survive
// plugin instances, host restarts and other hosts, unlike anything held in
// the (stateless, pooled) plugin.
const (
	tagPrefix        = "wharf:"
	tagPrevDesired   = "wharf:previous-desired-count"
	tagLogGroup      = "wharf:log-group"
	tagLogPrefix     = "wharf:log-stream-prefix"
	tagContainerName = "wharf:container-name"
)

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// parseSpec decodes and checks a spec, naming the offending field.
func parseSpec(raw json.RawMessage) (*spec, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, pluginapi.Invalid("", "spec is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	s := &spec{}
	if err := dec.Decode(s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, pluginapi.Invalid("/"+strings.ReplaceAll(te.Field, ".", "/"), "%s must be of type %s", te.Field, te.Type)
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return nil, pluginapi.Invalid("/"+name, "unknown field %q", name)
		}
		return nil, pluginapi.Invalid("", "spec: %v", err)
	}
	return s, s.validate()
}

func (s *spec) validate() error {
	switch {
	case s.ServiceName == "":
		return pluginapi.Invalid("/service_name", "service_name is required")
	case !serviceNameRE.MatchString(s.ServiceName):
		return pluginapi.Invalid("/service_name", "service_name must be 1-255 letters, digits, '-' or '_'")
	case s.TaskDefinition == "":
		return pluginapi.Invalid("/task_definition", "task_definition is required (family, family:revision or ARN)")
	case s.DesiredCount != nil && *s.DesiredCount < 0:
		return pluginapi.Invalid("/desired_count", "desired_count must be 0 or more")
	}
	switch s.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL":
	default:
		return pluginapi.Invalid("/launch_type", "launch_type must be EC2, FARGATE or EXTERNAL")
	}
	switch s.SchedulingStrategy {
	case "", "REPLICA":
	case "DAEMON":
		if s.DesiredCount != nil {
			return pluginapi.Invalid("/desired_count", "desired_count cannot be set with scheduling_strategy DAEMON (one task per instance)")
		}
		if s.LaunchType == "FARGATE" {
			return pluginapi.Invalid("/scheduling_strategy", "FARGATE does not support the DAEMON scheduling strategy")
		}
	default:
		return pluginapi.Invalid("/scheduling_strategy", "scheduling_strategy must be REPLICA or DAEMON")
	}
	if n := s.NetworkConfiguration; n != nil {
		if len(n.Subnets) == 0 {
			return pluginapi.Invalid("/network_configuration/subnets", "at least one subnet is required")
		}
	} else if s.LaunchType == "FARGATE" {
		return pluginapi.Invalid("/network_configuration", "FARGATE services need network_configuration with subnets")
	}
	for i, lb := range s.LoadBalancers {
		p := "/load_balancers/" + itoa(i)
		if (lb.TargetGroupArn == "") == (lb.LoadBalancerName == "") {
			return pluginapi.Invalid(p, "give exactly one of target_group_arn and load_balancer_name")
		}
		if lb.ContainerName == "" {
			return pluginapi.Invalid(p+"/container_name", "container_name is required")
		}
		if lb.ContainerPort < 1 || lb.ContainerPort > 65535 {
			return pluginapi.Invalid(p+"/container_port", "container_port must be 1-65535")
		}
	}
	if d := s.DeploymentConfiguration; d != nil {
		if d.MaximumPercent != nil && (*d.MaximumPercent < 100 || *d.MaximumPercent > 1000) {
			return pluginapi.Invalid("/deployment_configuration/maximum_percent", "maximum_percent must be 100-1000")
		}
		if d.MinimumHealthyPercent != nil && (*d.MinimumHealthyPercent < 0 || *d.MinimumHealthyPercent > 100) {
			return pluginapi.Invalid("/deployment_configuration/minimum_healthy_percent", "minimum_healthy_percent must be 0-100")
		}
	}
	for k, v := range s.Tags {
		lk := strings.ToLower(k)
		switch {
		case k == "" || len(k) > 128 || len(v) > 256:
			return pluginapi.Invalid("/tags/"+k, "tag keys are 1-128 characters, values at most 256")
		case strings.HasPrefix(lk, "aws:") || strings.HasPrefix(lk, tagPrefix):
			return pluginapi.Invalid("/tags/"+k, "tag keys starting with aws: or wharf: are reserved")
		}
	}
	return nil
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// ECS wire shapes.

type ecsTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type ecsNetwork struct {
	AwsvpcConfiguration *struct {
		Subnets        []string `json:"subnets"`
		SecurityGroups []string `json:"securityGroups,omitempty"`
		AssignPublicIP string   `json:"assignPublicIp,omitempty"`
	} `json:"awsvpcConfiguration,omitempty"`
}

type ecsLB struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    int    `json:"containerPort,omitempty"`
}

type ecsDeployConf struct {
	DeploymentCircuitBreaker *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent        *int `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent *int `json:"minimumHealthyPercent,omitempty"`
}

type ecsDeployment struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int    `json:"desiredCount"`
	RunningCount       int    `json:"runningCount"`
	PendingCount       int    `json:"pendingCount"`
	FailedTasks        int    `json:"failedTasks"`
	CreatedAt          *epoch `json:"createdAt"`
	UpdatedAt          *epoch `json:"updatedAt"`
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason"`
}

type ecsService struct {
	ServiceArn              string          `json:"serviceArn"`
	ServiceName             string          `json:"serviceName"`
	Status                  string          `json:"status"`
	DesiredCount            int             `json:"desiredCount"`
	RunningCount            int             `json:"runningCount"`
	PendingCount            int             `json:"pendingCount"`
	LaunchType              string          `json:"launchType"`
	SchedulingStrategy      string          `json:"schedulingStrategy"`
	TaskDefinition          string          `json:"taskDefinition"`
	LoadBalancers           []ecsLB         `json:"loadBalancers"`
	NetworkConfiguration    *ecsNetwork     `json:"networkConfiguration"`
	DeploymentConfiguration *ecsDeployConf  `json:"deploymentConfiguration"`
	Deployments             []ecsDeployment `json:"deployments"`
	Events                  []struct {
		CreatedAt *epoch `json:"createdAt"`
		Message   string `json:"message"`
	} `json:"events"`
	CreatedAt            *epoch   `json:"createdAt"`
	Tags                 []ecsTag `json:"tags"`
	EnableExecuteCommand bool     `json:"enableExecuteCommand"`

	raw json.RawMessage
}

func (s *ecsService) tag(key string) (string, bool) {
	for _, t := range s.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

func (s *ecsService) primary() *ecsDeployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

func (s *spec) networkToECS() *ecsNetwork {
	if s.NetworkConfiguration == nil {
		return nil
	}
	n := &ecsNetwork{}
	n.AwsvpcConfiguration = &struct {
		Subnets        []string `json:"subnets"`
		SecurityGroups []string `json:"securityGroups,omitempty"`
		AssignPublicIP string   `json:"assignPublicIp,omitempty"`
	}{Subnets: s.NetworkConfiguration.Subnets, SecurityGroups: s.NetworkConfiguration.SecurityGroups, AssignPublicIP: "DISABLED"}
	if s.NetworkConfiguration.AssignPublicIP {
		n.AwsvpcConfiguration.AssignPublicIP = "ENABLED"
	}
	return n
}

func (s *spec) loadBalancersToECS() []ecsLB {
	out := []ecsLB{}
	for _, lb := range s.LoadBalancers {
		out = append(out, ecsLB(lb))
	}
	return out
}

func (s *spec) deployConfToECS() *ecsDeployConf {
	d := s.DeploymentConfiguration
	if d == nil {
		return nil
	}
	out := &ecsDeployConf{MaximumPercent: d.MaximumPercent, MinimumHealthyPercent: d.MinimumHealthyPercent}
	if d.CircuitBreaker != nil {
		out.DeploymentCircuitBreaker = &struct {
			Enable   bool `json:"enable"`
			Rollback bool `json:"rollback"`
		}{d.CircuitBreaker.Enable, d.CircuitBreaker.Rollback}
	}
	return out
}

// tagsToECS returns the user's tags plus the wharf: tags remembering log settings.
func (s *spec) tagsToECS() []ecsTag {
	m := map[string]string{}
	for k, v := range s.Tags {
		m[k] = v
	}
	if s.LogGroup != "" {
		m[tagLogGroup] = s.LogGroup
	}
	if s.LogStreamPrefix != "" {
		m[tagLogPrefix] = s.LogStreamPrefix
	}
	if s.ContainerName != "" {
		m[tagContainerName] = s.ContainerName
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []ecsTag{}
	for _, k := range keys {
		out = append(out, ecsTag{k, m[k]})
	}
	return out
}

// shortTaskDef turns a task definition ARN into "family:revision".
func shortTaskDef(arn string) string {
	if i := strings.Index(arn, ":task-definition/"); i >= 0 {
		return arn[i+len(":task-definition/"):]
	}
	return arn
}

// specOf rebuilds the spec from an ECS service.
func specOf(svc *ecsService) *spec {
	s := &spec{
		ServiceName: svc.ServiceName, TaskDefinition: shortTaskDef(svc.TaskDefinition), LaunchType: svc.LaunchType,
		SchedulingStrategy: svc.SchedulingStrategy, EnableExecuteCommand: svc.EnableExecuteCommand,
	}
	if svc.SchedulingStrategy != "DAEMON" {
		s.DesiredCount = pluginapi.Int(svc.DesiredCount)
	}
	if n := svc.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		s.NetworkConfiguration = &specNetwork{Subnets: n.AwsvpcConfiguration.Subnets, SecurityGroups: n.AwsvpcConfiguration.SecurityGroups,
			AssignPublicIP: n.AwsvpcConfiguration.AssignPublicIP == "ENABLED"}
	}
	for _, lb := range svc.LoadBalancers {
		s.LoadBalancers = append(s.LoadBalancers, specLB(lb))
	}
	if d := svc.DeploymentConfiguration; d != nil {
		s.DeploymentConfiguration = &specDeploy{MaximumPercent: d.MaximumPercent, MinimumHealthyPercent: d.MinimumHealthyPercent}
		if cb := d.DeploymentCircuitBreaker; cb != nil {
			s.DeploymentConfiguration.CircuitBreaker = &specCB{cb.Enable, cb.Rollback}
		}
	}
	for _, t := range svc.Tags {
		switch t.Key {
		case tagLogGroup:
			s.LogGroup = t.Value
		case tagLogPrefix:
			s.LogStreamPrefix = t.Value
		case tagContainerName:
			s.ContainerName = t.Value
		default:
			if !strings.HasPrefix(t.Key, tagPrefix) {
				if s.Tags == nil {
					s.Tags = map[string]string{}
				}
				s.Tags[t.Key] = t.Value
			}
		}
	}
	return s
}

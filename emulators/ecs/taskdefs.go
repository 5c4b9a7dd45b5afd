package ecsemu

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Task definitions: RegisterTaskDefinition, DescribeTaskDefinition, and the demo ones.

type containerDefinition struct {
	Name             string            `json:"name"`
	Image            string            `json:"image"`
	LogConfiguration *logConfiguration `json:"logConfiguration"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

var familyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *Server) opRegisterTaskDefinition(in *map[string]any, now time.Time) (any, *apiError) {
	td, err := s.registerTaskDefinition(*in, now)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": s.taskDefOut(td)}
	if len(td.tags) > 0 {
		out["tags"] = td.tags // AWS leaves the member out when there are none
	}
	return out, nil
}

func (s *Server) registerTaskDefinition(raw map[string]any, now time.Time) (*taskDef, *apiError) {
	var typed struct {
		Family               string                `json:"family"`
		ContainerDefinitions []containerDefinition `json:"containerDefinitions"`
		Tags                 []tag                 `json:"tags"`
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &typed); err != nil {
		return nil, &apiError{Type: "SerializationException", Message: err.Error(), Status: 400}
	}
	if !familyRE.MatchString(typed.Family) {
		return nil, errf("ClientException", "Family contains invalid characters or is empty.")
	}
	if len(typed.ContainerDefinitions) == 0 {
		return nil, errf("ClientException", "Container list cannot be empty.")
	}
	for _, c := range typed.ContainerDefinitions {
		if c.Name == "" {
			return nil, errf("ClientException", "Container.name should not be null or empty.")
		}
		if c.Image == "" {
			return nil, errf("ClientException", "Container.image should not be null or empty.")
		}
	}
	if err := validateTags(typed.Tags); err != nil {
		return nil, err
	}
	delete(raw, "tags")
	rev := len(s.taskDefs[typed.Family]) + 1
	td := &taskDef{
		arn: s.arn(fmt.Sprintf("task-definition/%s:%d", typed.Family, rev)), family: typed.Family, revision: rev,
		status: "ACTIVE", registeredAt: now, raw: raw, containers: typed.ContainerDefinitions, tags: typed.Tags,
	}
	s.taskDefs[typed.Family] = append(s.taskDefs[typed.Family], td)
	return td, nil
}

func (s *Server) taskDefOut(td *taskDef) map[string]any {
	o := map[string]any{}
	for k, v := range td.raw {
		o[k] = v
	}
	o["taskDefinitionArn"] = td.arn
	o["family"] = td.family
	o["revision"] = td.revision
	o["status"] = td.status
	o["registeredAt"] = ts(td.registeredAt)
	o["registeredBy"] = "arn:aws:iam::" + s.opts.AccountID + ":root"
	o["compatibilities"] = []string{"EC2", "FARGATE", "EXTERNAL"}
	return o
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func (s *Server) opDescribeTaskDefinition(in *describeTaskDefinitionInput, now time.Time) (any, *apiError) {
	td := s.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, errf("ClientException", "Unable to describe task definition.")
	}
	out := map[string]any{"taskDefinition": s.taskDefOut(td)}
	if contains(in.Include, "TAGS") {
		out["tags"] = append([]tag{}, td.tags...)
	}
	return out, nil
}

// registerDemoTaskDefinitions adds web:1, web:2, worker:1 and crashloop:1,
// all logging to CloudWatch Logs with the awslogs driver.
func (s *Server) registerDemoTaskDefinitions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registerDemoTaskDefinitionsLocked()
}

func (s *Server) registerDemoTaskDefinitionsLocked() {
	now := s.opts.Now()
	def := func(family, container, image string) map[string]any {
		return map[string]any{
			"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []any{"FARGATE", "EC2"},
			"cpu": "256", "memory": "512",
			"executionRoleArn": "arn:aws:iam::" + s.opts.AccountID + ":role/ecsTaskExecutionRole",
			"containerDefinitions": []any{map[string]any{
				"name": container, "image": image, "essential": true,
				"portMappings": []any{map[string]any{"containerPort": 80, "protocol": "tcp"}},
				"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
					"awslogs-group": "/ecs/" + family, "awslogs-region": s.opts.Region, "awslogs-stream-prefix": "ecs"}},
			}},
		}
	}
	for _, d := range []map[string]any{
		def("web", "web", "public.ecr.aws/nginx/nginx:1.25"),
		def("web", "web", "public.ecr.aws/nginx/nginx:1.27"),
		def("worker", "worker", "public.ecr.aws/docker/library/busybox:1.36"),
		def("crashloop", "app", "public.ecr.aws/docker/library/busybox:broken"),
	} {
		if _, err := s.registerTaskDefinition(d, now); err != nil {
			panic("ecsemu: demo task definition: " + err.Message)
		}
	}
}

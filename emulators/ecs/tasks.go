package ecsemu

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Tasks: ListTasks, DescribeTasks.

type listTasksInput struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	DesiredStatus string `json:"desiredStatus"`
	Family        string `json:"family"`
	StartedBy     string `json:"startedBy"`
	LaunchType    string `json:"launchType"`
	NextToken     string `json:"nextToken"`
	MaxResults    *int   `json:"maxResults"`
}

func (t *task) desiredStatus(now time.Time) string {
	if !t.live() {
		return "STOPPED"
	}
	return "RUNNING"
}

func (s *Server) opListTasks(in *listTasksInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	if in.DesiredStatus == "" {
		in.DesiredStatus = "RUNNING"
	}
	if in.DesiredStatus != "RUNNING" && in.DesiredStatus != "PENDING" && in.DesiredStatus != "STOPPED" {
		return nil, invalidParam("desiredStatus must be one of RUNNING, PENDING, STOPPED.")
	}
	var services []*service
	if in.ServiceName != "" {
		svc, err := s.lookup(cluster, in.ServiceName)
		if err != nil {
			return nil, err
		}
		services = append(services, svc)
	} else {
		for _, svc := range s.services {
			if svc.cluster == cluster {
				services = append(services, svc)
			}
		}
	}
	var arns []string
	for _, svc := range services {
		for _, t := range svc.tasks {
			if t.desiredStatus(now) != in.DesiredStatus || in.Family != "" && t.taskDef.family != in.Family ||
				in.StartedBy != "" && t.startedBy != in.StartedBy || in.LaunchType != "" && t.launchType != in.LaunchType {
				continue
			}
			arns = append(arns, t.arn)
		}
	}
	sort.Strings(arns)
	page, next, err := pageAfter(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskArns": append([]string{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

func (s *Server) findTask(cluster, ref string) *task {
	for _, svc := range s.services {
		if svc.cluster != cluster {
			continue
		}
		for _, t := range svc.tasks {
			if t.arn == ref || t.id == ref {
				return t
			}
		}
	}
	return nil
}

func (s *Server) opDescribeTasks(in *describeTasksInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidParam("Tasks must contain between 1 and 100 elements.")
	}
	tasks, failures := []map[string]any{}, []failure{}
	for _, ref := range in.Tasks {
		t := s.findTask(cluster, ref)
		if t == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("task/" + cluster + "/" + ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		tasks = append(tasks, s.taskOut(t, cluster, now))
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func (s *Server) taskOut(t *task, cluster string, now time.Time) map[string]any {
	last := t.lastStatus(now)
	o := map[string]any{
		"taskArn": t.arn, "clusterArn": s.clusterArn(cluster), "taskDefinitionArn": t.taskDef.arn, "group": t.group,
		"startedBy": t.startedBy, "lastStatus": last, "desiredStatus": t.desiredStatus(now), "launchType": t.launchType,
		"createdAt": ts(t.createdAt), "availabilityZone": s.opts.Region + "a", "connectivity": "CONNECTED",
		"connectivityAt": ts(t.createdAt), "healthStatus": "UNKNOWN", "version": 1,
		"cpu": fmt.Sprint(t.taskDef.raw["cpu"]), "memory": fmt.Sprint(t.taskDef.raw["memory"]),
	}
	if t.launchType == "FARGATE" {
		o["platformVersion"] = "1.4.0"
	}
	if last == "RUNNING" || (last == "STOPPED" && !t.broken && !t.runningAt.After(t.stoppedAt(now))) {
		o["startedAt"] = ts(t.runningAt)
		o["pullStartedAt"] = ts(t.createdAt)
		o["pullStoppedAt"] = ts(t.runningAt)
		o["version"] = 3
	}
	exit := 0
	if stopped := t.stoppedAt(now); !stopped.IsZero() {
		o["stoppingAt"] = ts(stopped)
		o["stoppedAt"] = ts(stopped)
		o["executionStoppedAt"] = ts(stopped)
		o["stoppedReason"] = t.stopReason
		o["stopCode"] = "ServiceSchedulerInitiated"
		if t.broken {
			o["stopCode"], exit = "TaskFailedToStart", 1
		}
		o["version"] = 5
	} else if !t.stopAt.IsZero() {
		o["stoppingAt"] = ts(now)
	}
	var containers []map[string]any
	for _, c := range t.taskDef.containers {
		co := map[string]any{
			"containerArn": s.arn("container/" + cluster + "/" + t.id + "/" + c.Name), "taskArn": t.arn, "name": c.Name,
			"image": c.Image, "lastStatus": last, "runtimeId": t.id + "-" + c.Name, "healthStatus": "UNKNOWN",
		}
		if last == "STOPPED" {
			co["exitCode"] = exit
		}
		containers = append(containers, co)
	}
	o["containers"] = containers
	return o
}

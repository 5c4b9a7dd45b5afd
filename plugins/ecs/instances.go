package main

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/wharfhq/wharf/pluginapi"
)

type ecsTask struct {
	TaskArn           string `json:"taskArn"`
	Group             string `json:"group"`
	LastStatus        string `json:"lastStatus"`
	DesiredStatus     string `json:"desiredStatus"`
	StoppedReason     string `json:"stoppedReason"`
	StopCode          string `json:"stopCode"`
	AvailabilityZone  string `json:"availabilityZone"`
	ContainerInstance string `json:"containerInstanceArn"`
	TaskDefinitionArn string `json:"taskDefinitionArn"`
	CreatedAt         *epoch `json:"createdAt"`
	StartedAt         *epoch `json:"startedAt"`
	StoppedAt         *epoch `json:"stoppedAt"`
	Containers        []struct {
		Name     string `json:"name"`
		Image    string `json:"image"`
		ExitCode *int   `json:"exitCode"`
	} `json:"containers"`
}

func taskStatus(t *ecsTask) pluginapi.Status {
	switch t.LastStatus {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		return pluginapi.StatusPending
	case "RUNNING":
		return pluginapi.StatusRunning
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING":
		return pluginapi.StatusDeleting
	case "STOPPED":
		if t.StopCode == "TaskFailedToStart" {
			return pluginapi.StatusFailed
		}
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				return pluginapi.StatusFailed
			}
		}
		return pluginapi.StatusStopped
	}
	return pluginapi.StatusUnknown
}

func instanceOf(t *ecsTask, raw json.RawMessage) pluginapi.Instance {
	in := pluginapi.Instance{
		ID: lastSegment(t.TaskArn), Name: lastSegment(t.TaskArn), Status: taskStatus(t), NativeStatus: t.LastStatus,
		DesiredState: t.DesiredStatus, Message: t.StoppedReason, Node: t.AvailabilityZone,
		CreatedAt: t.CreatedAt.time(), UpdatedAt: t.StoppedAt.time(), Raw: raw,
	}
	if t.ContainerInstance != "" {
		in.Node = lastSegment(t.ContainerInstance)
	}
	if in.UpdatedAt == nil {
		in.UpdatedAt = t.StartedAt.time()
	}
	if len(t.Containers) > 0 {
		in.Image = t.Containers[0].Image
	}
	return in
}

// describeTasks describes tasks (ids or ARNs) in batches of 100.
func (c *client) describeTasks(refs []string) ([]*ecsTask, []json.RawMessage, error) {
	var tasks []*ecsTask
	var raws []json.RawMessage
	for i := 0; i < len(refs); i += 100 {
		var out struct {
			Tasks []json.RawMessage `json:"tasks"`
		}
		if err := c.ecs("DescribeTasks", map[string]any{"cluster": c.cfg.Cluster, "tasks": refs[i:min(i+100, len(refs))]}, &out); err != nil {
			return nil, nil, err
		}
		for _, raw := range out.Tasks {
			t := &ecsTask{}
			if err := json.Unmarshal(raw, t); err != nil {
				return nil, nil, errorf(pluginapi.CodeInternal, "DescribeTasks: %v", err)
			}
			tasks, raws = append(tasks, t), append(raws, raw)
		}
	}
	return tasks, raws, nil
}

// listTasks returns the ARNs of the service's tasks with a desired status, all pages.
func (c *client) listTasks(service, desired string) ([]string, error) {
	var arns []string
	token := ""
	for pages := 0; pages < 50; pages++ {
		in := map[string]any{"cluster": c.cfg.Cluster, "serviceName": service, "desiredStatus": desired}
		if token != "" {
			in["nextToken"] = token
		}
		var out struct {
			TaskArns  []string `json:"taskArns"`
			NextToken string   `json:"nextToken"`
		}
		if err := c.ecs("ListTasks", in, &out); err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	return arns, nil
}

// Instances implements plugin.InstancesProvider: the service's tasks,
// running and recently stopped (filter "desired_state": RUNNING or STOPPED).
func (provider) Instances(ctx context.Context, req *pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	name, err := serviceName(req.ID)
	if err != nil {
		return nil, err
	}
	if req.InstanceID != "" {
		tasks, raws, err := c.describeTasks([]string{req.InstanceID})
		if err != nil {
			return nil, err
		}
		if len(tasks) == 0 || tasks[0].Group != "service:"+name {
			return nil, pluginapi.NotFound("service %s has no task %s", name, req.InstanceID)
		}
		return &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{instanceOf(tasks[0], raws[0])}}, nil
	}
	states := []string{"RUNNING", "STOPPED"}
	for key, vals := range req.Filters {
		if key != "desired_state" {
			return nil, pluginapi.Invalid("/filters/"+key, "unknown filter %q (known: desired_state)", key)
		}
		for _, v := range vals {
			if v != "RUNNING" && v != "STOPPED" {
				return nil, pluginapi.Invalid("/filters/desired_state", "desired_state must be RUNNING or STOPPED")
			}
		}
		if len(vals) > 0 {
			states = vals
		}
	}
	if _, err := c.service(name); err != nil {
		return nil, err
	}
	var arns []string
	for _, st := range states {
		a, err := c.listTasks(name, st)
		if err != nil {
			return nil, err
		}
		arns = append(arns, a...)
	}
	resp := &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{}}
	if len(arns) == 0 {
		return resp, nil
	}
	tasks, raws, err := c.describeTasks(arns)
	if err != nil {
		return nil, err
	}
	for i, t := range tasks {
		resp.Instances = append(resp.Instances, instanceOf(t, raws[i]))
	}
	// Running first, then newest first.
	sort.SliceStable(resp.Instances, func(i, j int) bool {
		a, b := resp.Instances[i], resp.Instances[j]
		if (a.DesiredState == "RUNNING") != (b.DesiredState == "RUNNING") {
			return a.DesiredState == "RUNNING"
		}
		return a.CreatedAt != nil && b.CreatedAt != nil && a.CreatedAt.After(*b.CreatedAt)
	})
	return resp, nil
}

package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// deploymentStatuses are the ECS service deployment statuses ListServiceDeployments filters on.
var deploymentStatuses = []string{"PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS",
	"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}

type deploymentBrief struct {
	ServiceDeploymentArn     string `json:"serviceDeploymentArn"`
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn"`
	Status                   string `json:"status"`
	StatusReason             string `json:"statusReason"`
	CreatedAt                *epoch `json:"createdAt"`
	StartedAt                *epoch `json:"startedAt"`
	FinishedAt               *epoch `json:"finishedAt"`
	StoppedAt                *epoch `json:"stoppedAt"`
	TargetServiceRevision    *struct {
		Arn string `json:"arn"`
	} `json:"targetServiceRevision"`
	Rollback *struct {
		Reason string `json:"reason"`
	} `json:"rollback"`
}

func (b *deploymentBrief) toDeployment(raw json.RawMessage) pluginapi.Deployment {
	d := pluginapi.Deployment{
		ID: lastSegment(b.ServiceDeploymentArn), Status: b.Status, StatusReason: b.StatusReason,
		Rollback: strings.HasPrefix(b.Status, "ROLLBACK_") || b.Rollback != nil, Target: b.TargetServiceRevisionArn,
		CreatedAt: b.CreatedAt.time(), StartedAt: b.StartedAt.time(), FinishedAt: b.FinishedAt.time(), Raw: raw,
	}
	if d.FinishedAt == nil {
		d.FinishedAt = b.StoppedAt.time()
	}
	if d.Target == "" && b.TargetServiceRevision != nil {
		d.Target = b.TargetServiceRevision.Arn
	}
	return d
}

// Deployments implements plugin.DeploymentsProvider with
// ListServiceDeployments (status, createdAt before/after, nextToken,
// maxResults as the API takes them) or, for one DeploymentID,
// DescribeServiceDeployments.
func (provider) Deployments(ctx context.Context, req *pluginapi.DeploymentsRequest) (*pluginapi.DeploymentsResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	name, err := serviceName(req.ID)
	if err != nil {
		return nil, err
	}
	if req.DeploymentID != "" {
		return c.deployment(name, req.DeploymentID)
	}
	for i, st := range req.Status {
		if !contains(deploymentStatuses, st) {
			return nil, pluginapi.Invalid("/status/"+itoa(i), "unknown deployment status %q (one of %s)", st, strings.Join(deploymentStatuses, ", "))
		}
	}
	if req.PageSize < 0 || req.PageSize > 100 {
		return nil, pluginapi.Invalid("/page_size", "page_size must be 1-100")
	}
	in := map[string]any{"cluster": c.cfg.Cluster, "service": name}
	if len(req.Status) > 0 {
		in["status"] = req.Status
	}
	if req.CreatedAfter != nil || req.CreatedBefore != nil {
		created := map[string]float64{}
		if req.CreatedAfter != nil {
			created["after"] = toEpoch(*req.CreatedAfter)
		}
		if req.CreatedBefore != nil {
			created["before"] = toEpoch(*req.CreatedBefore)
		}
		in["createdAt"] = created
	}
	if req.PageSize > 0 {
		in["maxResults"] = req.PageSize
	}
	if req.PageToken != "" {
		in["nextToken"] = req.PageToken
	}
	var out struct {
		ServiceDeployments []json.RawMessage `json:"serviceDeployments"`
		NextToken          string            `json:"nextToken"`
	}
	if err := c.ecs("ListServiceDeployments", in, &out); err != nil {
		return nil, err
	}
	resp := &pluginapi.DeploymentsResponse{Deployments: []pluginapi.Deployment{}, NextPageToken: out.NextToken}
	for _, raw := range out.ServiceDeployments {
		var b deploymentBrief
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, errorf(pluginapi.CodeInternal, "ListServiceDeployments: %v", err)
		}
		resp.Deployments = append(resp.Deployments, b.toDeployment(raw))
	}
	// Newest first, as the contract asks, whatever order the API used.
	sort.SliceStable(resp.Deployments, func(i, j int) bool {
		a, b := resp.Deployments[i].CreatedAt, resp.Deployments[j].CreatedAt
		return a != nil && b != nil && a.After(*b)
	})
	return resp, nil
}

// deployment describes one service deployment, by id or ARN.
func (c *client) deployment(name, id string) (*pluginapi.DeploymentsResponse, error) {
	arn := id
	if !strings.HasPrefix(id, "arn:") {
		// The ARN is the service's with "service-deployment" and the id appended.
		s, err := c.service(name)
		if err != nil {
			return nil, err
		}
		arn = strings.Replace(s.ServiceArn, ":service/", ":service-deployment/", 1) + "/" + id
	} else if !strings.Contains(arn, "/"+name+"/") {
		return nil, pluginapi.NotFound("deployment %s is not one of service %s", id, name)
	}
	var out struct {
		ServiceDeployments []json.RawMessage `json:"serviceDeployments"`
	}
	if err := c.ecs("DescribeServiceDeployments", map[string]any{"serviceDeploymentArns": []string{arn}}, &out); err != nil {
		return nil, err
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, pluginapi.NotFound("service %s has no deployment %s", name, id)
	}
	var b deploymentBrief
	if err := json.Unmarshal(out.ServiceDeployments[0], &b); err != nil {
		return nil, errorf(pluginapi.CodeInternal, "DescribeServiceDeployments: %v", err)
	}
	return &pluginapi.DeploymentsResponse{Deployments: []pluginapi.Deployment{b.toDeployment(out.ServiceDeployments[0])}}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

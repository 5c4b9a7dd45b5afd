package main

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// describe fetches services by name (at most 10), tags included. Missing or
// INACTIVE ones are left out.
func (c *client) describe(names []string) ([]*ecsService, error) {
	var out struct {
		Services []json.RawMessage `json:"services"`
	}
	in := map[string]any{"cluster": c.cfg.Cluster, "services": names, "include": []string{"TAGS"}}
	if err := c.ecs("DescribeServices", in, &out); err != nil {
		return nil, err
	}
	var svcs []*ecsService
	for _, raw := range out.Services {
		s := &ecsService{raw: raw}
		if err := json.Unmarshal(raw, s); err != nil {
			return nil, errorf(pluginapi.CodeInternal, "DescribeServices: %v", err)
		}
		if s.Status != "INACTIVE" {
			svcs = append(svcs, s)
		}
	}
	return svcs, nil
}

// service fetches one service; an INACTIVE (deleted) one is not found.
func (c *client) service(id string) (*ecsService, error) {
	name, err := serviceName(id)
	if err != nil {
		return nil, err
	}
	svcs, err := c.describe([]string{name})
	if err != nil {
		return nil, err
	}
	if len(svcs) == 0 {
		return nil, pluginapi.NotFound("ECS service %q not found in cluster %q", name, c.cfg.Cluster)
	}
	return svcs[0], nil
}

// normalize builds the Wharf view of an ECS service.
//
// Version stays empty: ECS has no optimistic concurrency token (no version
// or ETag on services), so concurrent updates cannot be detected.
func normalize(s *ecsService) pluginapi.Service {
	out := pluginapi.Service{
		ID: s.ServiceName, Name: s.ServiceName, NativeStatus: s.Status,
		Desired: pluginapi.Int(s.DesiredCount), Running: pluginapi.Int(s.RunningCount),
		Image: shortTaskDef(s.TaskDefinition), CreatedAt: s.CreatedAt.time(), Raw: s.raw,
		ActionsAvailable: actionsAvailable(s),
	}
	if len(s.Events) > 0 {
		out.StatusMessage = s.Events[0].Message
	}
	for _, t := range s.Tags {
		if strings.HasPrefix(t.Key, tagPrefix) {
			continue // the plugin's bookkeeping, not the user's; kept in Raw
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[t.Key] = t.Value
	}
	for _, lb := range s.LoadBalancers {
		out.Endpoints = append(out.Endpoints, pluginapi.Endpoint{Protocol: "tcp", Port: lb.ContainerPort})
	}
	if b, err := json.Marshal(specOf(s)); err == nil {
		out.Spec = b
	}
	p := s.primary()
	if p != nil {
		out.UpdatedAt = p.UpdatedAt.time()
		lower := strings.ToLower(p.RolloutStateReason)
		out.Rollout = &pluginapi.Rollout{State: p.RolloutState, Message: p.RolloutStateReason, StartedAt: p.CreatedAt.time(),
			Rollback: strings.Contains(lower, "rolling back") || strings.Contains(lower, "rollback")}
		if p.RolloutState == "COMPLETED" {
			out.Rollout.CompletedAt = p.UpdatedAt.time()
		}
	}
	out.Status = status(s, p)
	return out
}

func status(s *ecsService, p *ecsDeployment) pluginapi.Status {
	switch s.Status {
	case "DRAINING", "INACTIVE":
		return pluginapi.StatusDeleting
	case "ACTIVE":
	default:
		return pluginapi.StatusUnknown
	}
	if p == nil {
		return pluginapi.StatusPending
	}
	if p.RolloutState == "FAILED" {
		return pluginapi.StatusFailed
	}
	// Nothing desired and nothing left running: stopped, even while ECS
	// still calls a deployment of zero tasks in progress.
	if s.DesiredCount == 0 && s.RunningCount == 0 && s.PendingCount == 0 {
		return pluginapi.StatusStopped
	}
	switch p.RolloutState {
	case "IN_PROGRESS":
		// The first rollout of a service is "deploying", later ones "updating".
		if len(s.Deployments) == 1 && p.CreatedAt != nil && s.CreatedAt != nil && float64(*p.CreatedAt)-float64(*s.CreatedAt) < 1 {
			return pluginapi.StatusDeploying
		}
		return pluginapi.StatusUpdating
	}
	if s.RunningCount == s.DesiredCount && len(s.Deployments) == 1 {
		return pluginapi.StatusRunning
	}
	// Scaling (in or out) with a completed rollout.
	return pluginapi.StatusUpdating
}

func serviceResponse(s *ecsService) *pluginapi.ServiceResponse {
	n := normalize(s)
	return &pluginapi.ServiceResponse{Service: &n}
}

// Create implements plugin.Provider.
func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	sp, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	in := map[string]any{
		"cluster": c.cfg.Cluster, "serviceName": sp.ServiceName, "taskDefinition": sp.TaskDefinition,
		"enableExecuteCommand": sp.EnableExecuteCommand,
	}
	if sp.SchedulingStrategy != "DAEMON" {
		in["desiredCount"] = 1
		if sp.DesiredCount != nil {
			in["desiredCount"] = *sp.DesiredCount
		}
	}
	if sp.LaunchType != "" {
		in["launchType"] = sp.LaunchType
	}
	if sp.SchedulingStrategy != "" {
		in["schedulingStrategy"] = sp.SchedulingStrategy
	}
	if n := sp.networkToECS(); n != nil {
		in["networkConfiguration"] = n
	}
	if len(sp.LoadBalancers) > 0 {
		in["loadBalancers"] = sp.loadBalancersToECS()
	}
	if d := sp.deployConfToECS(); d != nil {
		in["deploymentConfiguration"] = d
	}
	if tags := sp.tagsToECS(); len(tags) > 0 {
		in["tags"] = tags
	}
	var out struct {
		Service json.RawMessage `json:"service"`
	}
	if err := c.ecs("CreateService", in, &out); err != nil {
		return nil, err
	}
	s := &ecsService{raw: out.Service}
	if err := json.Unmarshal(out.Service, s); err != nil {
		return nil, errorf(pluginapi.CodeInternal, "CreateService: %v", err)
	}
	return serviceResponse(s), nil
}

// Get implements plugin.Provider.
func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	s, err := c.service(req.ID)
	if err != nil {
		return nil, err
	}
	return serviceResponse(s), nil
}

// Update implements plugin.Provider. The spec is complete: fields ECS can
// change go to UpdateService, tags are synced with TagResource/UntagResource,
// and fields ECS cannot change are refused. UpdateService changes only the
// members it is sent, so the plugin sends only those that differ from the
// service as it is (none: no call at all), and builds deploymentConfiguration
// from the current one, so that members the spec does not model (alarms,
// and any ECS adds) are kept; a spec without desired_count keeps the count.
func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	sp, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	cur, err := c.service(req.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case sp.ServiceName != cur.ServiceName:
		return nil, pluginapi.Invalid("/service_name", "service_name cannot be changed (it is %q)", cur.ServiceName)
	case sp.LaunchType != "" && sp.LaunchType != cur.LaunchType:
		return nil, pluginapi.Invalid("/launch_type", "launch_type cannot be changed (it is %s)", cur.LaunchType)
	case sp.SchedulingStrategy != "" && sp.SchedulingStrategy != cur.SchedulingStrategy:
		return nil, pluginapi.Invalid("/scheduling_strategy", "scheduling_strategy cannot be changed (it is %s)", cur.SchedulingStrategy)
	}
	in, err := updateInput(sp, cur)
	if err != nil {
		return nil, err
	}
	if len(in) > 0 {
		in["cluster"], in["service"] = c.cfg.Cluster, cur.ServiceName
		if err := c.ecs("UpdateService", in, nil); err != nil {
			return nil, err
		}
	}
	if err := c.syncTags(cur, sp.tagsToECS()); err != nil {
		return nil, err
	}
	s, err := c.service(cur.ServiceName)
	if err != nil {
		return nil, err
	}
	return serviceResponse(s), nil
}

// updateInput is the UpdateService input for the members of sp that differ
// from cur (empty when none does). Network and load balancer changes start
// a deployment, so an unchanged one is never sent.
func updateInput(sp *spec, cur *ecsService) (map[string]any, error) {
	in := map[string]any{}
	if sp.TaskDefinition != shortTaskDef(cur.TaskDefinition) && sp.TaskDefinition != cur.TaskDefinition {
		in["taskDefinition"] = sp.TaskDefinition
	}
	if sp.EnableExecuteCommand != cur.EnableExecuteCommand {
		in["enableExecuteCommand"] = sp.EnableExecuteCommand
	}
	curSpec := specOf(cur)
	if !sameJSON(curSpec.loadBalancersToECS(), sp.loadBalancersToECS()) {
		in["loadBalancers"] = sp.loadBalancersToECS()
	}
	if cur.SchedulingStrategy != "DAEMON" && sp.DesiredCount != nil && *sp.DesiredCount != cur.DesiredCount {
		in["desiredCount"] = *sp.DesiredCount
	}
	if n := sp.networkToECS(); n != nil && !sameJSON(n, curSpec.networkToECS()) {
		in["networkConfiguration"] = n
	}
	if d := sp.deployConfToECS(); d != nil {
		dc, changed, err := mergeDeployConf(cur.raw, d)
		if err != nil {
			return nil, err
		}
		if changed {
			in["deploymentConfiguration"] = dc
		}
	}
	return in, nil
}

// mergeDeployConf puts the members the spec models onto the service's
// current deploymentConfiguration (raw, as DescribeServices answered it)
// and says whether one of them changed.
func mergeDeployConf(rawService json.RawMessage, want *ecsDeployConf) (map[string]json.RawMessage, bool, error) {
	var svc struct {
		DeploymentConfiguration map[string]json.RawMessage `json:"deploymentConfiguration"`
	}
	if len(rawService) > 0 {
		if err := json.Unmarshal(rawService, &svc); err != nil {
			return nil, false, errorf(pluginapi.CodeInternal, "DescribeServices: %v", err)
		}
	}
	dc := svc.DeploymentConfiguration
	if dc == nil {
		dc = map[string]json.RawMessage{}
	}
	changed := false
	put := func(key string, v any, present bool) {
		if !present {
			return // left out of the spec: ECS keeps it
		}
		b, _ := json.Marshal(v)
		if !sameRaw(dc[key], b) {
			dc[key], changed = b, true
		}
	}
	put("maximumPercent", want.MaximumPercent, want.MaximumPercent != nil)
	put("minimumHealthyPercent", want.MinimumHealthyPercent, want.MinimumHealthyPercent != nil)
	put("deploymentCircuitBreaker", want.DeploymentCircuitBreaker, want.DeploymentCircuitBreaker != nil)
	return dc, changed, nil
}

// sameRaw compares two JSON values by meaning (member order and spacing aside).
func sameRaw(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return sameJSON(x, y)
}

// syncTags makes the service's tags equal want, leaving wharf: bookkeeping
// tags that want does not manage (the previous desired count) alone.
func (c *client) syncTags(cur *ecsService, want []ecsTag) error {
	have := map[string]string{}
	for _, t := range cur.Tags {
		have[t.Key] = t.Value
	}
	wantKeys := map[string]bool{}
	var add []ecsTag
	for _, t := range want {
		wantKeys[t.Key] = true
		if v, ok := have[t.Key]; !ok || v != t.Value {
			add = append(add, t)
		}
	}
	var remove []string
	for k := range have {
		if !wantKeys[k] && k != tagPrevDesired {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	if len(add) > 0 {
		if err := c.ecs("TagResource", map[string]any{"resourceArn": cur.ServiceArn, "tags": add}, nil); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if err := c.ecs("UntagResource", map[string]any{"resourceArn": cur.ServiceArn, "tagKeys": remove}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements plugin.Provider. ECS refuses to delete a service still
// scaled above 0 unless forced; that becomes a conflict with a hint.
func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	name, err := serviceName(req.ID)
	if err != nil {
		return nil, err
	}
	var out struct {
		Service json.RawMessage `json:"service"`
	}
	err = c.ecs("DeleteService", map[string]any{"cluster": c.cfg.Cluster, "service": name, "force": req.Force}, &out)
	if e := pluginapi.AsError(err); e != nil {
		if e.Code == pluginapi.CodeInvalid && strings.Contains(e.Message, "scaled above 0") {
			return nil, &pluginapi.Error{Code: pluginapi.CodeConflict, Detail: e.Detail,
				Message: "service " + name + " still has desired tasks: stop it (scale to 0) first, or delete with force"}
		}
		return nil, e
	}
	s := &ecsService{raw: out.Service}
	if err := json.Unmarshal(out.Service, s); err != nil {
		return nil, errorf(pluginapi.CodeInternal, "DeleteService: %v", err)
	}
	return serviceResponse(s), nil
}

// List implements plugin.Provider: ListServices pages (the page token passes
// through), then DescribeServices in batches of 10.
func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	in := map[string]any{"cluster": c.cfg.Cluster}
	for key, vals := range req.Filters {
		switch key {
		case "name", "id", "status", "label":
		case "launch_type", "scheduling_strategy":
			field := map[string]string{"launch_type": "launchType", "scheduling_strategy": "schedulingStrategy"}[key]
			if len(vals) == 1 {
				in[field] = vals[0] // ECS filters one value server-side; several are filtered here
			}
		default:
			return nil, pluginapi.Invalid("/filters/"+key, "unknown filter %q (known: name, id, status, label, launch_type, scheduling_strategy)", key)
		}
	}
	if req.PageSize > 0 {
		in["maxResults"] = min(req.PageSize, 100)
	}
	if req.PageToken != "" {
		in["nextToken"] = req.PageToken
	}
	var page struct {
		ServiceArns []string `json:"serviceArns"`
		NextToken   string   `json:"nextToken"`
	}
	if err := c.ecs("ListServices", in, &page); err != nil {
		return nil, err
	}
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{}, NextPageToken: page.NextToken}
	for i := 0; i < len(page.ServiceArns); i += 10 {
		var names []string
		for _, arn := range page.ServiceArns[i:min(i+10, len(page.ServiceArns))] {
			names = append(names, lastSegment(arn))
		}
		svcs, err := c.describe(names)
		if err != nil {
			return nil, err
		}
		for _, s := range svcs {
			n := normalize(s)
			if matchFilters(req.Filters, s, &n) {
				resp.Services = append(resp.Services, n)
			}
		}
	}
	return resp, nil
}

func matchFilters(filters map[string][]string, s *ecsService, n *pluginapi.Service) bool {
	for key, vals := range filters {
		if len(vals) == 0 {
			continue
		}
		ok := false
		for _, v := range vals {
			switch key {
			case "name":
				ok = ok || strings.Contains(s.ServiceName, v)
			case "id":
				ok = ok || s.ServiceName == v || s.ServiceArn == v
			case "status":
				ok = ok || string(n.Status) == v
			case "label":
				k, val, hasVal := strings.Cut(v, "=")
				got, has := s.tag(k)
				ok = ok || has && (!hasVal || got == val)
			case "launch_type":
				ok = ok || s.LaunchType == v
			case "scheduling_strategy":
				ok = ok || s.SchedulingStrategy == v
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Lifecycle implements plugin.Provider.
func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	c, err := newClient(ctx, req.Config)
	if err != nil {
		return nil, err
	}
	cur, err := c.service(req.ID)
	if err != nil {
		return nil, err
	}
	if cur.Status != "ACTIVE" {
		return nil, errorf(pluginapi.CodeConflict, "service %s is %s", cur.ServiceName, cur.Status)
	}
	update := func(in map[string]any) error {
		in["cluster"], in["service"] = c.cfg.Cluster, cur.ServiceName
		return c.ecs("UpdateService", in, nil)
	}
	switch req.Action {
	case pluginapi.ActionScale:
		var p pluginapi.ScaleParams
		if len(req.Params) == 0 || json.Unmarshal(req.Params, &p) != nil || !strings.Contains(string(req.Params), `"replicas"`) {
			return nil, pluginapi.Invalid("/replicas", `scale needs {"replicas": N}`)
		}
		if p.Replicas < 0 {
			return nil, pluginapi.Invalid("/replicas", "replicas must be 0 or more")
		}
		if cur.SchedulingStrategy == "DAEMON" {
			return nil, pluginapi.Invalid("/replicas", "a DAEMON service runs one task per instance and cannot be scaled")
		}
		err = update(map[string]any{"desiredCount": p.Replicas})
	case pluginapi.ActionRestart:
		err = update(map[string]any{"forceNewDeployment": true})
	case pluginapi.ActionStop:
		if cur.SchedulingStrategy == "DAEMON" {
			return nil, errorf(pluginapi.CodeUnsupported, "a DAEMON service cannot be stopped by scaling; delete it instead")
		}
		if cur.DesiredCount == 0 {
			break // already stopped: keep the remembered count
		}
		// The count to come back to lives in a tag on the service itself: the
		// plugin is stateless and the tag survives restarts and other hosts.
		tags := []ecsTag{{tagPrevDesired, strconv.Itoa(cur.DesiredCount)}}
		if err = c.ecs("TagResource", map[string]any{"resourceArn": cur.ServiceArn, "tags": tags}, nil); err == nil {
			err = update(map[string]any{"desiredCount": 0})
		}
	case pluginapi.ActionStart:
		if cur.DesiredCount > 0 || cur.SchedulingStrategy == "DAEMON" {
			break // already started
		}
		n := 1
		if v, ok := cur.tag(tagPrevDesired); ok {
			if p, perr := strconv.Atoi(v); perr == nil && p > 0 {
				n = p
			}
		}
		if err = update(map[string]any{"desiredCount": n}); err == nil {
			if _, ok := cur.tag(tagPrevDesired); ok {
				err = c.ecs("UntagResource", map[string]any{"resourceArn": cur.ServiceArn, "tagKeys": []string{tagPrevDesired}}, nil)
			}
		}
	case pluginapi.ActionRollback:
		err = c.rollback(cur)
	default:
		return nil, pluginapi.Invalid("/action", "unknown action %q (scale, restart, stop, start, rollback)", req.Action)
	}
	if err != nil {
		return nil, err
	}
	s, err := c.service(cur.ServiceName)
	if err != nil {
		return nil, err
	}
	return serviceResponse(s), nil
}

// rollback stops the in-progress service deployment with a ROLLBACK.
func (c *client) rollback(cur *ecsService) error {
	var out struct {
		ServiceDeployments []struct {
			ServiceDeploymentArn string `json:"serviceDeploymentArn"`
		} `json:"serviceDeployments"`
	}
	in := map[string]any{"cluster": c.cfg.Cluster, "service": cur.ServiceName, "status": []string{"IN_PROGRESS", "PENDING"}, "maxResults": 1}
	if err := c.ecs("ListServiceDeployments", in, &out); err != nil {
		return err
	}
	if len(out.ServiceDeployments) == 0 {
		return errorf(pluginapi.CodeConflict, "service %s has no deployment in progress to roll back", cur.ServiceName)
	}
	return c.ecs("StopServiceDeployment", map[string]any{"serviceDeploymentArn": out.ServiceDeployments[0].ServiceDeploymentArn, "stopType": "ROLLBACK"}, nil)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Command fakeplugin is a Wharf provider plugin for the in-memory platform
// of host/ops/opstest/fakeplatform. It exists to test the host end to end
// (runtime, egress, schema, audit, REST) with a real wasm module, and
// offers every operation and action of ABI v1.
package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

func init() { plugin.Register(provider{}) }

func main() {}

type provider struct{}

const configSchema = `{
  "type": "object",
  "properties": {
    "endpoint": {"type": "string", "title": "Endpoint", "description": "Base URL of the platform", "x-endpoint": true},
    "token": {"type": "string", "title": "Token", "description": "API token", "x-secret": true, "minLength": 1},
    "region": {"type": "string", "title": "Region", "description": "Where services run", "default": "local"}
  },
  "required": ["endpoint", "token"],
  "additionalProperties": false
}`

const specSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "title": "Name", "description": "Service name", "pattern": "^[a-z][a-z0-9-]*$"},
    "image": {"type": "string", "title": "Image", "description": "Container image", "minLength": 1},
    "replicas": {"type": "integer", "title": "Replicas", "description": "Instances to run", "minimum": 0, "default": 1},
    "env": {"type": "object", "title": "Environment", "description": "Environment variables", "additionalProperties": {"type": "string"}},
    "labels": {"type": "object", "title": "Labels", "description": "Labels", "additionalProperties": {"type": "string"}}
  },
  "required": ["name", "image"],
  "additionalProperties": false
}`

func (provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name: "fake", Version: "0.1.0", Title: "Fake platform",
		ConfigSchema: json.RawMessage(configSchema),
		SpecSchema:   json.RawMessage(specSchema),
		Operations: append(append([]string{}, pluginapi.RequiredOperations...),
			pluginapi.OpInstances, pluginapi.OpDeployments, pluginapi.OpInvoke),
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionStart, Title: "Start"},
			{Name: pluginapi.ActionStop, Title: "Stop", Dangerous: true},
			{Name: pluginapi.ActionRestart, Title: "Restart"},
			{Name: pluginapi.ActionScale, Title: "Scale", ParamsSchema: json.RawMessage(
				`{"type":"object","properties":{"replicas":{"type":"integer","minimum":0,"title":"Replicas"}},"required":["replicas"],"additionalProperties":false}`)},
			{Name: pluginapi.ActionRollback, Title: "Roll back"},
		},
		ListFilters: []string{"name", "status", "label"},
		Get:         &pluginapi.GetCapabilities{InsertDefaults: true},
		Instances:   &pluginapi.InstancesCapabilities{Filters: []string{"desired_state"}, All: true},
		Logs:        &pluginapi.LogsCapabilities{Since: true, Tail: true, Streams: true, Details: true, PollIntervalMS: 20},
	}
}

// platform types, as the fake platform speaks them.
type spec struct {
	Name     string            `json:"name"`
	Image    string            `json:"image"`
	Replicas int               `json:"replicas"`
	Env      map[string]string `json:"env,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

type service struct {
	ID        string    `json:"id"`
	Spec      spec      `json:"spec"`
	State     string    `json:"state"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Rollout   *struct {
		State       string     `json:"state"`
		StartedAt   time.Time  `json:"started_at"`
		CompletedAt *time.Time `json:"completed_at"`
	} `json:"rollout"`
}

// call sends one request to the platform and decodes a 2xx answer into out.
func call(ctx context.Context, method, path string, query url.Values, headers map[string]string, body, out any) error {
	req := &pluginapi.HTTPRequest{Method: method, Endpoint: "endpoint", Path: path, Query: query,
		Headers: headers, Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return pluginapi.Errorf(pluginapi.CodeInternal, "encode: %v", err)
		}
		req.Body = b
		if req.Headers == nil {
			req.Headers = map[string]string{}
		}
		req.Headers["Content-Type"] = "application/json"
	}
	resp := plugin.HTTP(ctx).Do(req)
	if resp.Error != nil {
		return resp.Error
	}
	if resp.Status >= 300 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(resp.Body, &e)
		code := pluginapi.CodeInternal
		switch resp.Status {
		case 400:
			code = pluginapi.CodeInvalid
		case 401:
			code = pluginapi.CodeUnauthorized
		case 403:
			code = pluginapi.CodeForbidden
		case 404:
			code = pluginapi.CodeNotFound
		case 409:
			code = pluginapi.CodeConflict
		default:
			if resp.Status >= 500 {
				code = pluginapi.CodeUnavailable
			}
		}
		return &pluginapi.Error{Code: code, Message: e.Message, Detail: map[string]any{"status": resp.Status}}
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return pluginapi.Errorf(pluginapi.CodeInternal, "decode platform answer: %v", err)
		}
	}
	return nil
}

func normalize(s *service) *pluginapi.Service {
	st := pluginapi.StatusRunning
	running := s.Spec.Replicas
	switch s.State {
	case "STOPPED":
		st, running = pluginapi.StatusStopped, 0
	case "FAILED":
		st, running = pluginapi.StatusFailed, 0
	}
	sp, _ := json.Marshal(s.Spec)
	raw, _ := json.Marshal(s)
	out := &pluginapi.Service{ID: s.ID, Name: s.Spec.Name, Status: st, NativeStatus: s.State,
		Desired: pluginapi.Int(s.Spec.Replicas), Running: pluginapi.Int(running), Image: s.Spec.Image,
		Labels: s.Spec.Labels, CreatedAt: pluginapi.Time(s.CreatedAt), UpdatedAt: pluginapi.Time(s.UpdatedAt),
		Version: strconv.Itoa(s.Version), Spec: sp, Raw: raw}
	if r := s.Rollout; r != nil {
		out.Rollout = &pluginapi.Rollout{State: r.State, StartedAt: pluginapi.Time(r.StartedAt), CompletedAt: r.CompletedAt}
	}
	// A test sets the ABI 1.5 hint through a label: "" is none, else a
	// comma-separated list of action names.
	if v, ok := s.Spec.Labels[labelActions]; ok {
		out.ActionsAvailable = []string{}
		if v != "" {
			out.ActionsAvailable = strings.Split(v, ",")
		}
	}
	return out
}

// labelActions is the label a test sets to make the service answer
// actions_available.
const labelActions = "fake.actions-available"

func decodeSpec(raw json.RawMessage) (spec, error) {
	var s spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, pluginapi.Invalid("", "spec: %v", err)
	}
	return s, nil
}

func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	sp, err := decodeSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	var s service
	if err := call(ctx, "POST", "/services", nil, nil, sp, &s); err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: normalize(&s)}, nil
}

func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	var s service
	if err := call(ctx, "GET", "/services/"+url.PathEscape(req.ID), nil, nil, nil, &s); err != nil {
		return nil, err
	}
	if req.InsertDefaults && s.Spec.Env == nil {
		// The fake platform's default environment, shown explicitly.
		s.Spec.Env = map[string]string{"PATH": "/usr/bin"}
	}
	return &pluginapi.ServiceResponse{Service: normalize(&s)}, nil
}

func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	sp, err := decodeSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	var h map[string]string
	if req.Version != "" {
		h = map[string]string{"If-Match": req.Version}
	}
	var s service
	if err := call(ctx, "PUT", "/services/"+url.PathEscape(req.ID), nil, h, sp, &s); err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: normalize(&s)}, nil
}

func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	q := url.Values{}
	if req.Force {
		q.Set("force", "true")
	}
	if err := call(ctx, "DELETE", "/services/"+url.PathEscape(req.ID), q, nil, nil, nil); err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{}, nil
}

func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	q := url.Values{}
	for k, vs := range req.Filters {
		switch k {
		case "name", "status", "label":
			q[k] = vs
		default:
			return nil, pluginapi.Invalid("/filters/"+k, "unknown filter %q: this plugin understands name, status, label", k)
		}
	}
	if req.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(req.PageSize))
	}
	if req.PageToken != "" {
		q.Set("page_token", req.PageToken)
	}
	var out struct {
		Services []service `json:"services"`
		Next     string    `json:"next"`
	}
	if err := call(ctx, "GET", "/services", q, nil, nil, &out); err != nil {
		return nil, err
	}
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{}, NextPageToken: out.Next}
	for i := range out.Services {
		resp.Services = append(resp.Services, *normalize(&out.Services[i]))
	}
	return resp, nil
}

func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	q := url.Values{}
	if req.Cursor != "" {
		q.Set("cursor", req.Cursor)
	}
	if req.Since != nil {
		q.Set("since", req.Since.Format(time.RFC3339Nano))
	}
	if req.Tail > 0 {
		q.Set("tail", strconv.Itoa(req.Tail))
	}
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.Stdout != req.Stderr {
		if req.Stdout {
			q.Set("stream", "stdout")
		} else {
			q.Set("stream", "stderr")
		}
	}
	var out struct {
		Lines []struct {
			Time     time.Time         `json:"time"`
			Stream   string            `json:"stream"`
			Instance string            `json:"instance"`
			Message  string            `json:"message"`
			Details  map[string]string `json:"details"`
		} `json:"lines"`
		Next string `json:"next"`
		More bool   `json:"more"`
	}
	if err := call(ctx, "GET", "/services/"+url.PathEscape(req.ID)+"/logs", q, nil, nil, &out); err != nil {
		return nil, err
	}
	resp := &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{}, Cursor: out.Next, More: out.More}
	for _, l := range out.Lines {
		if req.Instance != "" && l.Instance != req.Instance {
			continue
		}
		e := pluginapi.LogEntry{Time: pluginapi.Time(l.Time), Stream: l.Stream, Instance: l.Instance, Message: l.Message}
		if req.Details {
			e.Details = l.Details
		}
		resp.Entries = append(resp.Entries, e)
	}
	return resp, nil
}

func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	var params any
	if len(req.Params) > 0 {
		params = req.Params
	}
	var s service
	if err := call(ctx, "POST", "/services/"+url.PathEscape(req.ID)+"/actions/"+url.PathEscape(req.Action), nil, nil, params, &s); err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: normalize(&s)}, nil
}

func (provider) Instances(ctx context.Context, req *pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error) {
	type inst struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Slot  int    `json:"slot"`
	}
	for k, vs := range req.Filters {
		if k != "desired_state" {
			return nil, pluginapi.Invalid("/filters/"+k, "unknown filter %q: instances filter on desired_state", k)
		}
		for _, v := range vs {
			if v != "RUNNING" && v != "STOPPED" {
				return nil, pluginapi.Invalid("/filters/desired_state", "desired_state must be RUNNING or STOPPED, not %q", v)
			}
		}
	}
	keep := func(i inst) bool {
		vs := req.Filters["desired_state"]
		return len(vs) == 0 || contains(vs, i.State)
	}
	conv := func(svc string, i inst) pluginapi.Instance {
		return pluginapi.Instance{ID: i.ID, Name: i.ID, ServiceID: svc, ServiceName: svc, Status: pluginapi.StatusRunning,
			NativeStatus: i.State, DesiredState: i.State, Slot: i.Slot}
	}
	list := func(id string) ([]inst, error) {
		var out struct {
			Instances []inst `json:"instances"`
		}
		err := call(ctx, "GET", "/services/"+url.PathEscape(id)+"/instances", nil, nil, nil, &out)
		return out.Instances, err
	}
	if req.ID == "" {
		return allInstances(ctx, req, list, keep, conv)
	}
	base := "/services/" + url.PathEscape(req.ID) + "/instances"
	if req.InstanceID != "" {
		var i inst
		if err := call(ctx, "GET", base+"/"+url.PathEscape(req.InstanceID), nil, nil, nil, &i); err != nil {
			return nil, err
		}
		return &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{conv(req.ID, i)}}, nil
	}
	all, err := list(req.ID)
	if err != nil {
		return nil, err
	}
	resp := &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{}}
	for _, i := range all {
		if keep(i) {
			resp.Instances = append(resp.Instances, conv(req.ID, i))
		}
	}
	return resp, nil
}

// allInstances is the connection-wide listing: every service's instances
// (or req.Services'), one listing per service, paged by offset.
func allInstances[I any](ctx context.Context, req *pluginapi.InstancesRequest, list func(string) ([]I, error),
	keep func(I) bool, conv func(string, I) pluginapi.Instance) (*pluginapi.InstancesResponse, error) {
	ids := req.Services
	if len(ids) == 0 {
		var out struct {
			Services []service `json:"services"`
		}
		if err := call(ctx, "GET", "/services", url.Values{"page_size": {"1000"}}, nil, nil, &out); err != nil {
			return nil, err
		}
		for _, s := range out.Services {
			ids = append(ids, s.ID)
		}
	}
	var all []pluginapi.Instance
	for _, id := range ids {
		got, err := list(id)
		if err != nil {
			return nil, err
		}
		for _, i := range got {
			if keep(i) {
				all = append(all, conv(id, i))
			}
		}
	}
	offset, _ := strconv.Atoi(req.PageToken)
	size := req.PageSize
	if size <= 0 {
		size = 100
	}
	resp := &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{}}
	if offset < len(all) {
		end := min(offset+size, len(all))
		resp.Instances = append(resp.Instances, all[offset:end]...)
		if end < len(all) {
			resp.NextPageToken = strconv.Itoa(end)
		}
	}
	return resp, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (provider) Deployments(ctx context.Context, req *pluginapi.DeploymentsRequest) (*pluginapi.DeploymentsResponse, error) {
	type dep struct {
		ID        string    `json:"id"`
		Image     string    `json:"image"`
		Status    string    `json:"status"`
		CreatedAt time.Time `json:"created_at"`
	}
	conv := func(d dep) pluginapi.Deployment {
		return pluginapi.Deployment{ID: d.ID, Status: d.Status, Target: d.Image, CreatedAt: pluginapi.Time(d.CreatedAt)}
	}
	base := "/services/" + url.PathEscape(req.ID) + "/deployments"
	if req.DeploymentID != "" {
		var d dep
		if err := call(ctx, "GET", base+"/"+url.PathEscape(req.DeploymentID), nil, nil, nil, &d); err != nil {
			return nil, err
		}
		return &pluginapi.DeploymentsResponse{Deployments: []pluginapi.Deployment{conv(d)}}, nil
	}
	var out struct {
		Deployments []dep `json:"deployments"`
	}
	if err := call(ctx, "GET", base, nil, nil, nil, &out); err != nil {
		return nil, err
	}
	resp := &pluginapi.DeploymentsResponse{Deployments: []pluginapi.Deployment{}}
	for _, d := range out.Deployments {
		if len(req.Status) > 0 && !hasFold(req.Status, d.Status) {
			continue
		}
		if req.CreatedAfter != nil && !d.CreatedAt.After(*req.CreatedAfter) {
			continue
		}
		if req.CreatedBefore != nil && !d.CreatedAt.Before(*req.CreatedBefore) {
			continue
		}
		resp.Deployments = append(resp.Deployments, conv(d))
	}
	return resp, nil
}

func hasFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func (provider) Invoke(ctx context.Context, req *pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, error) {
	in := map[string]any{"method": req.Method, "path": req.Path, "body": string(req.Body)}
	var out json.RawMessage
	if err := call(ctx, "POST", "/services/"+url.PathEscape(req.ID)+"/invoke", nil, nil, in, &out); err != nil {
		return nil, err
	}
	return &pluginapi.InvokeResponse{Status: 200, ContentType: "application/json", Body: out}, nil
}

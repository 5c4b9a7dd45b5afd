package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

// provider implements plugin.Provider and plugin.InvokeProvider for ABEJA.
type provider struct{}

type config struct {
	OrganizationID string `json:"organization_id"`
	DeploymentID   string `json:"deployment_id"`
	AuthMethod     string `json:"auth_method"`
	UserID         string `json:"user_id"`
	InvokeEndpoint string `json:"invoke_endpoint"`
}

// conn is one connection: its client and the deployment's services path.
type conn struct {
	cfg    config
	client *rest.Client
	base   string // /organizations/{org}/deployments/{dep}/services
}

func connect(raw json.RawMessage) (*conn, error) {
	var c config
	if err := rest.DecodeConfig(raw, &c); err != nil {
		return nil, err
	}
	if c.OrganizationID == "" {
		return nil, pluginapi.Invalid("/config/organization_id", "the connection has no organization_id")
	}
	if c.DeploymentID == "" {
		return nil, pluginapi.Invalid("/config/deployment_id", "the connection has no deployment_id")
	}
	var auth *pluginapi.Auth
	switch c.AuthMethod {
	case "", "token":
		auth = &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}
	case "personal_access_token":
		if c.UserID == "" {
			return nil, pluginapi.Invalid("/config/user_id", "a personal access token needs the user_id")
		}
		auth = &pluginapi.Auth{Scheme: pluginapi.AuthBasic, Username: "user-" + c.UserID, Secret: "personal_access_token"}
	default:
		return nil, pluginapi.Invalid("/config/auth_method", "auth_method must be token or personal_access_token, not %q", c.AuthMethod)
	}
	return &conn{
		cfg:    c,
		client: &rest.Client{Endpoint: "endpoint", Auth: auth, ErrorMessage: errorMessage},
		base:   "/organizations/" + url.PathEscape(c.OrganizationID) + "/deployments/" + url.PathEscape(c.DeploymentID) + "/services",
	}, nil
}

// errorMessage reads ABEJA's {"error", "error_description", "error_detail"};
// the first key of error_detail names the offending parameter.
func errorMessage(body []byte) (string, string) {
	var e struct {
		Error       string                     `json:"error"`
		Description string                     `json:"error_description"`
		Detail      map[string]json.RawMessage `json:"error_detail"`
	}
	if json.Unmarshal(body, &e) != nil {
		return rest.Message(body), ""
	}
	msg := e.Description
	if msg == "" {
		msg = e.Error
	}
	field := ""
	if keys := slices.Sorted(maps.Keys(e.Detail)); len(keys) > 0 {
		field = "/" + keys[0]
	}
	return msg, field
}

func (c *conn) path(id string, rest ...string) string {
	p := c.base + "/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// spec is the plugin's view of an ABEJA service.
type spec struct {
	VersionID       string            `json:"version_id"`
	InstanceType    string            `json:"instance_type,omitempty"`
	InstanceNumber  int               `json:"instance_number,omitempty"`
	Models          map[string]string `json:"models,omitempty"`
	Environment     map[string]string `json:"environment,omitempty"`
	EnableAutoscale bool              `json:"enable_autoscale,omitempty"`
	MinInstances    int               `json:"min_instance_number,omitempty"`
	MaxInstances    int               `json:"max_instance_number,omitempty"`
}

func parseSpec(raw json.RawMessage) (*spec, error) {
	s := new(spec)
	if err := rest.DecodeSpec(raw, s); err != nil {
		return nil, err
	}
	if s.InstanceType == "" {
		s.InstanceType = "cpu-0.25"
	}
	if s.InstanceNumber == 0 {
		s.InstanceNumber = 1
	}
	switch {
	case s.VersionID == "":
		return nil, pluginapi.Invalid("/version_id", "version_id is required")
	case !strings.HasPrefix(s.VersionID, "ver-"):
		return nil, pluginapi.Invalid("/version_id", "version_id %q must look like ver-abc1111111111111", s.VersionID)
	case !strings.HasPrefix(s.InstanceType, "cpu-") && !strings.HasPrefix(s.InstanceType, "gpu-"):
		return nil, pluginapi.Invalid("/instance_type", "instance_type %q must look like cpu-0.25 or gpu-1", s.InstanceType)
	case s.InstanceNumber < 1 || s.InstanceNumber > 10:
		return nil, pluginapi.Invalid("/instance_number", "instance_number must be between 1 and 10")
	case s.MinInstances < 0 || s.MinInstances > 10:
		return nil, pluginapi.Invalid("/min_instance_number", "min_instance_number must be between 1 and 10")
	case s.MaxInstances < 0 || s.MaxInstances > 10:
		return nil, pluginapi.Invalid("/max_instance_number", "max_instance_number must be between 1 and 10")
	case s.MinInstances > 0 && s.MaxInstances > 0 && s.MaxInstances < s.MinInstances:
		return nil, pluginapi.Invalid("/max_instance_number", "max_instance_number (%d) is below min_instance_number (%d)", s.MaxInstances, s.MinInstances)
	}
	return s, nil
}

// mutable is what PATCH accepts.
func (s *spec) mutable() map[string]any {
	b := map[string]any{"instance_number": s.InstanceNumber, "enable_autoscale": s.EnableAutoscale}
	if s.MinInstances > 0 {
		b["min_instance_number"] = s.MinInstances
	}
	if s.MaxInstances > 0 {
		b["max_instance_number"] = s.MaxInstances
	}
	b["environment"] = s.Environment
	if s.Environment == nil {
		b["environment"] = map[string]string{}
	}
	return b
}

// abejaService is ABEJA's service object.
type abejaService struct {
	ServiceID      string            `json:"service_id"`
	DeploymentID   string            `json:"deployment_id"`
	Models         map[string]string `json:"models"`
	ModelVersion   string            `json:"model_version"`
	ModelVersionID string            `json:"model_version_id"`
	Status         string            `json:"status"`
	InstanceNumber int               `json:"instance_number"`
	MinInstances   int               `json:"min_instance_number"`
	MaxInstances   int               `json:"max_instance_number"`
	Autoscale      flexBool          `json:"enable_autoscale"`
	InstanceType   string            `json:"instance_type"`
	MetricsURL     string            `json:"metrics_url"`
	UserEnvVars    map[string]string `json:"user_env_vars"`
	CreatedAt      string            `json:"created_at"`
	ModifiedAt     string            `json:"modified_at"`

	raw json.RawMessage
}

// flexBool reads true, false, "true" or "false" (the SDK documents the string form).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	*b = flexBool(strings.EqualFold(s, "true"))
	return nil
}

func (a *abejaService) spec() *spec {
	s := &spec{VersionID: a.ModelVersionID, InstanceType: a.InstanceType, InstanceNumber: a.InstanceNumber,
		EnableAutoscale: bool(a.Autoscale), MinInstances: a.MinInstances, MaxInstances: a.MaxInstances}
	if len(a.Models) > 0 {
		s.Models = a.Models
	}
	if len(a.UserEnvVars) > 0 {
		s.Environment = a.UserEnvVars
	}
	return s
}

// normalize maps ABEJA's status: IN_PROGRESS and READY are documented,
// STOPPED and FAILED are the words chosen for the undocumented states.
func normalize(status string) pluginapi.Status {
	switch strings.ToUpper(status) {
	case "IN_PROGRESS":
		return pluginapi.StatusDeploying
	case "READY":
		return pluginapi.StatusRunning
	case "STOPPED":
		return pluginapi.StatusStopped
	case "FAILED", "ERROR":
		return pluginapi.StatusFailed
	}
	return pluginapi.StatusUnknown
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return &t
}

func (c *conn) service(a *abejaService) *pluginapi.Service {
	sv := &pluginapi.Service{
		ID: a.ServiceID, Name: a.ServiceID,
		Status: normalize(a.Status), NativeStatus: a.Status,
		Desired:   pluginapi.Int(a.InstanceNumber),
		Image:     a.ModelVersionID,
		CreatedAt: parseTime(a.CreatedAt), UpdatedAt: parseTime(a.ModifiedAt),
		Version: a.ModifiedAt,
		Labels:  map[string]string{"instance_type": a.InstanceType},
		Spec:    rest.MustJSON(a.spec()),
		Raw:     a.raw,
	}
	if a.ModelVersion != "" {
		sv.Labels["model_version"] = a.ModelVersion
		sv.Image += " (" + a.ModelVersion + ")"
	}
	switch sv.Status {
	case pluginapi.StatusRunning:
		sv.Running = pluginapi.Int(a.InstanceNumber)
	case pluginapi.StatusStopped, pluginapi.StatusFailed:
		sv.Running = pluginapi.Int(0)
	}
	if c.cfg.InvokeEndpoint == "" {
		sv.Endpoints = []pluginapi.Endpoint{{URL: c.invokeURL(a.ServiceID), Protocol: "https"}}
	}
	return sv
}

// invokeURL is the service's address on the organization's sub-domain, as
// shown in its endpoints (the host's default of invoke_endpoint).
func (c *conn) invokeURL(id string) string {
	return "https://" + c.cfg.OrganizationID + ".api.abeja.io" + c.invokePath(id)
}

func (c *conn) invokePath(id string) string {
	return "/deployments/" + url.PathEscape(c.cfg.DeploymentID) + "/services/" + url.PathEscape(id)
}

func decodeService(raw json.RawMessage) (*abejaService, error) {
	a := &abejaService{raw: raw}
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "decode ABEJA service: %v", err)
	}
	return a, nil
}

func (c *conn) get(ctx context.Context, id string) (*abejaService, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "the service id is required")
	}
	var raw json.RawMessage
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.path(id)}, &raw); err != nil {
		return nil, err
	}
	return decodeService(raw)
}

func (c *conn) answer(ctx context.Context, id string) (*pluginapi.ServiceResponse, error) {
	a, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: c.service(a)}, nil
}

// Create creates a service for a model version.
func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	body := s.mutable()
	body["version_id"] = s.VersionID
	body["instance_type"] = s.InstanceType
	if len(s.Models) > 0 {
		body["models"] = s.Models
	}
	var raw json.RawMessage
	if err := c.client.Do(ctx, rest.Request{Method: "POST", Path: c.base, JSON: body}, &raw); err != nil {
		return nil, err
	}
	a, err := decodeService(raw)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: c.service(a)}, nil
}

// Get fetches a service.
func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	return c.answer(ctx, req.ID)
}

// Update patches instance counts, autoscaling and the environment, sending
// only the members that change (nothing at all when none does); the
// model version, instance type and models cannot change.
func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	s, err := parseSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	cur, err := c.get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	old := cur.spec()
	switch {
	case s.VersionID != old.VersionID:
		return nil, pluginapi.Invalid("/version_id", "version_id cannot be changed (it is %s): create a new service for another version", old.VersionID)
	case s.InstanceType != old.InstanceType:
		return nil, pluginapi.Invalid("/instance_type", "instance_type cannot be changed (it is %s)", old.InstanceType)
	case !maps.Equal(s.Models, old.Models):
		return nil, pluginapi.Invalid("/models", "models cannot be changed")
	case req.Version != "" && req.Version != cur.ModifiedAt:
		return nil, &pluginapi.Error{Code: pluginapi.CodeConflict,
			Message: fmt.Sprintf("service %s changed since version %s (now %s): fetch it again", req.ID, req.Version, cur.ModifiedAt)}
	}
	patch := rest.Changes(old.mutable(), s.mutable())
	if len(patch) == 0 {
		return &pluginapi.ServiceResponse{Service: c.service(cur)}, nil // nothing changes: no PATCH, modified_at stays
	}
	var raw json.RawMessage
	if err := c.client.Do(ctx, rest.Request{Method: "PATCH", Path: c.path(req.ID), JSON: patch}, &raw); err != nil {
		return nil, err
	}
	a, err := decodeService(raw)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: c.service(a)}, nil
}

// Delete removes a service.
func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	a, err := c.get(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	if err := c.client.Do(ctx, rest.Request{Method: "DELETE", Path: c.path(req.ID)}, nil); err != nil {
		return nil, err
	}
	sv := c.service(a)
	sv.Status = pluginapi.StatusDeleting
	return &pluginapi.ServiceResponse{Service: sv}, nil
}

// List answers one page of the deployment's services. ABEJA returns them
// all at once ({"entries": [...]}); the plugin filters (status: normalized
// or ABEJA's word; id) and pages by offset over the creation order.
func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if err := rest.CheckFilters(req.Filters, "status", "id"); err != nil {
		return nil, err
	}
	var out struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := c.client.Do(ctx, rest.Request{Method: "GET", Path: c.base}, &out); err != nil {
		return nil, err
	}
	type item struct {
		created string
		sv      *pluginapi.Service
	}
	var items []item
	for _, raw := range out.Entries {
		a, err := decodeService(raw)
		if err != nil {
			return nil, err
		}
		sv := c.service(a)
		if st := req.Filters["status"]; len(st) > 0 && !rest.Contains(st, string(sv.Status)) && !rest.Contains(st, sv.NativeStatus) {
			continue
		}
		if ids := req.Filters["id"]; len(ids) > 0 && !slices.Contains(ids, sv.ID) {
			continue
		}
		items = append(items, item{a.CreatedAt, sv})
	}
	slices.SortStableFunc(items, func(x, y item) int {
		if x.created != y.created {
			return strings.Compare(x.created, y.created)
		}
		return strings.Compare(x.sv.ID, y.sv.ID)
	})
	page, next, err := rest.Page(items, req.PageSize, 50, req.PageToken)
	if err != nil {
		return nil, err
	}
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{}, NextPageToken: next}
	for _, it := range page {
		resp.Services = append(resp.Services, *it.sv)
	}
	return resp, nil
}

// Lifecycle starts, stops or scales a service. ABEJA answers 400 to a
// start of a running or a stop of a stopped service: that is a conflict.
func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	switch req.Action {
	case pluginapi.ActionStart, pluginapi.ActionStop:
		err := c.client.Do(ctx, rest.Request{Method: "POST", Path: c.path(req.ID, req.Action)}, nil)
		if e := pluginapi.AsError(err); e != nil && e.Code == pluginapi.CodeInvalid {
			e.Code, e.Field = pluginapi.CodeConflict, ""
		}
		if err != nil {
			return nil, err
		}
	case pluginapi.ActionScale:
		var p pluginapi.ScaleParams
		if err := json.Unmarshal(req.Params, &p); err != nil || p.Replicas < 1 || p.Replicas > 10 {
			return nil, pluginapi.Invalid("/params/replicas", "scale takes {\"replicas\": N} with N between 1 and 10")
		}
		cur, err := c.get(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		if cur.InstanceNumber == p.Replicas {
			// Nothing to change: no PATCH (which would redeploy), the service as it is.
			return &pluginapi.ServiceResponse{Service: c.service(cur)}, nil
		}
		if err := c.client.Do(ctx, rest.Request{Method: "PATCH", Path: c.path(req.ID), JSON: map[string]any{"instance_number": p.Replicas}}, nil); err != nil {
			return nil, err
		}
	default:
		return nil, pluginapi.Unsupported("ABEJA has no %q action: use start, stop or scale", req.Action)
	}
	return c.answer(ctx, req.ID)
}

// Invoke posts a request to the service (request_service): JSON or any
// bytes with their content type; the answer is the service's own.
func (provider) Invoke(ctx context.Context, req *pluginapi.InvokeRequest) (*pluginapi.InvokeResponse, error) {
	c, err := connect(req.Config)
	if err != nil {
		return nil, err
	}
	if req.ID == "" {
		return nil, pluginapi.Invalid("/id", "the service id is required")
	}
	if m := strings.ToUpper(req.Method); m != "" && m != "POST" {
		return nil, pluginapi.Invalid("/method", "ABEJA services take POST requests only, not %s", req.Method)
	}
	if req.Path != "" && req.Path != "/" {
		return nil, pluginapi.Invalid("/path", "ABEJA services have a single address: no path")
	}
	ct := req.ContentType
	if ct == "" {
		ct = "application/json"
	}
	if strings.HasPrefix(ct, "application/json") && len(req.Body) > 0 && !json.Valid(req.Body) {
		return nil, pluginapi.Invalid("/body", "the body is not valid JSON: set content_type for other data")
	}
	headers := map[string]string{"Content-Type": ct, "Accept": "*/*"}
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Authorization") {
			return nil, pluginapi.Invalid("/headers/"+k, "the host adds the credentials")
		}
		headers[k] = v
	}
	// Empty, invoke_endpoint is the organization's sub-domain: the host
	// fills it from the schema's x-endpoint-default (ABI 1.2).
	r := rest.Request{Method: "POST", Headers: headers, Body: req.Body, Endpoint: "invoke_endpoint", Path: c.invokePath(req.ID)}
	start := time.Now()
	resp, err := c.client.Send(ctx, r)
	if err != nil {
		return nil, err
	}
	// The platform's own refusals are errors; anything else is the service's answer.
	switch resp.Status {
	case 401, 403, 404:
		return nil, c.client.StatusError(resp)
	}
	out := &pluginapi.InvokeResponse{Status: resp.Status, Body: resp.Body, ContentType: resp.Header("Content-Type"),
		DurationMS: time.Since(start).Milliseconds(), Headers: map[string]string{}}
	for k, v := range resp.Headers {
		if len(v) > 0 {
			out.Headers[k] = v[0]
		}
	}
	return out, nil
}

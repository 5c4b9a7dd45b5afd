package client

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Services are the services of a connection's platform.
type Services struct{ c *Client }

// List lists a page of one connection's services. Filters go to the
// plugin, which refuses keys it does not declare.
func (s *Services) List(ctx context.Context, conn string, o ops.ListOptions, opts ...CallOption) (*ops.ServicePage, error) {
	q := url.Values{}
	if err := addFilters(q, o.Filters); err != nil {
		return nil, err
	}
	setInt(q, "page_size", o.PageSize)
	set(q, "page_token", o.PageToken)
	var out ops.ServicePage
	if err := s.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services", args: []string{conn}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAll lists a page of the services of every connection the caller
// may see, merged and sorted (by name unless o.Sort says otherwise).
func (s *Services) ListAll(ctx context.Context, o ops.ListAllOptions, opts ...CallOption) (*ops.AllServicesPage, error) {
	q := url.Values{}
	set(q, "name", o.Name)
	addAll(q, "plugin", o.Plugins)
	addAll(q, "connection", o.Connections)
	for _, st := range o.Statuses {
		q.Add("status", string(st))
	}
	setInt(q, "page_size", o.PageSize)
	set(q, "page_token", o.PageToken)
	set(q, "sort", o.Sort)
	if o.Desc {
		q.Set("dir", "desc")
	}
	var out ops.AllServicesPage
	if err := s.c.do(ctx, req{method: "GET", path: "/services", query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get reads one service.
func (s *Services) Get(ctx context.Context, conn, id string, opts ...CallOption) (*pluginapi.Service, error) {
	return s.GetWith(ctx, conn, id, ops.GetOptions{}, opts...)
}

// GetWith reads one service, with the platform's defaults filled in if
// o.InsertDefaults (plugins that declare it).
func (s *Services) GetWith(ctx context.Context, conn, id string, o ops.GetOptions, opts ...CallOption) (*pluginapi.Service, error) {
	q := url.Values{}
	setBool(q, "insert_defaults", o.InsertDefaults)
	var out pluginapi.Service
	if err := s.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}", args: []string{conn, id}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Create creates a service from spec, checked against the plugin's schema.
func (s *Services) Create(ctx context.Context, conn string, spec json.RawMessage, opts ...CallOption) (*ops.ServiceResult, error) {
	body, err := jsonBody("spec", spec)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, req{method: "POST", path: "/connections/{conn}/services", args: []string{conn}, body: body}, opts)
}

// Update replaces a service's spec; IfMatch makes it conditional.
func (s *Services) Update(ctx context.Context, conn, id string, spec json.RawMessage, opts ...CallOption) (*ops.ServiceResult, error) {
	body, err := jsonBody("spec", spec)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, req{method: "PUT", path: "/connections/{conn}/services/{id}", args: []string{conn, id}, body: body}, opts)
}

// Patch applies a JSON merge patch (RFC 7386) to a service's spec;
// IfMatch makes it conditional (otherwise the version read is used).
func (s *Services) Patch(ctx context.Context, conn, id string, patch json.RawMessage, opts ...CallOption) (*ops.ServiceResult, error) {
	body, err := jsonBody("patch", patch)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, req{method: "PATCH", path: "/connections/{conn}/services/{id}", args: []string{conn, id}, body: body,
		ctype: api.MIMEMergePatch}, opts)
}

// Delete deletes a service; force removes it even while it runs.
func (s *Services) Delete(ctx context.Context, conn, id string, force bool, opts ...CallOption) (*ops.ServiceResult, error) {
	q := url.Values{}
	setBool(q, "force", force)
	return s.change(ctx, req{method: "DELETE", path: "/connections/{conn}/services/{id}", args: []string{conn, id}, query: q}, opts)
}

// RunAction runs a lifecycle action (start, stop, scale ...) with its
// params; nil params send none.
func (s *Services) RunAction(ctx context.Context, conn, id, action string, params json.RawMessage, opts ...CallOption) (*ops.ServiceResult, error) {
	var body []byte
	if params != nil {
		var err error
		if body, err = jsonBody("params", params); err != nil {
			return nil, err
		}
	}
	return s.change(ctx, req{method: "POST", path: "/connections/{conn}/services/{id}/actions/{action}", args: []string{conn, id, action}, body: body}, opts)
}

// Invoke sends a request to the running service and returns its answer.
func (s *Services) Invoke(ctx context.Context, conn, id string, in ops.InvokeInput, opts ...CallOption) (*ops.InvokeResult, error) {
	body, err := encode(in)
	if err != nil {
		return nil, err
	}
	var out ops.InvokeResult
	if err := s.c.do(ctx, req{method: "POST", path: "/connections/{conn}/services/{id}/invoke", args: []string{conn, id}, body: body, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Services) change(ctx context.Context, r req, opts []CallOption) (*ops.ServiceResult, error) {
	var out ops.ServiceResult
	r.out = &out
	if err := s.c.do(ctx, r, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Instances are a service's tasks or containers.
type Instances struct{ c *Client }

// List lists a service's instances.
func (in *Instances) List(ctx context.Context, conn, id string, opts ...CallOption) ([]pluginapi.Instance, error) {
	return in.ListWith(ctx, conn, id, ops.InstancesOptions{}, opts...)
}

// ListWith lists a service's instances that match o's filters (keys the
// plugin declares).
func (in *Instances) ListWith(ctx context.Context, conn, id string, o ops.InstancesOptions, opts ...CallOption) ([]pluginapi.Instance, error) {
	q := url.Values{}
	if err := addFilters(q, o.Filters); err != nil {
		return nil, err
	}
	var out struct {
		Instances []pluginapi.Instance `json:"instances"`
	}
	err := in.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/instances", args: []string{conn, id}, query: q, out: &out}, opts)
	return out.Instances, err
}

// Get reads one instance of a service.
func (in *Instances) Get(ctx context.Context, conn, id, instance string, opts ...CallOption) (*pluginapi.Instance, error) {
	var out pluginapi.Instance
	if err := in.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/instances/{iid}", args: []string{conn, id, instance}, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListConnection lists a page of the instances of every service of a
// connection, or of o.Services (plugins that offer it).
func (in *Instances) ListConnection(ctx context.Context, conn string, o ops.ConnectionInstancesOptions, opts ...CallOption) (*ops.InstancePage, error) {
	q := url.Values{}
	addAll(q, "service", o.Services)
	if err := addFilters(q, o.Filters); err != nil {
		return nil, err
	}
	setInt(q, "page_size", o.PageSize)
	set(q, "page_token", o.PageToken)
	var out ops.InstancePage
	if err := in.c.do(ctx, req{method: "GET", path: "/connections/{conn}/instances", args: []string{conn}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Timeline reads what happened to a service, newest first: changes and
// actions through the host, observed status transitions, deployments and
// instances (o.Limit: 0 is the host's default, 50; at most 200).
func (s *Services) Timeline(ctx context.Context, conn, id string, o ops.TimelineOptions, opts ...CallOption) (*ops.Timeline, error) {
	q := url.Values{}
	setInt(q, "limit", o.Limit)
	var out ops.Timeline
	if err := s.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/timeline", args: []string{conn, id}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Deployments are a service's rollout history.
type Deployments struct{ c *Client }

// List lists a page of a service's deployments, newest first.
func (d *Deployments) List(ctx context.Context, conn, id string, o ops.DeploymentsOptions, opts ...CallOption) (*ops.DeploymentPage, error) {
	q := url.Values{}
	addAll(q, "status", o.Status)
	setTime(q, "created_after", o.CreatedAfter)
	setTime(q, "created_before", o.CreatedBefore)
	setInt(q, "page_size", o.PageSize)
	set(q, "page_token", o.PageToken)
	var out ops.DeploymentPage
	if err := d.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/deployments", args: []string{conn, id}, query: q, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get reads one deployment.
func (d *Deployments) Get(ctx context.Context, conn, id, deployment string, opts ...CallOption) (*pluginapi.Deployment, error) {
	var out pluginapi.Deployment
	if err := d.c.do(ctx, req{method: "GET", path: "/connections/{conn}/services/{id}/deployments/{did}", args: []string{conn, id, deployment}, out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// addFilters sends filters as filter=key=value, keys in order so that the
// same options make the same request.
func addFilters(q url.Values, filters map[string][]string) error {
	keys := make([]string, 0, len(filters))
	for k := range filters {
		if k == "" || strings.Contains(k, "=") {
			return pluginapi.Invalid("filter", "filter key %q must be non-empty and hold no \"=\"", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range filters[k] {
			q.Add("filter", k+"="+v)
		}
	}
	return nil
}

func setTime(q url.Values, k string, t *time.Time) {
	if t != nil {
		q.Set(k, t.Format(time.RFC3339Nano))
	}
}

package ops

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// Bounds of instance listings.
const (
	defaultInstancePage = 100
	maxInstancePage     = 1000
	// maxQueryValues caps the filter values and services of one request.
	maxQueryValues = 100
)

// ListInstances lists a service's instances; unsupported when the plugin
// does not offer "instances". Viewer.
func (h *Host) ListInstances(ctx context.Context, c Caller, conn, id string) ([]pluginapi.Instance, error) {
	return h.ListInstancesWith(ctx, c, conn, id, InstancesOptions{})
}

// ListInstancesWith lists a service's instances that match o's filters,
// each key one the plugin declares (DescribeResponse.Instances.Filters),
// so that no filter is silently ignored. Viewer.
func (h *Host) ListInstancesWith(ctx context.Context, c Caller, conn, id string, o InstancesOptions) ([]pluginapi.Instance, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	resp, err := h.instances(ctx, c, conn, pluginapi.InstancesRequest{ID: id, Filters: o.Filters})
	if err != nil {
		return nil, err
	}
	if resp.Instances == nil {
		resp.Instances = []pluginapi.Instance{}
	}
	return resp.Instances, nil
}

// GetInstance returns one instance. Viewer.
func (h *Host) GetInstance(ctx context.Context, c Caller, conn, id, instanceID string) (*pluginapi.Instance, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	if instanceID == "" {
		return nil, pluginapi.Invalid("/instance_id", "an instance id is required")
	}
	resp, err := h.instances(ctx, c, conn, pluginapi.InstancesRequest{ID: id, InstanceID: instanceID})
	if err != nil {
		return nil, err
	}
	for i := range resp.Instances {
		if resp.Instances[i].ID == instanceID {
			return &resp.Instances[i], nil
		}
	}
	return nil, pluginapi.NotFound("instance %s of service %s not found", instanceID, id)
}

// ListConnectionInstances lists one page of the instances of every service
// of a connection, or of o.Services (ids or names), as docker-py's
// client.api.tasks() does; unsupported unless the plugin declares it
// (DescribeResponse.Instances.All). Viewer.
func (h *Host) ListConnectionInstances(ctx context.Context, c Caller, conn string, o ConnectionInstancesOptions) (*InstancePage, error) {
	size := o.PageSize
	switch {
	case size < 0:
		return nil, pluginapi.Invalid("/page_size", "page_size must not be negative")
	case size == 0:
		size = defaultInstancePage
	case size > maxInstancePage:
		size = maxInstancePage
	}
	if len(o.Services) > maxQueryValues {
		return nil, pluginapi.Invalid("/services", "at most %d services in one listing, not %d", maxQueryValues, len(o.Services))
	}
	for i, s := range o.Services {
		if strings.TrimSpace(s) == "" {
			return nil, pluginapi.Invalid("/services/"+strconv.Itoa(i), "a service id or name is required")
		}
	}
	resp, err := h.instances(ctx, c, conn, pluginapi.InstancesRequest{Filters: o.Filters, Services: o.Services,
		PageSize: size, PageToken: o.PageToken})
	if err != nil {
		return nil, err
	}
	if resp.Instances == nil {
		resp.Instances = []pluginapi.Instance{}
	}
	return &InstancePage{Instances: resp.Instances, NextPageToken: resp.NextPageToken}, nil
}

// instances checks req against what the plugin declares and calls it.
func (h *Host) instances(ctx context.Context, c Caller, conn string, req pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error) {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "reading instances")
	if err != nil {
		return nil, err
	}
	if err := t.supports(pluginapi.OpInstances); err != nil {
		return nil, err
	}
	caps := t.p.desc.Instances
	if caps == nil {
		caps = &pluginapi.InstancesCapabilities{}
	}
	if req.ID == "" && !caps.All {
		return nil, pluginapi.Unsupported("plugin %s (connection %s) lists instances only service by service", t.p.rt.Name(), conn)
	}
	if err := checkInstanceFilters(t.p.rt.Name(), caps.Filters, req.Filters); err != nil {
		return nil, err
	}
	req.Request = t.request()
	var resp pluginapi.InstancesResponse
	if err := h.call(ctx, t, pluginapi.OpInstances, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// checkInstanceFilters refuses a filter key the plugin does not declare,
// an empty value and more than maxQueryValues values.
func checkInstanceFilters(plugin string, known []string, filters map[string][]string) error {
	n := 0
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error for the same request
	for _, k := range keys {
		if !contains(known, k) {
			if len(known) == 0 {
				return pluginapi.Invalid("/filters/"+k, "unknown instance filter %q: plugin %s takes no instance filters", k, plugin)
			}
			return pluginapi.Invalid("/filters/"+k, "unknown instance filter %q: plugin %s filters instances on %s", k, plugin, strings.Join(known, ", "))
		}
		for _, v := range filters[k] {
			if v == "" {
				return pluginapi.Invalid("/filters/"+k, "instance filter %s needs a value", k)
			}
		}
		n += len(filters[k])
	}
	if n > maxQueryValues {
		return pluginapi.Invalid("/filters", "at most %d filter values in one listing, not %d", maxQueryValues, n)
	}
	return nil
}

package main

import (
	"strconv"

	"github.com/wharfhq/wharf/pluginapi"
)

// allTasks is the connection-wide listing (ABI 1.3, an InstancesRequest
// with an empty ID): the tasks of every service, or of req.Services, as
// docker-py's client.api.tasks() lists them. Instance names need service
// names: they come from one /services call, not one per service. Docker
// has no paging, so tasks are sorted by service name, slot and age and
// paged locally; the page token is an offset.
func (e *engine) allTasks(req *pluginapi.InstancesRequest, f map[string][]string) (*pluginapi.InstancesResponse, error) {
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	offset := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n < 0 {
			return nil, pluginapi.Invalid("/page_token", "page token %q is not one this plugin gave", req.PageToken)
		}
		offset = n
	}
	if len(req.Services) > 0 {
		// The engine resolves names, IDs and unique ID prefixes, and
		// answers 404 for a service it does not know.
		f["service"] = req.Services
	}
	items, err := e.tasks(f)
	if err != nil {
		return nil, err
	}
	body, err := e.getJSON(call{method: "GET", path: "/services"}, nil)
	if err != nil {
		return nil, err
	}
	keys, err := scanServices(body)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected service list from the Docker engine: %v", err)
	}
	names := make(map[string]string, len(keys))
	for _, k := range keys {
		names[k.id] = k.name
	}
	sortTasks(items, names)
	resp := &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{}}
	if offset >= len(items) {
		return resp, nil
	}
	end := min(offset+size, len(items))
	for _, it := range items[offset:end] {
		name, ok := names[it.t.ServiceID]
		if !ok {
			name = it.t.ServiceID // removed since the tasks were listed
		}
		resp.Instances = append(resp.Instances, taskInstance(name, it.t, it.raw))
	}
	if end < len(items) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

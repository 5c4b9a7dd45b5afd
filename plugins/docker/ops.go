package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// fetch inspects a service (by ID, name or unique ID prefix) with defaults
// inserted, as docker-py's fetch_current_spec does.
func (e *engine) fetch(id string) (swarm.Service, json.RawMessage, error) {
	return e.inspect(id, true)
}

// inspect fetches a service with or without the engine's defaults. Writing
// back a spec read with defaults makes the engine restart every task once
// (the defaults become explicit and the tasks look out of date), so
// actions that should not restart tasks (scale, stop, start) read the spec
// as stored, like "docker service scale".
func (e *engine) inspect(id string, defaults bool) (swarm.Service, json.RawMessage, error) {
	var svc swarm.Service
	if strings.TrimSpace(id) == "" {
		return svc, nil, pluginapi.Invalid("/id", "a service id is required")
	}
	q := url.Values{}
	if defaults {
		q.Set("insertDefaults", "true")
	}
	raw, err := e.getJSON(call{method: "GET", path: servicePath(id), query: q}, nil)
	if err != nil {
		return svc, nil, notFoundAs(err, "service %q not found", id)
	}
	if svc, err = decodeService(raw); err != nil {
		return svc, nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected service from the Docker engine: %v", err)
	}
	// Every later call names the service by this ID: without one, a
	// delete or update would go to /services/ itself.
	if svc.ID == "" {
		return svc, nil, pluginapi.Errorf(pluginapi.CodeInternal, "the Docker engine answered service %q without an ID", id)
	}
	return svc, raw, nil
}

// notFoundAs rewords a not_found error.
func notFoundAs(err error, format string, args ...any) error {
	if pe := pluginapi.AsError(err); pe.Code == pluginapi.CodeNotFound {
		out := pluginapi.NotFound(format, args...)
		out.Detail = pe.Detail
		return out
	}
	return err
}

// counts fetches ServiceStatus for one service (list with status=true).
func (e *engine) counts(id string) *swarm.ServiceStatus {
	q := url.Values{"status": {"true"}, "filters": {filtersJSON(map[string][]string{"id": {id}})}}
	body, err := e.getJSON(call{method: "GET", path: "/services", query: q}, nil)
	if err != nil {
		return nil
	}
	list, err := scanServices(body)
	if err != nil {
		return nil
	}
	for i := range list {
		if list[i].id == id {
			return list[i].counts()
		}
	}
	return nil
}

// tasksOf lists the tasks of the given services (nil when that fails, for
// instance because one was removed meanwhile).
func (e *engine) tasksOf(ids []string) []swarm.Task {
	if len(ids) == 0 {
		return nil
	}
	var tasks []swarm.Task
	q := url.Values{"filters": {filtersJSON(map[string][]string{"service": ids})}}
	if _, err := e.getJSON(call{method: "GET", path: "/tasks", query: q}, &tasks); err != nil {
		return nil
	}
	return tasks
}

// needsTasks says whether the task list is needed to judge the status.
func needsTasks(svc swarm.Service, c *swarm.ServiceStatus) bool {
	return c == nil || c.RunningTasks < c.DesiredTasks || svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil
}

// service fetches and normalizes one service as the engine stores it.
func (e *engine) service(id string) (pluginapi.Service, swarm.Service, error) {
	return e.serviceView(id, false)
}

// serviceView fetches and normalizes one service, with the engine's
// defaults filled in or not.
func (e *engine) serviceView(id string, defaults bool) (pluginapi.Service, swarm.Service, error) {
	svc, raw, err := e.inspect(id, defaults)
	if err != nil {
		return pluginapi.Service{}, svc, err
	}
	c := e.counts(svc.ID)
	var tasks []swarm.Task
	if needsTasks(svc, c) {
		tasks = e.tasksOf([]string{svc.ID})
	}
	return e.toService(svc, raw, c, tasks), svc, nil
}

// Create makes a new service.
func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	ids, err := e.resolveRefs(spec, true, true)
	if err != nil {
		return nil, err
	}
	ss, err := spec.toServiceSpec(nil, ids)
	if err != nil {
		return nil, err
	}
	var created swarm.ServiceCreateResponse
	if _, err := e.getJSON(call{method: "POST", path: "/services/create", body: ss}, &created); err != nil {
		if pe := pluginapi.AsError(err); pe.Code == pluginapi.CodeConflict {
			return nil, &pluginapi.Error{Code: pluginapi.CodeConflict, Field: "/name", Detail: pe.Detail,
				Message: fmt.Sprintf("a service named %q already exists", spec.Name)}
		}
		return nil, err
	}
	if created.ID == "" {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "the Docker engine created service %q but answered without an ID", ss.Name)
	}
	svc, _, err := e.service(created.ID)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: &svc, Warnings: created.Warnings}, nil
}

// Get returns one service as the engine stores it, as docker-py's
// inspect_service does, or with the engine's defaults filled in when
// req.InsertDefaults asks (inspect_service(insert_defaults=True), docker
// service inspect).
func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	svc, _, err := e.serviceView(req.ID, req.InsertDefaults)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: &svc}, nil
}

// Update applies a complete friendly spec onto the spec the engine stores,
// changing only what the friendly spec models (see update.go); an update
// that changes nothing is not sent, and answers the service as it is.
func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec(req.Spec)
	if err != nil {
		return nil, err
	}
	var want uint64
	if req.Version != "" {
		if want, err = strconv.ParseUint(req.Version, 10, 64); err != nil {
			return nil, pluginapi.Invalid("/version", "version %q is not a Docker service version (a number)", req.Version)
		}
	}
	// The stored spec and the view with defaults are two reads: if the
	// service moves in between, read both again.
	for attempt := 1; ; attempt++ {
		cur, raw, err := e.inspect(req.ID, false)
		if err != nil {
			return nil, err
		}
		version := cur.Version.Index
		if req.Version != "" && want != version {
			return nil, outOfSequence(map[string]any{"version": req.Version, "current": strconv.FormatUint(version, 10)})
		}
		moved := false
		withDefaults := func() (swarm.ServiceSpec, error) {
			def, _, err := e.inspect(cur.ID, true)
			moved = err == nil && def.Version.Index != version
			return def.Spec, err
		}
		body, changed, err := planUpdate(spec, cur, raw, withDefaults, e.resolveRefs)
		if moved && attempt < 3 {
			continue
		}
		if moved {
			return nil, outOfSequence(map[string]any{"version": strconv.FormatUint(version, 10)})
		}
		if err != nil {
			return nil, err
		}
		var warnings []string
		if changed {
			if warnings, err = e.update(cur.ID, version, body, false); err != nil {
				return nil, err
			}
		}
		svc, _, err := e.service(cur.ID)
		if err != nil {
			return nil, err
		}
		return &pluginapi.ServiceResponse{Service: &svc, Warnings: warnings}, nil
	}
}

// update posts a raw spec (or a rollback) at a version.
func (e *engine) update(id string, version uint64, spec []byte, rollback bool) ([]string, error) {
	q := url.Values{"version": {strconv.FormatUint(version, 10)}}
	if rollback {
		q.Set("rollback", "previous")
	}
	var resp swarm.ServiceUpdateResponse
	if _, err := e.getJSON(call{method: "POST", path: servicePath(id) + "/update", query: q, rawBody: spec}, &resp); err != nil {
		return nil, err
	}
	return resp.Warnings, nil
}

// Delete removes a service; its tasks shut down in the background.
func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	svc, raw, err := e.fetch(req.ID)
	if err != nil {
		return nil, err
	}
	if _, err := e.do(call{method: "DELETE", path: servicePath(svc.ID)}); err != nil {
		return nil, notFoundAs(err, "service %q not found", req.ID)
	}
	out := e.toService(svc, raw, nil, nil)
	out.Status, out.NativeStatus, out.StatusMessage = pluginapi.StatusDeleting, "removed", "the service is removed; its tasks are shutting down"
	out.Desired = pluginapi.Int(0)
	return &pluginapi.ServiceResponse{Service: &out}, nil
}

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// List returns one page of services. Docker has no paging, so the plugin
// sorts by name and pages locally; the page token is an offset. Docker's
// id and name filters match prefixes.
func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	upstream := map[string][]string{}
	var statuses []string
	for key, vals := range req.Filters {
		switch key {
		case "id", "name", "label":
			upstream[key] = vals
		case "mode":
			for _, v := range vals {
				switch v {
				case modeReplicated, modeGlobal, modeReplicatedJob, modeGlobalJob:
				default:
					return nil, pluginapi.Invalid("/filters/mode", "mode filter must be replicated, global, replicated-job or global-job, not %q", v)
				}
			}
			upstream[key] = vals
		case "status":
			for _, v := range vals {
				if !validStatus(v) {
					return nil, pluginapi.Invalid("/filters/status", "unknown status %q", v)
				}
			}
			statuses = vals
		default:
			return nil, pluginapi.Invalid("/filters/"+key, "unknown filter %q: the docker plugin filters on id, name, label, mode and status", key)
		}
	}
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	offset := 0
	if req.PageToken != "" {
		if offset, err = strconv.Atoi(req.PageToken); err != nil || offset < 0 {
			return nil, pluginapi.Invalid("/page_token", "page token %q is not one this plugin gave", req.PageToken)
		}
	}

	q := url.Values{"status": {"true"}}
	if len(upstream) > 0 {
		q.Set("filters", filtersJSON(upstream))
	}
	body, err := e.getJSON(call{method: "GET", path: "/services", query: q}, nil)
	if err != nil {
		return nil, err
	}
	keys, err := scanServices(body)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected service list from the Docker engine: %v", err)
	}
	// Sort on the names alone; only the services returned are decoded
	// and normalized (all of them when the status filter needs it).
	slices.SortFunc(keys, func(a, b serviceKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{}}
	if len(statuses) == 0 {
		if offset >= len(keys) {
			return resp, nil
		}
		end := min(offset+size, len(keys))
		if resp.Services, err = e.toServices(keys[offset:end], nil); err != nil {
			return nil, err
		}
		if end < len(keys) {
			resp.NextPageToken = strconv.Itoa(end)
		}
		return resp, nil
	}
	all, err := e.toServices(keys, statuses)
	if err != nil {
		return nil, err
	}
	if offset < len(all) {
		end := min(offset+size, len(all))
		resp.Services = all[offset:end]
		if end < len(all) {
			resp.NextPageToken = strconv.Itoa(end)
		}
	}
	return resp, nil
}

// toServices decodes and normalizes listed services, asking the tasks of
// those whose status needs them in one request; with statuses, only the
// services in one of them are kept.
func (e *engine) toServices(keys []serviceKey, statuses []string) ([]pluginapi.Service, error) {
	svcs := make([]swarm.Service, len(keys))
	var pending []string
	for i, k := range keys {
		svc, err := decodeService(k.raw)
		if err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected service from the Docker engine: %v", err)
		}
		svcs[i] = svc
		if needsTasks(svc, svc.ServiceStatus) {
			pending = append(pending, svc.ID)
		}
	}
	tasks := e.tasksOf(pending)
	out := make([]pluginapi.Service, 0, len(keys))
	for i, svc := range svcs {
		s := e.toService(svc, keys[i].raw, svc.ServiceStatus, tasks)
		if len(statuses) > 0 && !contains(statuses, string(s.Status)) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func validStatus(v string) bool {
	for _, s := range pluginapi.Statuses {
		if string(s) == v {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Instances lists a service's tasks, or returns one by InstanceID; with
// an empty ID, the tasks of every service (see alltasks.go).
func (provider) Instances(ctx context.Context, req *pluginapi.InstancesRequest) (*pluginapi.InstancesResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	f, err := taskFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.ID) == "" && req.InstanceID == "" {
		return e.allTasks(req, f)
	}
	if len(req.Services) > 0 {
		return nil, pluginapi.Invalid("/services", "services selects among all services: it goes with an empty id")
	}
	svc, _, err := e.fetch(req.ID)
	if err != nil {
		return nil, err
	}
	if req.InstanceID != "" {
		var t swarm.Task
		raw, err := e.getJSON(call{method: "GET", path: "/tasks/" + url.PathEscape(req.InstanceID)}, &t)
		if err != nil {
			return nil, notFoundAs(err, "task %q not found", req.InstanceID)
		}
		if t.ServiceID != svc.ID {
			return nil, pluginapi.NotFound("task %q is not a task of service %s", req.InstanceID, svc.Spec.Name)
		}
		return &pluginapi.InstancesResponse{Instances: []pluginapi.Instance{taskInstance(svc.Spec.Name, t, raw)}}, nil
	}
	f["service"] = []string{svc.ID}
	items, err := e.tasks(f)
	if err != nil {
		return nil, notFoundAs(err, "service %q not found", req.ID)
	}
	sortTasks(items, nil)
	resp := &pluginapi.InstancesResponse{Instances: make([]pluginapi.Instance, 0, len(items))}
	for _, it := range items {
		resp.Instances = append(resp.Instances, taskInstance(svc.Spec.Name, it.t, it.raw))
	}
	return resp, nil
}

// taskFilterKeys are the instance filters, as the Docker engine names them.
var taskFilterKeys = map[string]string{"desired_state": "desired-state", "node": "node", "name": "name", "id": "id", "label": "label"}

// taskFilters turns instance filters into the engine's task filters.
func taskFilters(in map[string][]string) (map[string][]string, error) {
	f := map[string][]string{}
	for key, vals := range in {
		dkey, ok := taskFilterKeys[key]
		if !ok {
			return nil, pluginapi.Invalid("/filters/"+key, "unknown filter %q: instances filter on desired_state, node, name, id and label", key)
		}
		if key == "desired_state" {
			for _, v := range vals {
				if v != "running" && v != "shutdown" && v != "accepted" {
					return nil, pluginapi.Invalid("/filters/desired_state", "desired_state must be running, shutdown or accepted, not %q", v)
				}
			}
		}
		f[dkey] = vals
	}
	return f, nil
}

// task is one task from the engine, with its raw JSON.
type task struct {
	t   swarm.Task
	raw json.RawMessage
}

// tasks lists the tasks matching the engine filters f.
func (e *engine) tasks(f map[string][]string) ([]task, error) {
	var raws []json.RawMessage
	if _, err := e.getJSON(call{method: "GET", path: "/tasks", query: url.Values{"filters": {filtersJSON(f)}}}, &raws); err != nil {
		return nil, err
	}
	items := make([]task, 0, len(raws))
	for _, raw := range raws {
		t, err := decodeTask(raw)
		if err != nil {
			return nil, pluginapi.Errorf(pluginapi.CodeInternal, "unexpected task from the Docker engine: %v", err)
		}
		items = append(items, task{t, raw})
	}
	return items, nil
}

// sortTasks orders tasks by service name (names maps service IDs to
// names; nil for one service's tasks), slot, then newest first within a
// slot, as docker service ps shows them; ties by ID so that pages hold.
func sortTasks(items []task, names map[string]string) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].t, items[j].t
		if na, nb := names[a.ServiceID], names[b.ServiceID]; na != nb {
			return na < nb
		}
		if a.ServiceID != b.ServiceID {
			return a.ServiceID < b.ServiceID
		}
		if a.Slot != b.Slot {
			return a.Slot < b.Slot
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID < b.ID
	})
}

// taskInstance normalizes a task of the service called serviceName.
func taskInstance(serviceName string, t swarm.Task, raw json.RawMessage) pluginapi.Instance {
	in := toInstance(serviceName, t, raw)
	in.ServiceID, in.ServiceName = t.ServiceID, serviceName
	return in
}

// Lifecycle runs start, stop, restart, scale and rollback. Each edits the
// spec the engine stores (read without defaults, as "docker service scale"
// does, so that tasks are not restarted for defaults made explicit) and
// posts it only when it changes.
func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	e, err := newEngine(ctx, req.Request)
	if err != nil {
		return nil, err
	}
	switch req.Action {
	case pluginapi.ActionStart, pluginapi.ActionStop, pluginapi.ActionRestart, pluginapi.ActionScale, pluginapi.ActionRollback:
	default:
		return nil, pluginapi.Invalid("/action", "unknown action %q: the docker plugin offers start, stop, restart, scale and rollback", req.Action)
	}
	var replicas *int
	if req.Action == pluginapi.ActionScale {
		raw := struct {
			Replicas *int `json:"replicas"`
		}{}
		if len(req.Params) == 0 || json.Unmarshal(req.Params, &raw) != nil || raw.Replicas == nil {
			return nil, pluginapi.Invalid("/replicas", "scale needs params {\"replicas\": N}")
		}
		if *raw.Replicas < 0 {
			return nil, pluginapi.Invalid("/replicas", "replicas must be 0 or more")
		}
		replicas = raw.Replicas
	}
	cur, raw, err := e.inspect(req.ID, false)
	if err != nil {
		return nil, err
	}
	spec := cur.Spec
	p, err := newSpecPatch(raw)
	if err != nil {
		return nil, unexpected(err)
	}
	replicated := spec.Mode.Replicated
	needReplicated := func(what string) error {
		if replicated == nil || replicated.Replicas == nil {
			return pluginapi.Invalid("/action", "%s works on replicated services only; %s is %s", what, spec.Name, modeOf(spec.Mode))
		}
		return nil
	}
	setReplicas := func(n uint64) error {
		return p.set([]string{"Mode", "Replicated", "Replicas"}, jsonUint(n))
	}
	remember := func(v []byte) error { return p.set([]string{"Labels", labelPreviousReplicas}, v) }
	rollback := false
	switch req.Action {
	case pluginapi.ActionScale:
		if err := needReplicated("scale"); err != nil {
			return nil, err
		}
		n := uint64(*replicas)
		if *replicated.Replicas != n {
			err = setReplicas(n)
		}
		if err == nil && n > 0 {
			err = remember(nil) // running again: nothing to remember
		}
	case pluginapi.ActionStop:
		if err := needReplicated("stop"); err != nil {
			return nil, err
		}
		if *replicated.Replicas == 0 {
			break // already stopped
		}
		if err = remember(jsonString(strconv.FormatUint(*replicated.Replicas, 10))); err == nil {
			err = setReplicas(0)
		}
	case pluginapi.ActionStart:
		if err := needReplicated("start"); err != nil {
			return nil, err
		}
		if *replicated.Replicas > 0 {
			break // already running
		}
		n := uint64(1)
		if v, perr := strconv.ParseUint(spec.Labels[labelPreviousReplicas], 10, 64); perr == nil && v > 0 {
			n = v
		}
		if err = remember(nil); err == nil {
			err = setReplicas(n)
		}
	case pluginapi.ActionRestart:
		err = p.set([]string{"TaskTemplate", "ForceUpdate"}, jsonUint(spec.TaskTemplate.ForceUpdate+1))
	case pluginapi.ActionRollback:
		if cur.PreviousSpec == nil {
			return nil, pluginapi.Errorf(pluginapi.CodeConflict, "nothing to roll back to: service %s has no previous spec", spec.Name)
		}
		rollback = true // the engine ignores the spec posted with it
	}
	if err != nil {
		return nil, unexpected(err)
	}
	var warnings []string
	if p.changed || rollback {
		if warnings, err = e.update(cur.ID, cur.Version.Index, p.body(), rollback); err != nil {
			return nil, err
		}
	}
	svc, _, err := e.service(cur.ID)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: &svc, Warnings: warnings}, nil
}

func modeOf(m swarm.ServiceMode) string {
	switch {
	case m.Global != nil:
		return modeGlobal
	case m.ReplicatedJob != nil:
		return modeReplicatedJob
	case m.GlobalJob != nil:
		return modeGlobalJob
	}
	return modeReplicated
}

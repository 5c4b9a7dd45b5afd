package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// ListServices lists one page of a connection's services. Viewer.
func (h *Host) ListServices(ctx context.Context, c Caller, conn string, opts ListOptions) (*ServicePage, error) {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "listing services")
	if err != nil {
		return nil, err
	}
	if opts.PageSize < 0 {
		return nil, pluginapi.Invalid("/page_size", "page_size must not be negative")
	}
	var resp pluginapi.ListResponse
	req := pluginapi.ListRequest{Request: t.request(), Filters: opts.Filters, PageSize: opts.PageSize, PageToken: opts.PageToken}
	if err := h.call(ctx, t, pluginapi.OpList, req, &resp); err != nil {
		return nil, err
	}
	if resp.Services == nil {
		resp.Services = []pluginapi.Service{}
	}
	return &ServicePage{Services: resp.Services, NextPageToken: resp.NextPageToken}, nil
}

// Limits of ListAllServices.
const (
	defaultAllPageSize = 50
	maxAllPageSize     = 500
	maxPagesPerConn    = 100 // a runaway plugin's paging stops here
	listConcurrency    = 8
	// listPageSize is the page size asked of plugins when following a
	// connection's pages: few large pages instead of many small ones,
	// since a plugin may redo work per page. Plugins cap it to their own
	// maximum.
	listPageSize = 1000
)

// ListAllServices lists the services of every connection concurrently,
// filters, sorts (by name unless opts.Sort says otherwise) and pages the
// merged result, and counts each connection's services by status. A
// failing connection is reported in Errors. Only the connections the
// caller may read are listed (a connection filter naming others matches
// nothing there).
func (h *Host) ListAllServices(ctx context.Context, c Caller, opts ListAllOptions) (*AllServicesPage, error) {
	size := opts.PageSize
	switch {
	case size < 0:
		return nil, pluginapi.Invalid("/page_size", "page_size must not be negative")
	case size == 0:
		size = defaultAllPageSize
	case size > maxAllPageSize:
		size = maxAllPageSize
	}
	if err := checkSort(opts.Sort); err != nil {
		return nil, err
	}
	if len(opts.Refs) > maxAllPageSize {
		return nil, pluginapi.Invalid("/refs", "at most %d services can be refreshed at once, not %d", maxAllPageSize, len(opts.Refs))
	}
	offset := 0
	if opts.PageToken != "" {
		n, err := strconv.Atoi(opts.PageToken)
		if err != nil || n < 0 {
			return nil, pluginapi.Invalid("/page_token", "page_token %q is not one this host issued", opts.PageToken)
		}
		offset = n
	}
	conns, err := h.cfg.Connections.List(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	page := &AllServicesPage{Services: []ConnService{}, Summary: []ConnectionSummary{}}
	var (
		mu   sync.Mutex
		all  []ConnService
		wg   sync.WaitGroup
		sema = make(chan struct{}, listConcurrency)
	)
	rights := c.rights()
	for _, cs := range conns {
		if !rights.RoleOn(targetOf(cs)).Allows(RoleViewer) {
			continue
		}
		if len(opts.Connections) > 0 && !contains(opts.Connections, cs.Name) {
			continue
		}
		if len(opts.Plugins) > 0 && !contains(opts.Plugins, cs.Plugin) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sema <- struct{}{}
			defer func() { <-sema }()
			svcs, err := h.lists.get(ctx, cs, time.Now, func(ctx context.Context) ([]pluginapi.Service, error) {
				return h.listEverything(ctx, cs.Name)
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				page.Errors = append(page.Errors, ConnectionError{Connection: cs.Name, Plugin: cs.Plugin, Error: pluginapi.AsError(err)})
				return
			}
			page.Summary = append(page.Summary, ConnectionSummary{Connection: cs.Name, Plugin: cs.Plugin})
			for _, s := range svcs {
				all = append(all, ConnService{Connection: cs.Name, Plugin: cs.Plugin, Service: s})
			}
		}()
	}
	wg.Wait()

	var refs map[ServiceRef]bool
	if opts.Refs != nil {
		refs = make(map[ServiceRef]bool, len(opts.Refs))
		for _, r := range opts.Refs {
			refs[r] = true
		}
	}
	name := strings.ToLower(opts.Name)
	named := all[:0]
	for _, s := range all {
		if name != "" && !strings.Contains(strings.ToLower(s.Name), name) && !strings.Contains(strings.ToLower(s.ID), name) {
			continue
		}
		named = append(named, s)
	}
	sort.Slice(page.Summary, func(i, j int) bool { return page.Summary[i].Connection < page.Summary[j].Connection })
	page.Summary = summarize(page.Summary, named)
	kept := named
	if len(opts.Statuses) > 0 || refs != nil {
		kept = make([]ConnService, 0, len(named))
		for _, s := range named {
			if len(opts.Statuses) > 0 && !contains(opts.Statuses, s.Status) {
				continue
			}
			if refs != nil && !refs[ServiceRef{Connection: s.Connection, ID: s.ID}] {
				continue
			}
			kept = append(kept, s)
		}
	}
	set := h.plugins.Load()
	sortServices(kept, opts.Sort, opts.Desc, func(plugin string) string {
		if p := set.byName[plugin]; p != nil && p.desc.Title != "" {
			return p.desc.Title
		}
		return plugin
	})
	sort.Slice(page.Errors, func(i, j int) bool { return page.Errors[i].Connection < page.Errors[j].Connection })
	page.Total = len(kept)
	start := min(offset, len(kept))
	end := min(start+size, len(kept))
	page.Services = append(page.Services, kept[start:end]...)
	if end < len(kept) {
		page.NextPageToken = strconv.Itoa(end)
	}
	return page, nil
}

// listEverything follows a connection's pages to the end.
func (h *Host) listEverything(ctx context.Context, conn string) ([]pluginapi.Service, error) {
	t, err := h.resolve(ctx, conn)
	if err != nil {
		return nil, err
	}
	var out []pluginapi.Service
	token := ""
	seen := map[string]bool{}
	for i := 0; i < maxPagesPerConn; i++ {
		var resp pluginapi.ListResponse
		if err := h.call(ctx, t, pluginapi.OpList, pluginapi.ListRequest{Request: t.request(), PageSize: listPageSize, PageToken: token}, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.Services...)
		token = resp.NextPageToken
		if token == "" || seen[token] {
			break
		}
		seen[token] = true
	}
	return out, nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// GetService returns one service. Viewer.
func (h *Host) GetService(ctx context.Context, c Caller, conn, id string) (*pluginapi.Service, error) {
	return h.GetServiceWith(ctx, c, conn, id, GetOptions{})
}

// GetServiceWith returns one service read with options; an option the
// plugin does not declare (DescribeResponse.Get) is unsupported rather
// than silently left out. Viewer.
func (h *Host) GetServiceWith(ctx context.Context, c Caller, conn, id string, o GetOptions) (*pluginapi.Service, error) {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "reading a service")
	if err != nil {
		return nil, err
	}
	if o.InsertDefaults && (t.p.desc.Get == nil || !t.p.desc.Get.InsertDefaults) {
		return nil, pluginapi.Unsupported("plugin %s (connection %s) cannot fill in the platform's defaults (insert_defaults)", t.p.rt.Name(), conn)
	}
	return h.getWith(ctx, t, id, o)
}

// get reads a service as the platform stores it (the base of a patch).
func (h *Host) get(ctx context.Context, t *target, id string) (*pluginapi.Service, error) {
	return h.getWith(ctx, t, id, GetOptions{})
}

func (h *Host) getWith(ctx context.Context, t *target, id string, o GetOptions) (*pluginapi.Service, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	var resp pluginapi.ServiceResponse
	req := pluginapi.GetRequest{Request: t.request(), ID: id, InsertDefaults: o.InsertDefaults}
	if err := h.call(ctx, t, pluginapi.OpGet, req, &resp); err != nil {
		return nil, err
	}
	if resp.Service == nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s answered get without a service", t.p.rt.Name())
	}
	return resp.Service, nil
}

// checkSpec fills the spec's defaults and validates it.
func (t *target) checkSpec(spec json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(spec)) == 0 {
		return nil, pluginapi.Invalid("", "a spec is required")
	}
	if err := checkDoc("", "the spec", spec); err != nil {
		return nil, err
	}
	spec = t.p.spec.Defaults(spec)
	if err := t.p.spec.Validate(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// ValidateSpec checks a spec against the connection's plugin spec schema
// without calling the plugin (for forms). Viewer.
func (h *Host) ValidateSpec(ctx context.Context, c Caller, conn string, spec json.RawMessage) error {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "validating a spec")
	if err != nil {
		return err
	}
	_, err = t.checkSpec(spec)
	return err
}

// specName reads a spec's "name", for the audit target of a create.
func specName(spec json.RawMessage) string {
	var v struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(spec, &v)
	return v.Name
}

func (h *Host) serviceResult(resp *pluginapi.ServiceResponse) *ServiceResult {
	return &ServiceResult{Service: resp.Service, Warnings: resp.Warnings}
}

// CreateService validates spec and creates the service. Operator; audited
// (refused too).
func (h *Host) CreateService(ctx context.Context, c Caller, conn string, spec json.RawMessage) (_ *ServiceResult, err error) {
	name := specName(spec)
	ev := &auditEvent{op: "service.create", conn: conn, target: name, targetName: name}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "creating a service")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if spec, err = t.checkSpec(spec); err != nil {
		return nil, err
	}
	var resp pluginapi.ServiceResponse
	ev.request = map[string]any{"spec": schema.Redact(spec, t.p.specSecr)}
	ev.answer = &resp
	err = h.audited(ctx, c, ev, func() (string, error) {
		if err := h.call(ctx, t, pluginapi.OpCreate, pluginapi.CreateRequest{Request: t.request(), Spec: spec}, &resp); err != nil {
			return "", err
		}
		if resp.Service == nil {
			return "", pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s answered create without a service", t.p.rt.Name())
		}
		return resp.Service.ID, nil
	})
	if err != nil {
		return nil, err
	}
	return h.serviceResult(&resp), nil
}

// UpdateService replaces a service's spec. version, when set, is the
// Service.Version the change is based on (stale → conflict). Operator;
// audited (refused too).
func (h *Host) UpdateService(ctx context.Context, c Caller, conn, id string, spec json.RawMessage, version string) (_ *ServiceResult, err error) {
	ev := &auditEvent{op: "service.update", conn: conn, target: id}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "updating a service")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	if spec, err = t.checkSpec(spec); err != nil {
		return nil, err
	}
	ev.request = map[string]any{"spec": schema.Redact(spec, t.p.specSecr), "version": version}
	return h.update(ctx, c, t, ev, id, spec, version)
}

// update runs the update that ev records.
func (h *Host) update(ctx context.Context, c Caller, t *target, ev *auditEvent, id string, spec json.RawMessage, version string) (*ServiceResult, error) {
	var resp pluginapi.ServiceResponse
	ev.answer = &resp
	err := h.audited(ctx, c, ev,
		func() (string, error) {
			return "", h.call(ctx, t, pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: t.request(), ID: id, Spec: spec, Version: version}, &resp)
		})
	if err != nil {
		return nil, err
	}
	return h.serviceResult(&resp), nil
}

// PatchService applies a JSON merge patch (RFC 7386) onto the current spec
// and updates with the result. Without a version, the version read with
// the current spec is sent, so a change made in between is a conflict
// rather than silently overwritten. Operator; audited like an update (a
// stale version is the same conflict entry as a stale PUT's), refused too.
func (h *Host) PatchService(ctx context.Context, c Caller, conn, id string, patch json.RawMessage, version string) (_ *ServiceResult, err error) {
	ev := &auditEvent{op: "service.update", conn: conn, target: id}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "updating a service")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if err := checkDoc("", "the patch", patch); err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(patch, &obj); err != nil || obj == nil {
		return nil, pluginapi.Invalid("", "a merge patch must be a JSON object")
	}
	ev.request = map[string]any{"patch": schema.Redact(patch, t.p.specSecr), "version": version}
	cur, err := h.get(ctx, t, id)
	if err != nil {
		return nil, err
	}
	ev.targetName = cur.Name
	if version != "" && cur.Version != "" && version != cur.Version {
		return nil, pluginapi.Errorf(pluginapi.CodeConflict, "service %s is at version %s, not %s: reload and retry", id, cur.Version, version)
	}
	if version == "" {
		version = cur.Version
	}
	base := cur.Spec
	if len(bytes.TrimSpace(base)) == 0 || bytes.Equal(bytes.TrimSpace(base), []byte("null")) {
		return nil, pluginapi.Unsupported("plugin %s does not report the current spec of service %s, so it cannot be patched; send the full spec", t.p.rt.Name(), id)
	}
	merged, err := mergePatch("spec of service "+id, base, patch)
	if err != nil {
		return nil, err
	}
	spec, err := t.checkSpec(merged)
	if err != nil {
		return nil, err
	}
	ev.request = map[string]any{"patch": schema.Redact(patch, t.p.specSecr), "spec": schema.Redact(spec, t.p.specSecr), "version": version}
	return h.update(ctx, c, t, ev, id, spec, version)
}

// DeleteService removes a service; force where the platform distinguishes.
// Operator; audited (refused too).
func (h *Host) DeleteService(ctx context.Context, c Caller, conn, id string, force bool) (_ *ServiceResult, err error) {
	ev := &auditEvent{op: "service.delete", conn: conn, target: id, request: map[string]any{"force": force}}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "deleting a service")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	var resp pluginapi.ServiceResponse
	ev.answer = &resp
	err = h.audited(ctx, c, ev, func() (string, error) {
		return "", h.call(ctx, t, pluginapi.OpDelete, pluginapi.DeleteRequest{Request: t.request(), ID: id, Force: force}, &resp)
	})
	if err != nil {
		return nil, err
	}
	return h.serviceResult(&resp), nil
}

// RunAction runs a lifecycle action declared by the plugin (else
// not_found "unknown action"), params validated against its schema, and
// available now when the plugin says which are (else conflict, see
// checkAvailable: this costs a get first). Operator; audited (refused too).
func (h *Host) RunAction(ctx context.Context, c Caller, conn, id, action string, params json.RawMessage) (_ *ServiceResult, err error) {
	ev := &auditEvent{op: "service.action:" + action, conn: conn, target: id}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "running an action")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	ps, ok := t.p.actions[action]
	if !ok {
		names := make([]string, 0, len(t.p.desc.Actions))
		for _, a := range t.p.desc.Actions {
			names = append(names, a.Name)
		}
		return nil, pluginapi.NotFound("unknown action %q: plugin %s offers %s", action, t.p.rt.Name(), strings.Join(names, ", "))
	}
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		params = nil
	}
	if err := checkDoc("", "the action's params", params); err != nil {
		return nil, err
	}
	if ps != nil {
		doc := params
		if doc == nil {
			doc = json.RawMessage(`{}`)
		}
		doc = ps.Defaults(doc)
		if err := ps.Validate(doc); err != nil {
			return nil, err
		}
		params = doc
	}
	ev.request = map[string]any{"action": action, "params": params}
	if err := h.checkAvailable(ctx, t, id, action); err != nil {
		return nil, err
	}
	var resp pluginapi.ServiceResponse
	ev.answer = &resp
	err = h.audited(ctx, c, ev, func() (string, error) {
		return "", h.call(ctx, t, pluginapi.OpLifecycle, pluginapi.LifecycleRequest{Request: t.request(), ID: id, Action: action, Params: params}, &resp)
	})
	if err != nil {
		return nil, err
	}
	return h.serviceResult(&resp), nil
}

// ListDeployments lists a service's rollout history; unsupported when the
// plugin does not offer "deployments". Viewer.
func (h *Host) ListDeployments(ctx context.Context, c Caller, conn, id string, opts DeploymentsOptions) (*DeploymentPage, error) {
	if opts.PageSize < 0 {
		return nil, pluginapi.Invalid("/page_size", "page_size must not be negative")
	}
	resp, err := h.deployments(ctx, c, conn, pluginapi.DeploymentsRequest{ID: id, Status: opts.Status,
		CreatedAfter: opts.CreatedAfter, CreatedBefore: opts.CreatedBefore, PageSize: opts.PageSize, PageToken: opts.PageToken})
	if err != nil {
		return nil, err
	}
	if resp.Deployments == nil {
		resp.Deployments = []pluginapi.Deployment{}
	}
	return &DeploymentPage{Deployments: resp.Deployments, NextPageToken: resp.NextPageToken}, nil
}

// GetDeployment returns one deployment. Viewer.
func (h *Host) GetDeployment(ctx context.Context, c Caller, conn, id, deploymentID string) (*pluginapi.Deployment, error) {
	if deploymentID == "" {
		return nil, pluginapi.Invalid("/deployment_id", "a deployment id is required")
	}
	resp, err := h.deployments(ctx, c, conn, pluginapi.DeploymentsRequest{ID: id, DeploymentID: deploymentID})
	if err != nil {
		return nil, err
	}
	for i := range resp.Deployments {
		if resp.Deployments[i].ID == deploymentID {
			return &resp.Deployments[i], nil
		}
	}
	return nil, pluginapi.NotFound("deployment %s of service %s not found", deploymentID, id)
}

func (h *Host) deployments(ctx context.Context, c Caller, conn string, req pluginapi.DeploymentsRequest) (*pluginapi.DeploymentsResponse, error) {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "reading deployments")
	if err != nil {
		return nil, err
	}
	if err := t.supports(pluginapi.OpDeployments); err != nil {
		return nil, err
	}
	req.Request = t.request()
	var resp pluginapi.DeploymentsResponse
	if err := h.call(ctx, t, pluginapi.OpDeployments, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Invoke sends a request to the running service; unsupported when the
// plugin does not offer "invoke". Operator; audited (header names and the
// body's size only: they may carry credentials); refused too.
func (h *Host) Invoke(ctx context.Context, c Caller, conn, id string, in InvokeInput) (_ *InvokeResult, err error) {
	ev := &auditEvent{op: "service.invoke", conn: conn, target: id}
	defer h.auditRefusal(ctx, c, ev, &err)
	t, err := h.resolveFor(ctx, c, ev, conn, RoleOperator, "invoking a service")
	if err != nil {
		return nil, err
	}
	ev.plugin, ev.scrub = t.conn.Plugin, h.scrubberFor(t, nil)
	if err := t.supports(pluginapi.OpInvoke); err != nil {
		return nil, err
	}
	headers := make([]string, 0, len(in.Headers))
	for k := range in.Headers {
		headers = append(headers, k)
	}
	sort.Strings(headers)
	var resp pluginapi.InvokeResponse
	ev.request = map[string]any{"method": in.Method, "path": in.Path, "content_type": in.ContentType,
		"header_names": headers, "body_bytes": len(in.Body)}
	err = h.audited(ctx, c, ev, func() (string, error) {
		return "", h.call(ctx, t, pluginapi.OpInvoke, pluginapi.InvokeRequest{Request: t.request(), ID: id, Method: in.Method,
			Path: in.Path, Headers: in.Headers, ContentType: in.ContentType, Body: in.Body}, &resp)
	})
	if err != nil {
		return nil, err
	}
	return &InvokeResult{Status: resp.Status, Headers: resp.Headers, ContentType: resp.ContentType, Body: resp.Body, DurationMS: resp.DurationMS}, nil
}

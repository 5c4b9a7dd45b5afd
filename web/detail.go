package web

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
)

// DetailView is the service detail page's model.
type DetailView struct {
	Conn        string
	Plugin      ops.PluginInfo
	Service     *pluginapi.Service
	Instances   []pluginapi.Instance
	InstErr     *pluginapi.Error
	Deployments []pluginapi.Deployment
	DeplErr     *pluginapi.Error
	// HasDeployments says the plugin offers deployment history.
	HasDeployments bool
	// DeplStatus is the status filter as typed; DeplNext and DeplFirst
	// link to the next page and back to the newest one ("" when none).
	DeplStatus, DeplNext, DeplFirst string
	// DeplStatuses are statuses seen, offered as suggestions.
	DeplStatuses []string
	Actions      []ActionView
	CanOperate   bool
	HasLogs      bool
	HasInvoke    bool
	// Timeline is the newest of what happened; TimelineFirst puts it
	// right under the status header (see timelineFirst).
	Timeline      TimelineView
	TimelineFirst bool
}

// ActionView is a declared lifecycle action with its params form.
type ActionView struct {
	pluginapi.Action
	Fields  []form.Field
	Confirm bool
	// Warning says why this request of the action is confirmed when the
	// action alone would not be (a scale to 0 stops the service).
	Warning string
}

// needsConfirm: actions that interrupt a service ask first.
func needsConfirm(a pluginapi.Action) bool {
	switch a.Name {
	case pluginapi.ActionStart, pluginapi.ActionStop, pluginapi.ActionRestart, pluginapi.ActionRollback:
		return true
	}
	return a.Dangerous
}

// pluginOf finds the plugin serving a connection.
func (p *portal) pluginOf(ctx context.Context, caller ops.Caller, conn string) (ops.PluginInfo, error) {
	_, pl, err := p.connPlugin(ctx, caller, conn)
	return pl, err
}

// connPlugin returns a connection as the caller sees it (with their role
// on it) and its plugin.
func (p *portal) connPlugin(ctx context.Context, caller ops.Caller, conn string) (ops.Connection, ops.PluginInfo, error) {
	cn, err := p.host.GetConnection(ctx, caller, conn)
	if err != nil {
		return ops.Connection{}, ops.PluginInfo{}, err
	}
	pl, err := p.host.GetPlugin(ctx, caller, cn.Plugin)
	return cn, pl, err
}

// scaleToZeroWarning is why a scale to 0 is confirmed like a stop.
const scaleToZeroWarning = "Scaling to 0 replicas stops every instance of the service."

// scalesToZero: a scale whose params ask for 0 replicas interrupts the
// service as a stop does, so it is confirmed too.
func scalesToZero(a pluginapi.Action, params json.RawMessage) bool {
	var p struct {
		Replicas *float64 `json:"replicas"`
	}
	if a.Name != pluginapi.ActionScale || json.Unmarshal(params, &p) != nil {
		return false
	}
	return p.Replicas != nil && *p.Replicas == 0
}

// actionViews are the declared actions that apply to svc now: all of them
// when the plugin gives no hint (Service.ActionsAvailable, ABI 1.5).
func actionViews(pl ops.PluginInfo, svc *pluginapi.Service) []ActionView {
	var out []ActionView
	for _, a := range pl.Describe.Actions {
		if svc != nil && !svc.ActionAvailable(a.Name) {
			continue
		}
		av := ActionView{Action: a, Confirm: needsConfirm(a)}
		if len(a.ParamsSchema) > 0 {
			if s, err := schema.Compile(a.ParamsSchema); err == nil {
				var initial map[string]any
				if a.Name == pluginapi.ActionScale && svc != nil && svc.Desired != nil {
					initial = map[string]any{"replicas": *svc.Desired}
				}
				av.Fields = form.Build(s.Properties(), initial, nil)
			}
		}
		out = append(out, av)
	}
	return out
}

// serviceDetail shows everything about one service.
func (p *portal) serviceDetail(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, caller, conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	cn, pl, err := p.connPlugin(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	v := DetailView{Conn: conn, Plugin: pl, Service: svc, CanOperate: cn.Role.Allows(ops.RoleOperator),
		HasLogs: pl.Describe.Supports(pluginapi.OpLogs), Actions: actionViews(pl, svc),
		HasInvoke: pl.Describe.Supports(pluginapi.OpInvoke), HasDeployments: pl.Describe.Supports(pluginapi.OpDeployments)}
	if pl.Describe.Supports(pluginapi.OpInstances) {
		v.Instances, err = p.host.ListInstances(ctx, caller, conn, svc.ID)
		if err != nil {
			v.InstErr = p.userError(c, err)
		}
	}
	if v.HasDeployments {
		p.loadDeployments(c, &v)
	}
	v.Timeline, v.TimelineFirst = p.loadTimeline(c, conn, svc, detailTimelineItems, false), timelineFirst(svc)
	return render(c, http.StatusOK, DetailPage(p.pageInfo(c, svc.Name, "services"), v))
}

// loadDeployments reads one page of the rollout history, as the query asks:
// deploy_status (comma-separated) filters, deploy_page continues.
func (p *portal) loadDeployments(c echo.Context, v *DetailView) {
	v.DeplStatus = strings.TrimSpace(c.QueryParam("deploy_status"))
	opts := ops.DeploymentsOptions{PageSize: p.opts.DeploymentsPageSize, PageToken: c.QueryParam("deploy_page")}
	for _, st := range strings.Split(v.DeplStatus, ",") {
		if st = strings.TrimSpace(st); st != "" {
			opts.Status = append(opts.Status, st)
		}
	}
	page, err := p.host.ListDeployments(c.Request().Context(), callerOf(c), v.Conn, v.Service.ID, opts)
	if err != nil {
		v.DeplErr = p.userError(c, err)
		return
	}
	v.Deployments = page.Deployments
	link := func(token string) string {
		q := url.Values{}
		if v.DeplStatus != "" {
			q.Set("deploy_status", v.DeplStatus)
		}
		if token != "" {
			q.Set("deploy_page", token)
		}
		u := servicePath(v.Conn, v.Service.ID)
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		return u + "#deployments"
	}
	if page.NextPageToken != "" {
		v.DeplNext = link(page.NextPageToken)
	}
	if opts.PageToken != "" {
		v.DeplFirst = link("")
	}
	seen := map[string]bool{}
	for _, d := range page.Deployments {
		if d.Status != "" && !seen[d.Status] {
			seen[d.Status] = true
			v.DeplStatuses = append(v.DeplStatuses, d.Status)
		}
	}
	sort.Strings(v.DeplStatuses)
}

// serviceStatus answers the live-status fragment; the header
// X-Wharf-Settled tells the page's script when to stop polling.
func (p *portal) serviceStatus(c echo.Context) error {
	ctx := c.Request().Context()
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, callerOf(c), conn, id)
	if err != nil {
		pe := p.userError(c, err)
		if pe.Code == pluginapi.CodeNotFound {
			// Gone (deleted): nothing more to watch.
			c.Response().Header().Set("X-Wharf-Settled", "true")
		}
		return render(c, statusFor(pe.Code), errorBox(pe))
	}
	c.Response().Header().Set("X-Wharf-Settled", strconv.FormatBool(svc.Status.Settled()))
	if c.QueryParam("part") == "badge" {
		return render(c, http.StatusOK, statusBadge(svc.Status))
	}
	return render(c, http.StatusOK, statusPanel(conn, svc))
}

// runAction runs a lifecycle action; those that interrupt the service are
// confirmed on a page of their own first.
func (p *portal) runAction(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id, name := param(c, "conn"), param(c, "id"), param(c, "action")
	pl, err := p.pluginOf(ctx, caller, conn)
	if err != nil {
		return p.renderError(c, err)
	}
	a, ok := pl.Describe.Action(name)
	if !ok {
		return p.renderError(c, pluginapi.NotFound("unknown action %q", name))
	}
	var params json.RawMessage
	var fields []form.Field
	if len(a.ParamsSchema) > 0 {
		s, err := schema.Compile(a.ParamsSchema)
		if err != nil {
			return p.renderError(c, err)
		}
		values, _ := c.FormParams()
		doc, ferrs := form.Parse(s.Properties(), values)
		fields = form.Build(s.Properties(), doc, ferrs)
		if len(ferrs) == 0 {
			params, _ = json.Marshal(doc)
		} else {
			return p.actionProblem(c, conn, id, a, fields, &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: "Check the highlighted fields."})
		}
	}
	warning := ""
	if scalesToZero(a, params) {
		warning = scaleToZeroWarning
	}
	if (needsConfirm(a) || warning != "") && c.FormValue("confirm") != "yes" {
		svc, err := p.host.GetService(ctx, caller, conn, id)
		if err != nil {
			return p.renderError(c, err)
		}
		av := ActionView{Action: a, Fields: fields, Confirm: true, Warning: warning}
		return render(c, http.StatusOK, ConfirmActionPage(p.pageInfo(c, "Confirm "+actionTitle(a), "services"), conn, svc, av))
	}
	if _, err := p.host.RunAction(ctx, caller, conn, id, a.Name, params); err != nil {
		pe := p.userError(c, err)
		if form.AtFields(pe) && len(fields) > 0 {
			form.PlaceErrors(fields, pe)
		}
		return p.actionProblem(c, conn, id, a, fields, pe)
	}
	return p.redirect(c, servicePath(conn, id), actionTitle(a)+" requested.")
}

// actionProblem shows a refused action on the confirm page, fields kept.
func (p *portal) actionProblem(c echo.Context, conn, id string, a pluginapi.Action, fields []form.Field, pe *pluginapi.Error) error {
	svc, err := p.host.GetService(c.Request().Context(), callerOf(c), conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	pg := p.pageInfo(c, actionTitle(a), "services")
	return render(c, statusFor(pe.Code), ActionProblemPage(pg, conn, svc, ActionView{Action: a, Fields: fields, Confirm: needsConfirm(a)}, pe))
}

// deleteService deletes after a confirmation page.
func (p *portal) deleteService(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	conn, id := param(c, "conn"), param(c, "id")
	if c.FormValue("confirm") != "yes" {
		svc, err := p.host.GetService(ctx, caller, conn, id)
		if err != nil {
			return p.renderError(c, err)
		}
		return render(c, http.StatusOK, ConfirmDeletePage(p.pageInfo(c, "Delete "+svc.Name, "services"), conn, svc))
	}
	res, err := p.host.DeleteService(ctx, caller, conn, id, c.FormValue("force") == "true")
	if err != nil {
		return p.renderError(c, err)
	}
	name := p.host.ServiceName(conn, id)
	if res != nil && res.Service != nil && res.Service.Name != "" {
		name = res.Service.Name
	}
	return p.redirect(c, "/services", "Deletion of "+cmp.Or(name, id)+" requested.")
}

func actionTitle(a pluginapi.Action) string {
	if a.Title != "" {
		return a.Title
	}
	if a.Name == "" {
		return ""
	}
	return strings.ToUpper(a.Name[:1]) + a.Name[1:]
}

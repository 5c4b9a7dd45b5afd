package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// maxLiveRows bounds the rows one refresh of the list may ask for: the
// largest page the list shows.
const maxLiveRows = 500

// liveRow is one row's fresh status: the status cell as the page renders
// it, and the instance counts.
type liveRow struct {
	Conn      string `json:"conn"`
	ID        string `json:"id"`
	Status    string `json:"status"`
	Cell      string `json:"cell"`
	Instances string `json:"instances"`
}

// liveCount is one row of the summary bar ("" for all connections).
type liveCount struct {
	Conn     string `json:"conn"`
	Services int    `json:"services"`
	Running  int    `json:"running"`
	Updating int    `json:"updating"`
	Failed   int    `json:"failed"`
}

// liveAnswer is what the list's script receives. Unreachable names the
// connections not listed this time: their rows are left as they were
// rather than reported gone. Summary is the summary bar's counts.
type liveAnswer struct {
	Rows        []liveRow   `json:"rows"`
	Unreachable []string    `json:"unreachable"`
	Summary     []liveCount `json:"summary"`
}

func countOf(conn string, s ops.ConnectionSummary) liveCount {
	return liveCount{Conn: conn, Services: s.Total, Running: s.Running, Updating: s.Updating, Failed: s.Failed}
}

// servicesLive answers the status of the rows a services list shows
// (repeated conn and id parameters, pairwise) and its summary bar (under
// the list's own q, plugin and connection filters), from the same
// listings the list itself is drawn from, so that refreshing every few
// seconds costs the platforms no more than the list's cache allows.
func (p *portal) servicesLive(c echo.Context) error {
	qp := c.QueryParams()
	conns, ids := qp["conn"], qp["id"]
	if len(conns) != len(ids) {
		return c.JSON(http.StatusBadRequest, errorBody(pluginapi.Invalid("id", "give one id per conn (%d conn, %d id)", len(conns), len(ids))))
	}
	if len(ids) > maxLiveRows {
		return c.JSON(http.StatusBadRequest, errorBody(pluginapi.Invalid("id", "at most %d rows can be refreshed at once, not %d", maxLiveRows, len(ids))))
	}
	out := liveAnswer{Rows: []liveRow{}, Unreachable: []string{}, Summary: []liveCount{}}
	q := listQuery(c)
	opts := ops.ListAllOptions{Name: q.Name, PageSize: max(len(ids), 1), Refs: make([]ops.ServiceRef, len(ids))}
	if q.Plugin != "" {
		opts.Plugins = []string{q.Plugin}
	}
	if q.Connection != "" {
		opts.Connections = []string{q.Connection}
	}
	for i := range ids {
		opts.Refs[i] = ops.ServiceRef{Connection: conns[i], ID: ids[i]}
	}
	ctx := c.Request().Context()
	page, err := p.host.ListAllServices(ctx, callerOf(c), opts)
	if err != nil {
		pe := p.userError(c, err)
		return c.JSON(statusFor(pe.Code), errorBody(pe))
	}
	for _, e := range page.Errors {
		out.Unreachable = append(out.Unreachable, e.Connection)
	}
	var all ops.ConnectionSummary
	for _, sum := range page.Summary {
		out.Summary = append(out.Summary, countOf(sum.Connection, sum))
		all.Total, all.Running, all.Updating, all.Failed = all.Total+sum.Total, all.Running+sum.Running, all.Updating+sum.Updating, all.Failed+sum.Failed
	}
	out.Summary = append(out.Summary, countOf("", all))
	for _, s := range page.Services {
		var cell strings.Builder
		if err := statusCell(s).Render(ctx, &cell); err != nil {
			return err
		}
		out.Rows = append(out.Rows, liveRow{Conn: s.Connection, ID: s.ID, Status: string(s.Status),
			Cell: cell.String(), Instances: counts(s.Running, s.Desired)})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// errorBody wraps an error as the REST API does: {"error": {...}}.
func errorBody(e *pluginapi.Error) map[string]*pluginapi.Error {
	return map[string]*pluginapi.Error{"error": e}
}

package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// maxMergedServices bounds the services one merged log view follows: each
// is a websocket, and a client may hold ViewersPerClient of them.
const maxMergedServices = 8

// MergedStream is one service of a merged log view.
type MergedStream struct {
	Name       string `json:"name"`
	Connection string `json:"connection"`
	ID         string `json:"id"`
	WS         string `json:"ws"`
}

// MergedLogsView is the merged log view of several services: picked by
// connection, name and label, or named one by one (service=conn/id).
type MergedLogsView struct {
	Connections      []string
	Connection, Name string
	Label            string
	Streams          []MergedStream
	StreamsJSON      string
	More             int // matching services beyond maxMergedServices
	Problems         []string
	Tail             int
	Picked           bool // services were named one by one
}

// mergedLogsPage follows the logs of up to maxMergedServices services at
// once, merged by time in the page, each line tagged with its service.
func (p *portal) mergedLogsPage(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	q := c.QueryParams()
	v := MergedLogsView{Connection: q.Get("connection"), Name: q.Get("name"), Label: strings.TrimSpace(q.Get("label")), Tail: 50}
	conns, err := p.host.ListConnections(ctx, caller)
	if err != nil {
		return p.renderError(c, err)
	}
	for _, cn := range conns {
		v.Connections = append(v.Connections, cn.Name)
	}
	var picked []ops.ConnService
	if refs := q["service"]; len(refs) > 0 {
		v.Picked = true
		if len(refs) > maxMergedServices {
			return p.renderError(c, pluginapi.Invalid("/service", "at most %d services at once, not %d", maxMergedServices, len(refs)))
		}
		for _, ref := range refs {
			conn, id, ok := strings.Cut(ref, "/")
			if !ok || conn == "" || id == "" {
				return p.renderError(c, pluginapi.Invalid("/service", "service %q: give connection/id", ref))
			}
			svc, err := p.host.GetService(ctx, caller, conn, id)
			if err != nil {
				return p.renderError(c, err)
			}
			picked = append(picked, ops.ConnService{Connection: conn, Service: *svc})
		}
	} else if v.Connection != "" || v.Name != "" || v.Label != "" {
		o := ops.ListAllOptions{Name: v.Name, PageSize: 500}
		if v.Connection != "" {
			if _, err := p.host.GetConnection(ctx, caller, v.Connection); err != nil {
				return p.renderError(c, err)
			}
			o.Connections = []string{v.Connection}
		}
		page, err := p.host.ListAllServices(ctx, caller, o)
		if err != nil {
			return p.renderError(c, err)
		}
		for _, e := range page.Errors {
			v.Problems = append(v.Problems, e.Connection+": "+e.Error.Message)
		}
		for _, s := range page.Services {
			if hasLabel(s.Labels, v.Label) {
				picked = append(picked, s)
			}
		}
	}
	for _, s := range picked {
		pl, err := p.pluginOf(ctx, caller, s.Connection)
		if err != nil || !pl.Describe.Supports(pluginapi.OpLogs) {
			continue
		}
		if len(v.Streams) == maxMergedServices {
			v.More++
			continue
		}
		v.Streams = append(v.Streams, MergedStream{Name: s.Name, Connection: s.Connection, ID: s.ID,
			WS: string(at(ctx, servicePath(s.Connection, s.ID)+"/logs/ws"))})
	}
	b, _ := json.Marshal(v.Streams)
	v.StreamsJSON = string(b)
	return render(c, http.StatusOK, MergedLogsPage(p.pageInfo(c, "Logs of several services", "services"), v))
}

// hasLabel reports whether labels match sel: "key=value", or "key" for
// any value; "" matches everything.
func hasLabel(labels map[string]string, sel string) bool {
	if sel == "" {
		return true
	}
	k, val, withValue := strings.Cut(sel, "=")
	got, ok := labels[strings.TrimSpace(k)]
	return ok && (!withValue || got == strings.TrimSpace(val))
}

package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// ListView is the services list page's model.
type ListView struct {
	Query      ListQuery
	Services   []ops.ConnService
	Total      int
	Errors     []ops.ConnectionError
	NextURL    string
	PrevURL    string
	FirstURL   string
	Plugins    []string
	Conns      []string
	Statuses   []pluginapi.Status
	CanCreate  bool
	NoConns    bool
	PageNumber int
}

// ListQuery is the list's filters as given in the URL.
type ListQuery struct {
	Name, Plugin, Connection, Status string
	Token                            string
	// Back holds the tokens of the previous pages (for "Previous").
	Back []string
}

func (q ListQuery) url(token string, back []string) string {
	v := url.Values{}
	if q.Name != "" {
		v.Set("q", q.Name)
	}
	if q.Plugin != "" {
		v.Set("plugin", q.Plugin)
	}
	if q.Connection != "" {
		v.Set("connection", q.Connection)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if token != "" {
		v.Set("page", token)
	}
	if len(back) > 0 {
		v["back"] = back
	}
	if len(v) == 0 {
		return "/services"
	}
	return "/services?" + v.Encode()
}

// servicesList lists the services of every connection, filtered and paged.
func (p *portal) servicesList(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	q := ListQuery{
		Name:       strings.TrimSpace(c.QueryParam("q")),
		Plugin:     c.QueryParam("plugin"),
		Connection: c.QueryParam("connection"),
		Status:     c.QueryParam("status"),
		Token:      c.QueryParam("page"),
		Back:       c.QueryParams()["back"],
	}
	if len(q.Back) > 50 {
		q.Back = q.Back[len(q.Back)-50:]
	}
	opts := ops.ListAllOptions{Name: q.Name, PageSize: p.opts.PageSize, PageToken: q.Token}
	if q.Plugin != "" {
		opts.Plugins = []string{q.Plugin}
	}
	if q.Connection != "" {
		opts.Connections = []string{q.Connection}
	}
	if q.Status != "" {
		opts.Statuses = []pluginapi.Status{pluginapi.Status(q.Status)}
	}
	page, err := p.host.ListAllServices(ctx, caller, opts)
	if err != nil {
		return p.renderError(c, err)
	}
	v := ListView{Query: q, Services: page.Services, Total: page.Total, Errors: page.Errors,
		Statuses: pluginapi.Statuses, CanCreate: can(c, ops.RoleOperator), PageNumber: len(q.Back) + 1}
	for i := range v.Errors {
		if v.Errors[i].Error != nil {
			v.Errors[i].Error = p.userError(c, v.Errors[i].Error)
		}
	}
	if plugins, err := p.host.ListPlugins(ctx, caller); err == nil {
		for _, pl := range plugins {
			v.Plugins = append(v.Plugins, pl.Name)
		}
	}
	if conns, err := p.host.ListConnections(ctx, caller); err == nil {
		for _, cn := range conns {
			v.Conns = append(v.Conns, cn.Name)
		}
		v.NoConns = len(conns) == 0
	}
	if page.NextPageToken != "" {
		v.NextURL = q.url(page.NextPageToken, append(append([]string{}, q.Back...), q.Token))
	}
	if q.Token != "" {
		v.FirstURL = q.url("", nil)
		if n := len(q.Back); n > 0 {
			v.PrevURL = q.url(q.Back[n-1], q.Back[:n-1])
		}
	}
	return render(c, http.StatusOK, ServicesPage(p.pageInfo(c, "Services", "services"), v))
}

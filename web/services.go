package web

import (
	"net/http"
	"net/url"
	"slices"
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
	Summary    []ops.ConnectionSummary
	NextURL    string
	PrevURL    string
	FirstURL   string
	Plugins    []string
	Conns      []string
	Statuses   []pluginapi.Status
	CanCreate  bool
	NoConns    bool
	PageNumber int
	// Titles are the plugins' titles by name (the Platform column).
	Titles map[string]string
}

// ListQuery is the list's filters and order as given in the URL.
type ListQuery struct {
	Name, Plugin, Connection string
	// Status keeps any of these statuses (the summary's "updating" is three).
	Status []string
	// Sort is one of ops.SortKeys, "" for the default (name); Desc reverses.
	Sort  string
	Desc  bool
	Token string
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
	if len(q.Status) > 0 {
		v["status"] = q.Status
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("dir", "desc")
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

// Here is the current page's URL (the retry link of an unreachable connection).
func (q ListQuery) Here() string { return q.url(q.Token, q.Back) }

// SortURL is the first page sorted by key: the other direction when the
// list is already sorted by key, else ascending (newest first for updated).
func (q ListQuery) SortURL(key string) string {
	s := q
	s.Sort, s.Desc = key, key == ops.SortUpdated
	if q.sortKey() == key {
		s.Desc = !q.Desc
	}
	if s.Sort == ops.SortName {
		s.Sort = ""
	}
	return s.url("", nil)
}

// AriaSort is the aria-sort of key's column header, "" when not sorted by it.
func (q ListQuery) AriaSort(key string) string {
	switch {
	case q.sortKey() != key:
		return ""
	case q.Desc:
		return "descending"
	}
	return "ascending"
}

// countFilters counts the folded filters in use (platform, connection,
// status, a non-default order), for the fold's summary.
func countFilters(q ListQuery) int {
	n := 0
	for _, set := range []bool{q.Plugin != "", q.Connection != "", len(q.Status) > 0, q.Sort != "" && q.Sort != ops.SortName, q.Desc} {
		if set {
			n++
		}
	}
	return n
}

// filtersSet reports whether a folded filter is in use: then the fold
// stays open on a phone too.
func filtersSet(q ListQuery) bool { return countFilters(q) > 0 }

func (q ListQuery) sortKey() string {
	if q.Sort == "" {
		return ops.SortName
	}
	return q.Sort
}

// StatusURL is the first page of conn ("" for all) filtered by statuses,
// the other filters kept.
func (q ListQuery) StatusURL(conn string, statuses ...pluginapi.Status) string {
	s := q
	s.Connection = conn
	s.Status = statusStrings(statuses)
	return s.url("", nil)
}

// StatusIs reports whether the list is filtered by exactly these statuses.
func (q ListQuery) StatusIs(statuses ...pluginapi.Status) bool {
	return slices.Equal(q.Status, statusStrings(statuses))
}

// listQuery reads the list's query. An order the list does not know falls
// back to the default: a hand-edited address still shows the services
// (the REST API refuses it instead).
func listQuery(c echo.Context) ListQuery {
	q := ListQuery{
		Name:       strings.TrimSpace(c.QueryParam("q")),
		Plugin:     c.QueryParam("plugin"),
		Connection: c.QueryParam("connection"),
		Sort:       c.QueryParam("sort"),
		Desc:       c.QueryParam("dir") == "desc",
		Token:      c.QueryParam("page"),
		Back:       c.QueryParams()["back"],
	}
	for _, st := range c.QueryParams()["status"] {
		if st != "" && len(q.Status) < len(pluginapi.Statuses) && !slices.Contains(q.Status, st) {
			q.Status = append(q.Status, st)
		}
	}
	if q.Sort != "" && !slices.Contains(ops.SortKeys, q.Sort) {
		q.Sort, q.Desc = "", false
	}
	if q.Sort == ops.SortName {
		q.Sort = "" // the default needs no parameter
	}
	if len(q.Back) > 50 {
		q.Back = q.Back[len(q.Back)-50:]
	}
	return q
}

// servicesList lists the services of every connection, filtered, sorted
// and paged, under a summary of each connection's statuses.
func (p *portal) servicesList(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	q := listQuery(c)
	opts := ops.ListAllOptions{Name: q.Name, PageSize: p.opts.PageSize, PageToken: q.Token, Sort: q.Sort, Desc: q.Desc}
	if q.Plugin != "" {
		opts.Plugins = []string{q.Plugin}
	}
	if q.Connection != "" {
		opts.Connections = []string{q.Connection}
	}
	for _, st := range q.Status {
		opts.Statuses = append(opts.Statuses, pluginapi.Status(st))
	}
	page, err := p.host.ListAllServices(ctx, caller, opts)
	if err != nil {
		return p.renderError(c, err)
	}
	v := ListView{Query: q, Services: page.Services, Total: page.Total, Errors: page.Errors, Summary: page.Summary,
		Statuses: pluginapi.Statuses, CanCreate: can(c, ops.RoleOperator), PageNumber: len(q.Back) + 1,
		Titles: map[string]string{}}
	for i := range v.Errors {
		if v.Errors[i].Error != nil {
			v.Errors[i].Error = p.userError(c, v.Errors[i].Error)
		}
	}
	if plugins, err := p.host.ListPlugins(ctx, caller); err == nil {
		for _, pl := range plugins {
			v.Plugins = append(v.Plugins, pl.Name)
			v.Titles[pl.Name] = pl.Title
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

// Title is a plugin's title, its name when it has none.
func (v ListView) Title(plugin string) string {
	if t := v.Titles[plugin]; t != "" {
		return t
	}
	return plugin
}

// SummaryTotal adds up the connections' summaries.
func (v ListView) SummaryTotal() ops.ConnectionSummary {
	var t ops.ConnectionSummary
	for _, s := range v.Summary {
		t.Total += s.Total
		t.Running += s.Running
		t.Updating += s.Updating
		t.Failed += s.Failed
	}
	return t
}

// unreachable tells a connection the platform did not answer from one
// whose listing failed otherwise (a plugin error, a refusal).
func unreachable(e *pluginapi.Error) bool {
	return e == nil || e.Code == pluginapi.CodeUnavailable || e.Code == pluginapi.CodeTimeout
}

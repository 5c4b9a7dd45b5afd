package api

import (
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/pluginapi"
)

// Every route declares the query parameters it takes, and any other one is
// refused (400, field = the parameter's name) before the handler runs, so
// that a misspelt or unsupported option is never silently ignored.

// routeQuery is what one route takes.
type routeQuery struct {
	// names are the parameters the handler reads.
	names []string
	// filters: the route also takes filter=key=value and any other
	// parameter as a filter key=value, checked by the host against what the
	// plugin declares, or by the plugin (unknown keys are invalid there).
	filters bool
}

// routeQueries declares the query parameters of every route, keyed by
// method and path as registered under Prefix. The OpenAPI document lists
// the same (a test keeps the two together).
var routeQueries = map[string]routeQuery{
	"GET /healthz":       {},
	"GET /openapi.json":  {},
	"GET /plugins":       {},
	"GET /plugins/:name": {},
	"POST /plugins":      {},

	"GET /me":                 {},
	"GET /tokens":             {names: []string{"user"}},
	"POST /tokens":            {},
	"DELETE /tokens/:id":      {},
	"POST /tokens/:id/rotate": {},
	"GET /bindings":           {},
	"POST /bindings":          {},
	"DELETE /bindings/:id":    {},
	"GET /sessions":           {names: []string{"user"}},
	"DELETE /sessions/:id":    {},
	"GET /users":              {},
	"POST /users/:id/disable": {},
	"POST /users/:id/enable":  {},

	"GET /connections":             {},
	"POST /connections":            {},
	"GET /connections/:conn":       {},
	"PUT /connections/:conn":       {names: []string{"version"}},
	"PATCH /connections/:conn":     {names: []string{"version"}},
	"DELETE /connections/:conn":    {},
	"POST /connections/:conn/test": {},

	"GET /services":                          {names: []string{"name", "plugin", "connection", "status", "sort", "dir", "page_size", "page_token"}},
	"GET /connections/:conn/services":        {names: []string{"page_size", "page_token", "filter"}, filters: true},
	"POST /connections/:conn/services":       {},
	"GET /connections/:conn/instances":       {names: []string{"service", "page_size", "page_token", "filter"}, filters: true},
	"GET /connections/:conn/choices":         {names: []string{"field", "prefix", "limit"}},
	"GET /connections/:conn/services/:id":    {names: []string{"insert_defaults"}},
	"PUT /connections/:conn/services/:id":    {names: []string{"version"}},
	"PATCH /connections/:conn/services/:id":  {names: []string{"version"}},
	"DELETE /connections/:conn/services/:id": {names: []string{"force"}},

	"POST /connections/:conn/services/:id/actions/:action": {},
	"GET /connections/:conn/services/:id/logs": {names: []string{"cursor", "since", "tail", "limit", "stdout", "stderr",
		"details", "instance", "follow", "until", "before"}},
	"GET /connections/:conn/services/:id/instances":      {names: []string{"filter"}, filters: true},
	"GET /connections/:conn/services/:id/instances/:iid": {},
	"GET /connections/:conn/services/:id/deployments": {names: []string{"status", "created_after", "created_before",
		"page_size", "page_token"}},
	"GET /connections/:conn/services/:id/deployments/:did": {},
	"GET /connections/:conn/services/:id/timeline":         {names: []string{"limit"}},
	"POST /connections/:conn/services/:id/invoke":          {},

	"GET /audit":        {names: auditParams},
	"GET /audit/export": {names: append([]string{"format"}, auditParams...)},
	"GET /audit/verify": {},

	"GET /webhooks":                  {},
	"GET /webhooks/:name/deliveries": {names: []string{"limit"}},
	"POST /webhooks/:name/test":      {},
}

var auditParams = []string{"since", "until", "actor", "connection", "target", "operation", "outcome", "limit", "before"}

// RouteQuery returns the query parameters the route registered as method
// and path (under Prefix, echo's ":name" notation) takes, and whether it
// also takes filters (filter=key=value and other parameters as keys). ok
// is false for a route that declares nothing.
func RouteQuery(method, path string) (names []string, filters, ok bool) {
	rq, ok := routeQueries[method+" "+path]
	return append([]string(nil), rq.names...), rq.filters, ok
}

// checkQuery refuses a query parameter the matched route does not take.
// Only echo's catch-all routes, which answer 404 whatever the query, are
// not declared (TestEveryRouteDeclaresItsQuery keeps it so).
func checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		if len(q) == 0 {
			return next(c)
		}
		rq, ok := routeQueries[c.Request().Method+" "+strings.TrimPrefix(c.Path(), Prefix)]
		if !ok || rq.filters {
			return next(c)
		}
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same answer for the same request
		for _, k := range keys {
			if !contains(rq.names, k) {
				if len(rq.names) == 0 {
					return pluginapi.Invalid(k, "unknown query parameter %q: this route takes none", k)
				}
				return pluginapi.Invalid(k, "unknown query parameter %q: this route takes %s", k, strings.Join(rq.names, ", "))
			}
		}
		return next(c)
	}
}

// filtersOf reads a listing's filters: every filter=key=value, and every
// parameter the route does not reserve for itself as key=value (a label
// value "k=v" keeps its own "=").
func filtersOf(c echo.Context, reserved []string) (map[string][]string, error) {
	filters := map[string][]string{}
	for _, f := range c.QueryParams()["filter"] {
		k, v, ok := cutFilter(f)
		if !ok {
			return nil, pluginapi.Invalid("filter", "query parameter filter must be key=value, not %q", f)
		}
		filters[k] = append(filters[k], v)
	}
	for k, vs := range c.QueryParams() {
		if k != "filter" && !contains(reserved, k) {
			filters[k] = append(filters[k], vs...)
		}
	}
	if len(filters) == 0 {
		return nil, nil
	}
	return filters, nil
}

// cutFilter splits "key=value" at the first "=" (a label value "k=v" keeps its own).
func cutFilter(f string) (string, string, bool) {
	k, v, ok := strings.Cut(f, "=")
	return k, v, ok && k != ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

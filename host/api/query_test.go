package api_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// concrete fills a route's path parameters with values that exist.
func concrete(path, svc string) string {
	r := strings.NewReplacer(":conn", opstest.Conn, ":id", svc, ":iid", svc+".1", ":did", svc+"-d1", ":name", "fake", ":action", "scale")
	return r.Replace(strings.TrimPrefix(path, api.Prefix))
}

// apiRoutes lists the API's routes, echo's catch-alls left out.
func apiRoutes(e *echo.Echo) []*echo.Route {
	var out []*echo.Route
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, api.Prefix+"/") || strings.HasSuffix(r.Path, "*") {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Method+out[i].Path < out[j].Method+out[j].Path })
	return out
}

// TestEveryRouteTakesOnlyItsQuery: on every route, an unknown query
// parameter is a 400 naming it (before anything runs: the service is still
// there after the DELETE), and on every GET route each declared one is not.
func TestEveryRouteTakesOnlyItsQuery(t *testing.T) {
	v := newEnv(t, opstest.Options{})
	c := v.client(t, "")
	svc := c.want(201, "POST", "/connections/"+opstest.Conn+"/services", spec).json(t)["service"].(map[string]any)["id"].(string)
	routes := apiRoutes(v.e)
	if len(routes) < 26 {
		t.Fatalf("only %d routes: the walk is broken", len(routes))
	}
	for _, r := range routes {
		rel := strings.TrimPrefix(r.Path, api.Prefix)
		names, _, ok := api.RouteQuery(r.Method, rel)
		if !ok {
			t.Errorf("%s %s declares no query parameters (add it to routeQueries)", r.Method, rel)
			continue
		}
		path := concrete(r.Path, svc)
		a := c.do(r.Method, path+"?zz_unknown=1", "")
		field := ""
		if a.status == 400 {
			e, _ := a.json(t)["error"].(map[string]any)
			field, _ = e["field"].(string)
		}
		if a.status != 400 || (field != "zz_unknown" && field != "/filters/zz_unknown") {
			t.Errorf("%s %s?zz_unknown=1: %d field %q, want 400 naming zz_unknown\n%s", r.Method, rel, a.status, field, a.body)
		}
		if r.Method != "GET" {
			continue
		}
		for _, n := range names {
			val := ""
			if n == "filter" {
				val = "desired_state=RUNNING"
				if strings.HasSuffix(rel, "/services") {
					val = "name=web"
				}
			}
			q := url.Values{n: {val}}.Encode()
			if a := c.do("GET", path+"?"+q, ""); a.status == 400 {
				t.Errorf("GET %s?%s: 400 for a parameter it declares\n%s", rel, q, a.body)
			}
		}
	}
	c.want(200, "GET", "/connections/"+opstest.Conn+"/services/"+svc, "")
}

// TestRouteQueriesMatchOpenAPI: each route's declared query parameters are
// the ones the OpenAPI document lists for it (a route with filters may
// document filter keys besides).
func TestRouteQueriesMatchOpenAPI(t *testing.T) {
	v := newEnv(t, opstest.Options{NoConnection: true})
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	queryOf := func(raw json.RawMessage) []string {
		var x struct {
			Parameters []param `json:"parameters"`
		}
		_ = json.Unmarshal(raw, &x)
		var out []string
		for _, p := range x.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "query" {
				out = append(out, p.Name)
			}
		}
		return out
	}
	pathParam := regexp.MustCompile(`:([a-z]+)`)
	for _, r := range apiRoutes(v.e) {
		rel := strings.TrimPrefix(r.Path, api.Prefix)
		item := doc.Paths[pathParam.ReplaceAllString(rel, "{$1}")]
		documented := append(queryOf(item["parameters"]), queryOf(item[strings.ToLower(r.Method)])...)
		names, filters, _ := api.RouteQuery(r.Method, rel)
		for _, n := range names {
			if !contains(documented, n) {
				t.Errorf("%s %s takes %s, which the OpenAPI document does not list", r.Method, rel, n)
			}
		}
		for _, n := range documented {
			if !contains(names, n) && !filters {
				t.Errorf("%s %s: the OpenAPI document lists %s, which the route refuses", r.Method, rel, n)
			}
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

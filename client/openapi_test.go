package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// docOp is what the OpenAPI document says of one operation.
type docOp struct {
	query, header map[string]bool
	bodyTypes     []string // the request body's media types; none: no body
	bodyRequired  bool
}

// openAPIOps reads every operation of the document the host serves, keyed
// "METHOD /path/{param}", its parameters' $refs resolved.
func openAPIOps(t *testing.T) map[string]docOp {
	t.Helper()
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	type body struct {
		Ref      string                     `json:"$ref"`
		Required bool                       `json:"required"`
		Content  map[string]json.RawMessage `json:"content"`
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters    map[string]param `json:"parameters"`
			RequestBodies map[string]body  `json:"requestBodies"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	resolve := func(ps []param) []param {
		out := make([]param, 0, len(ps))
		for _, p := range ps {
			if p.Ref != "" {
				r, ok := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				if !ok {
					t.Fatalf("unresolved parameter %s", p.Ref)
				}
				p = r
			}
			out = append(out, p)
		}
		return out
	}
	ops := map[string]docOp{}
	for path, item := range doc.Paths {
		var shared []param
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatal(err)
			}
		}
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			var op struct {
				Parameters  []param `json:"parameters"`
				RequestBody *body   `json:"requestBody"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			d := docOp{query: map[string]bool{}, header: map[string]bool{}}
			for _, p := range resolve(append(slices.Clone(shared), op.Parameters...)) {
				switch p.In {
				case "query":
					d.query[p.Name] = true
				case "header":
					d.header[http.CanonicalHeaderKey(p.Name)] = true
				}
			}
			if b := op.RequestBody; b != nil {
				if b.Ref != "" {
					rb, ok := doc.Components.RequestBodies[strings.TrimPrefix(b.Ref, "#/components/requestBodies/")]
					if !ok {
						t.Fatalf("unresolved request body %s", b.Ref)
					}
					b = &rb
				}
				for ct := range b.Content {
					d.bodyTypes = append(d.bodyTypes, ct)
				}
				d.bodyRequired = b.Required
			}
			ops[strings.ToUpper(method)+" "+path] = d
		}
	}
	if len(ops) < 40 {
		t.Fatalf("read only %d operations from the document", len(ops))
	}
	return ops
}

// matchRoute finds the document's route of a request path (under the API
// prefix), preferring literal segments over parameters.
func matchRoute(ops map[string]docOp, method, path string) (string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestLiterals := "", -1
	for key := range ops {
		m, tmpl, _ := strings.Cut(key, " ")
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if m != method || len(ts) != len(segs) {
			continue
		}
		literals, ok := 0, true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{"):
			case s == segs[i]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = key, literals
		}
	}
	return best, bestLiterals >= 0
}

// recorded is one request a recording server saw.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

// recorder answers every request 200 {} and keeps it.
type recorder struct {
	mu  sync.Mutex
	got []recorded
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.got = append(rec.got, recorded{r.Method, strings.TrimPrefix(r.URL.EscapedPath(), api.Prefix), r.URL.Query(), r.Header.Clone(), b})
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}\n")
}

func (rec *recorder) take() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := rec.got
	rec.got = nil
	return got
}

// methodNames lists the client's methods as "Me" or "Services.List":
// those of *Client and of every resource it holds.
func methodNames(c *client.Client) []string {
	var names []string
	ct := reflect.TypeOf(c)
	for i := range ct.NumMethod() {
		names = append(names, ct.Method(i).Name)
	}
	st := ct.Elem()
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer {
			continue
		}
		for j := range f.Type.NumMethod() {
			names = append(names, f.Name+"."+f.Type.Method(j).Name)
		}
	}
	slices.Sort(names)
	return names
}

// everyMethod calls every method of the client once, each option set so
// that every query parameter and header it can send is sent.
func everyMethod(c *client.Client) map[string]func(context.Context) error {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	filters := map[string][]string{"label": {"team=a"}, "status": {"running"}}
	spec := json.RawMessage(`{"name":"web","image":"nginx"}`)
	patch := json.RawMessage(`{"replicas":2}`)
	drop := func(_ any, err error) error { return err }
	return map[string]func(context.Context) error{
		"Health":  func(ctx context.Context) error { return drop(c.Health(ctx)) },
		"OpenAPI": func(ctx context.Context) error { return drop(c.OpenAPI(ctx)) },
		"Me":      func(ctx context.Context) error { return drop(c.Me(ctx)) },

		"Plugins.List":     func(ctx context.Context) error { return drop(c.Plugins.List(ctx)) },
		"Plugins.Get":      func(ctx context.Context) error { return drop(c.Plugins.Get(ctx, "fake")) },
		"Plugins.Problems": func(ctx context.Context) error { return drop(c.Plugins.Problems(ctx)) },
		"Plugins.Install": func(ctx context.Context) error {
			return drop(c.Plugins.Install(ctx, ops.PluginUpload{Wasm: []byte("\x00asm"), Signature: []byte("sig"), Manifest: []byte("{}")}))
		},

		"Connections.List": func(ctx context.Context) error { return drop(c.Connections.List(ctx)) },
		"Connections.Get":  func(ctx context.Context) error { return drop(c.Connections.Get(ctx, "c1")) },
		"Connections.Create": func(ctx context.Context) error {
			return drop(c.Connections.Create(ctx, ops.ConnectionInput{Name: "c1", Plugin: "fake", Config: json.RawMessage(`{}`)}))
		},
		"Connections.Update": func(ctx context.Context) error {
			return drop(c.Connections.Update(ctx, "c1", ops.ConnectionInput{Config: json.RawMessage(`{}`)}, client.IfMatch("3")))
		},
		"Connections.Patch": func(ctx context.Context) error {
			return drop(c.Connections.Patch(ctx, "c1", json.RawMessage(`{"region":"eu"}`), client.IfMatch("3")))
		},
		"Connections.Delete": func(ctx context.Context) error { return c.Connections.Delete(ctx, "c1") },
		"Connections.Test":   func(ctx context.Context) error { return drop(c.Connections.Test(ctx, "c1")) },
		"Connections.Choices": func(ctx context.Context) error {
			return drop(c.Connections.Choices(ctx, "c1", "/secrets/*/name", ops.ChoicesOptions{Prefix: "db", Limit: 5}))
		},

		"Services.List": func(ctx context.Context) error {
			return drop(c.Services.List(ctx, "c1", ops.ListOptions{Filters: filters, PageSize: 5, PageToken: "p"}))
		},
		"Services.ListAll": func(ctx context.Context) error {
			return drop(c.Services.ListAll(ctx, ops.ListAllOptions{Name: "we", Plugins: []string{"fake"}, Connections: []string{"c1"},
				Statuses: []pluginapi.Status{pluginapi.StatusRunning}, PageSize: 5, PageToken: "p"}))
		},
		"Services.Get": func(ctx context.Context) error { return drop(c.Services.Get(ctx, "c1", "s1")) },
		"Services.Timeline": func(ctx context.Context) error {
			return drop(c.Services.Timeline(ctx, "c1", "s1", ops.TimelineOptions{Limit: 5}))
		},
		"Services.GetWith": func(ctx context.Context) error {
			return drop(c.Services.GetWith(ctx, "c1", "s1", ops.GetOptions{InsertDefaults: true}))
		},
		"Services.Create": func(ctx context.Context) error { return drop(c.Services.Create(ctx, "c1", spec)) },
		"Services.Update": func(ctx context.Context) error {
			return drop(c.Services.Update(ctx, "c1", "s1", spec, client.IfMatch("7")))
		},
		"Services.Patch": func(ctx context.Context) error {
			return drop(c.Services.Patch(ctx, "c1", "s1", patch, client.IfMatch("7")))
		},
		"Services.Delete": func(ctx context.Context) error { return drop(c.Services.Delete(ctx, "c1", "s1", true)) },
		"Services.RunAction": func(ctx context.Context) error {
			return drop(c.Services.RunAction(ctx, "c1", "s1", "scale", json.RawMessage(`{"replicas":3}`)))
		},
		"Services.Invoke": func(ctx context.Context) error {
			return drop(c.Services.Invoke(ctx, "c1", "s1", ops.InvokeInput{Method: "GET", Path: "/hi"}))
		},

		"Instances.List": func(ctx context.Context) error { return drop(c.Instances.List(ctx, "c1", "s1")) },
		"Instances.ListWith": func(ctx context.Context) error {
			return drop(c.Instances.ListWith(ctx, "c1", "s1", ops.InstancesOptions{Filters: map[string][]string{"desired_state": {"running"}}}))
		},
		"Instances.Get": func(ctx context.Context) error { return drop(c.Instances.Get(ctx, "c1", "s1", "s1.1")) },
		"Instances.ListConnection": func(ctx context.Context) error {
			return drop(c.Instances.ListConnection(ctx, "c1", ops.ConnectionInstancesOptions{Services: []string{"s1"},
				Filters: map[string][]string{"desired_state": {"running"}}, PageSize: 5, PageToken: "p"}))
		},

		"Deployments.List": func(ctx context.Context) error {
			return drop(c.Deployments.List(ctx, "c1", "s1", ops.DeploymentsOptions{Status: []string{"COMPLETED"},
				CreatedAfter: &now, CreatedBefore: &later, PageSize: 5, PageToken: "p"}))
		},
		"Deployments.Get": func(ctx context.Context) error { return drop(c.Deployments.Get(ctx, "c1", "s1", "d1")) },

		"Logs.Get": func(ctx context.Context) error {
			return drop(c.Logs.Get(ctx, "c1", "s1", ops.LogsOptions{Since: &now, Until: &later, Tail: 5, Cursor: "c", Stdout: true,
				Stderr: true, Details: true, Instance: "s1.1", Limit: 10, Before: "b"}))
		},
		"Logs.Stream": func(ctx context.Context) error {
			st, err := c.Logs.Stream(ctx, "c1", "s1", logfanout.Options{Tail: 5, Since: &now, Until: &later, Stdout: true, Stderr: true,
				Details: true, Instance: "s1.1"})
			if err != nil {
				return err
			}
			defer st.Close()
			for st.Next() {
			}
			return st.Err()
		},

		"Audit.List": func(ctx context.Context) error {
			return drop(c.Audit.List(ctx, audit.Filter{Since: now, Until: later, Actor: "a", Connection: "c1", Target: "s1",
				Operation: "service.create", Outcome: "ok", Limit: 5, BeforeID: 9}))
		},
		"Audit.Export": func(ctx context.Context) error {
			return c.Audit.Export(ctx, audit.Filter{Since: now, Until: later, Actor: "a", Connection: "c1", Target: "s1",
				Operation: "service.create", Outcome: "ok", Limit: 5, BeforeID: 9}, "csv", io.Discard)
		},
		"Audit.Verify": func(ctx context.Context) error { return drop(c.Audit.Verify(ctx)) },

		"Tokens.List": func(ctx context.Context) error { return drop(c.Tokens.List(ctx, "all")) },
		"Tokens.Create": func(ctx context.Context) error {
			return drop(c.Tokens.Create(ctx, auth.TokenRequest{Name: "ci", Grants: access.Grants{{Role: access.Viewer, Scope: access.All()}},
				ExpiresAt: later}))
		},
		"Tokens.Revoke": func(ctx context.Context) error { return drop(c.Tokens.Revoke(ctx, "tok_1")) },
		"Tokens.Rotate": func(ctx context.Context) error { return drop(c.Tokens.Rotate(ctx, "tok_1")) },

		"Bindings.List": func(ctx context.Context) error { return drop(c.Bindings.List(ctx)) },
		"Bindings.Create": func(ctx context.Context) error {
			return drop(c.Bindings.Create(ctx, access.Binding{Subject: "user:corp/a", Grant: access.Grant{Role: access.Viewer, Scope: access.All()}}))
		},
		"Bindings.Delete": func(ctx context.Context) error { return drop(c.Bindings.Delete(ctx, "bnd_1")) },

		"Sessions.List": func(ctx context.Context) error { return drop(c.Sessions.List(ctx, "all")) },
		"Sessions.End":  func(ctx context.Context) error { return c.Sessions.End(ctx, "ses_1") },

		"Users.List":    func(ctx context.Context) error { return drop(c.Users.List(ctx)) },
		"Users.Disable": func(ctx context.Context) error { return drop(c.Users.Disable(ctx, "usr_1")) },
		"Users.Enable":  func(ctx context.Context) error { return drop(c.Users.Enable(ctx, "usr_1")) },

		"Webhooks.List":       func(ctx context.Context) error { return drop(c.Webhooks.List(ctx)) },
		"Webhooks.Deliveries": func(ctx context.Context) error { return drop(c.Webhooks.Deliveries(ctx, "ci", 5)) },
		"Webhooks.Test":       func(ctx context.Context) error { return drop(c.Webhooks.Test(ctx, "ci")) },
	}
}

// TestClientMatchesOpenAPI calls every client method against a recording
// server and checks each request against the OpenAPI document (its route,
// query parameters, headers and body type), and that every operation of
// the document is reached by some method.
func TestClientMatchesOpenAPI(t *testing.T) {
	doc := openAPIOps(t)
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := client.New(srv.URL, client.WithToken("t0k3n"))
	if err != nil {
		t.Fatal(err)
	}
	calls := everyMethod(c)
	names := methodNames(c)
	for _, n := range names {
		if calls[n] == nil {
			t.Errorf("client method %s is not called by this test: add it to everyMethod", n)
		}
	}
	for n := range calls {
		if !slices.Contains(names, n) {
			t.Errorf("everyMethod calls %s, which the client does not have", n)
		}
	}

	covered := map[string][]string{}
	for _, name := range names {
		call := calls[name]
		if call == nil {
			continue
		}
		if err := call(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := rec.take()
		if len(got) != 1 {
			t.Errorf("%s sent %d requests, want 1", name, len(got))
			continue
		}
		r := got[0]
		key, ok := matchRoute(doc, r.method, r.path)
		if !ok {
			t.Errorf("%s sends %s %s, which the OpenAPI document does not have", name, r.method, r.path)
			continue
		}
		covered[key] = append(covered[key], name)
		op := doc[key]
		for q := range r.query {
			if !op.query[q] {
				t.Errorf("%s sends query parameter %q, which %s does not declare", name, q, key)
			}
		}
		for _, h := range []string{"If-Match", api.HeaderPluginSignature, api.HeaderPluginManifest} {
			if r.header.Get(h) != "" && !op.header[h] {
				t.Errorf("%s sends %s, which %s does not declare", name, h, key)
			}
		}
		if r.header.Get("Authorization") != "Bearer t0k3n" {
			t.Errorf("%s sends Authorization %q", name, r.header.Get("Authorization"))
		}
		switch ct, _, _ := strings.Cut(r.header.Get("Content-Type"), ";"); {
		case len(r.body) == 0 && op.bodyRequired:
			t.Errorf("%s sends no body; %s requires one", name, key)
		case len(r.body) > 0 && !slices.Contains(op.bodyTypes, ct):
			t.Errorf("%s sends a %q body; %s takes %v", name, ct, key, op.bodyTypes)
		case len(r.body) > 0 && strings.HasSuffix(ct, "json") && !json.Valid(r.body):
			t.Errorf("%s sends a body that is not JSON: %s", name, r.body)
		}
	}
	for key := range doc {
		if len(covered[key]) == 0 {
			t.Errorf("the OpenAPI document's %s has no client method", key)
		}
	}
}

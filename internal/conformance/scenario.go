package conformance

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Fixture is a plugin's testdata/conformance.json.
type Fixture struct {
	CreateSpec     map[string]any `json:"create_spec"`
	UpdateSpec     map[string]any `json:"update_spec"`
	InvalidSpec    map[string]any `json:"invalid_spec"`
	InvalidField   string         `json:"invalid_field"`
	BadCredentials map[string]any `json:"bad_credentials"`
	// Preserve is the "update keeps what the plugin does not model" case.
	Preserve *Preserve `json:"preserve,omitempty"`
	Comment  string    `json:"_comment,omitempty"`
}

// LoadFixture reads <pluginDir>/testdata/conformance.json.
func LoadFixture(t testing.TB, pluginDir string) Fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pluginDir, "testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s conformance.json: %v", pluginDir, err)
	}
	return f
}

// Platform is one provider under test.
type Platform struct {
	Plugin  string         // the plugin's name
	Config  map[string]any // a working connection config
	Fixture Fixture
	// Settle bounds the wait for a status to settle (default 30s).
	Settle time.Duration
	// PageServices is how many services the paging case creates (default 5).
	PageServices int
	// Native reaches the platform beside Wharf, for the preserve case.
	Native *Native
}

// Run runs the whole scenario against the host behind c.
func Run(t *testing.T, c *Client, p Platform) {
	if p.Settle == 0 {
		p.Settle = 30 * time.Second
	}
	if p.PageServices == 0 {
		p.PageServices = 5
	}
	var info ops.PluginInfo
	c.Do(t, "GET", "/plugins/"+p.Plugin, nil).OK(t, "describe plugin", &info)
	d := info.Describe
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	conn := "conf-" + p.Plugin + "-" + suffix

	c.Do(t, "POST", "/connections", map[string]any{"name": conn, "plugin": p.Plugin, "config": p.Config}).OK(t, "create connection", nil)
	t.Cleanup(func() { c.Do(t, "DELETE", "/connections/"+conn, nil) })
	var tr ops.TestResult
	c.Do(t, "POST", "/connections/"+conn+"/test", nil).OK(t, "test connection", &tr)
	if !tr.OK {
		t.Fatalf("connection test failed: %v", tr.Error)
	}

	name := "wharf-conf-" + suffix
	nameKey := nameField(p.Fixture.CreateSpec)
	spec := withName(p.Fixture.CreateSpec, nameKey, name)

	t.Run("invalid spec names the field", func(t *testing.T) {
		r := c.Do(t, "POST", "/connections/"+conn+"/services", withName(p.Fixture.InvalidSpec, nameKey, name+"-bad"))
		r.Fails(t, "invalid create", http.StatusBadRequest, pluginapi.CodeInvalid)
		if r.Err.Field != p.Fixture.InvalidField {
			t.Fatalf("error names field %q, want %q (%s)", r.Err.Field, p.Fixture.InvalidField, r.Err.Message)
		}
	})

	var created ops.ServiceResult
	c.Do(t, "POST", "/connections/"+conn+"/services", spec).OK(t, "create", &created)
	if created.Service == nil || created.Service.ID == "" {
		t.Fatalf("create answered no service id: %+v", created)
	}
	id := created.Service.ID
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			c.Do(t, "DELETE", svcPath(conn, id)+"?force=true", nil)
		}
	})

	t.Run("appears in list", func(t *testing.T) {
		Eventually(t, p.Settle, "service in list", func() error {
			ids, err := listAll(t, c, conn, 0)
			if err != nil {
				return err
			}
			if !contains(ids, id) {
				return errorf("%s not among %d listed", id, len(ids))
			}
			return nil
		})
	})

	t.Run("get settles", func(t *testing.T) {
		Eventually(t, p.Settle, "status settles", func() error {
			s := get(t, c, conn, id)
			if nameKey != "" && s.Name != name {
				t.Fatalf("get: name %q, want %q", s.Name, name)
			}
			if s.Status != pluginapi.StatusRunning {
				return errorf("status %s (%s)", s.Status, s.NativeStatus)
			}
			return nil
		})
	})

	t.Run("update", func(t *testing.T) {
		before := get(t, c, conn, id)
		upd := withName(p.Fixture.UpdateSpec, nameKey, name)
		var res ops.ServiceResult
		c.DoIfMatch(t, "PUT", svcPath(conn, id), upd, before.Version).OK(t, "update", &res)
		Eventually(t, p.Settle, "update visible and settled", func() error {
			s := get(t, c, conn, id)
			if err := specReflects(s.Spec, p.Fixture.CreateSpec, upd); err != nil {
				return err
			}
			if s.Status != pluginapi.StatusRunning {
				return errorf("status %s (%s)", s.Status, s.NativeStatus)
			}
			return nil
		})
	})

	t.Run("update keeps what the plugin does not model", func(t *testing.T) {
		runPreserve(t, c, p, conn, name+"-keep")
	})

	t.Run("actions", func(t *testing.T) {
		// Rollback undoes the latest change, so it comes before stop and start
		// (rolling back a start would stop the service again).
		for _, a := range []string{pluginapi.ActionScale, pluginapi.ActionRollback, pluginapi.ActionRestart, pluginapi.ActionStop, pluginapi.ActionStart} {
			if _, ok := d.Action(a); !ok {
				continue
			}
			var params any
			if a == pluginapi.ActionScale {
				params = map[string]any{"replicas": 2}
			}
			r := c.Do(t, "POST", svcPath(conn, id)+"/actions/"+a, params)
			if a == pluginapi.ActionRollback && r.Status == http.StatusConflict {
				t.Logf("rollback refused as a conflict (nothing to roll back right now): %v", r.Err)
				continue
			}
			r.OK(t, "action "+a, nil)
			switch a {
			case pluginapi.ActionScale:
				Eventually(t, p.Settle, "scaled to 2", func() error {
					s := get(t, c, conn, id)
					if s.Desired == nil || *s.Desired != 2 {
						return errorf("desired %v", s.Desired)
					}
					return nil
				})
			case pluginapi.ActionStop:
				Eventually(t, p.Settle, "stopped", func() error {
					if s := get(t, c, conn, id); s.Status != pluginapi.StatusStopped {
						return errorf("status %s (%s)", s.Status, s.NativeStatus)
					}
					return nil
				})
			case pluginapi.ActionStart:
				Eventually(t, p.Settle, "running again", func() error {
					if s := get(t, c, conn, id); s.Status != pluginapi.StatusRunning {
						return errorf("status %s (%s)", s.Status, s.NativeStatus)
					}
					return nil
				})
			}
		}
		c.Do(t, "POST", svcPath(conn, id)+"/actions/no-such-action", nil).Fails(t, "unknown action", http.StatusNotFound, pluginapi.CodeNotFound)
	})

	t.Run("logs", func(t *testing.T) {
		if !d.Supports(pluginapi.OpLogs) {
			c.Do(t, "GET", svcPath(conn, id)+"/logs", nil).Fails(t, "logs of a plugin without logs", http.StatusNotImplemented, pluginapi.CodeUnsupported)
			return
		}
		var first ops.LogsPage
		Eventually(t, p.Settle, "log lines arrive", func() error {
			c.Do(t, "GET", svcPath(conn, id)+"/logs?tail=20", nil).OK(t, "logs", &first)
			if len(first.Entries) == 0 {
				return errorf("no entries yet")
			}
			return nil
		})
		seen := map[string]bool{}
		for _, e := range first.Entries {
			seen[entryKey(e)] = true
		}
		var next ops.LogsPage
		Eventually(t, p.Settle, "more lines with the cursor", func() error {
			c.Do(t, "GET", svcPath(conn, id)+"/logs?cursor="+urlQuery(first.Cursor), nil).OK(t, "logs with cursor", &next)
			for _, e := range next.Entries {
				if seen[entryKey(e)] {
					t.Fatalf("cursor repeated an entry: %+v", e)
				}
			}
			if len(next.Entries) == 0 {
				first.Cursor = next.Cursor
				return errorf("no new entries")
			}
			return nil
		})
	})

	t.Run("optional operations", func(t *testing.T) {
		for _, op := range []struct{ name, path string }{
			{pluginapi.OpInstances, "/instances"}, {pluginapi.OpDeployments, "/deployments"},
		} {
			r := c.Do(t, "GET", svcPath(conn, id)+op.path, nil)
			if !d.Supports(op.name) {
				r.Fails(t, op.name+" undeclared", http.StatusNotImplemented, pluginapi.CodeUnsupported)
				continue
			}
			r.OK(t, op.name, nil)
		}
		r := c.Do(t, "POST", svcPath(conn, id)+"/invoke", map[string]any{"method": "POST", "path": "/", "content_type": "application/json", "body": []byte(`{"ping":1}`)})
		if !d.Supports(pluginapi.OpInvoke) {
			r.Fails(t, "invoke undeclared", http.StatusNotImplemented, pluginapi.CodeUnsupported)
			return
		}
		var res ops.InvokeResult
		r.OK(t, "invoke", &res)
		if res.Status == 0 {
			t.Fatalf("invoke answered no status: %+v", res)
		}
	})

	t.Run("unknown service", func(t *testing.T) {
		c.Do(t, "GET", svcPath(conn, "wharf-no-such-service-"+suffix), nil).Fails(t, "get unknown", http.StatusNotFound, pluginapi.CodeNotFound)
		c.Do(t, "GET", svcPath("no-such-connection", id), nil).Fails(t, "unknown connection", http.StatusNotFound, pluginapi.CodeNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		c.Do(t, "DELETE", svcPath(conn, id)+"?force=true", nil).OK(t, "delete", nil)
		deleted = true
		Eventually(t, p.Settle, "gone", func() error {
			r := c.Do(t, "GET", svcPath(conn, id), nil)
			if r.Status != http.StatusNotFound {
				return errorf("get after delete: %d", r.Status)
			}
			ids, err := listAll(t, c, conn, 0)
			if err != nil {
				return err
			}
			if contains(ids, id) {
				return errorf("still listed")
			}
			return nil
		})
	})

	t.Run("paging", func(t *testing.T) {
		var want []string
		for i := 0; i < p.PageServices; i++ {
			s := withName(p.Fixture.CreateSpec, nameKey, fmt.Sprintf("%s-p%d", name, i))
			var res ops.ServiceResult
			c.Do(t, "POST", "/connections/"+conn+"/services", s).OK(t, "create for paging", &res)
			want = append(want, res.Service.ID)
			pid := res.Service.ID
			t.Cleanup(func() { c.Do(t, "DELETE", svcPath(conn, pid)+"?force=true", nil) })
		}
		Eventually(t, p.Settle, "all pages", func() error {
			ids, err := listAll(t, c, conn, 2)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("service %s listed twice across pages", id)
				}
				seen[id] = true
			}
			for _, w := range want {
				if !seen[w] {
					return errorf("%s missing from the pages", w)
				}
			}
			return nil
		})
	})

	t.Run("wrong credentials", func(t *testing.T) {
		if len(p.Fixture.BadCredentials) == 0 {
			t.Skip("the platform has no credentials")
		}
		bad := map[string]any{}
		for k, v := range p.Config {
			bad[k] = v
		}
		for k, v := range p.Fixture.BadCredentials {
			bad[k] = v
		}
		badConn := conn + "-bad"
		c.Do(t, "POST", "/connections", map[string]any{"name": badConn, "plugin": p.Plugin, "config": bad}).OK(t, "create bad connection", nil)
		defer c.Do(t, "DELETE", "/connections/"+badConn, nil)
		c.Do(t, "GET", "/connections/"+badConn+"/services", nil).Fails(t, "list with wrong credentials", http.StatusUnauthorized, pluginapi.CodeUnauthorized)
	})

	for _, tc := range []struct {
		name   string
		listen func(t *testing.T) string
		codes  []pluginapi.Code
	}{
		{"platform down", closedPort, []pluginapi.Code{pluginapi.CodeUnavailable}},
		{"platform hangs", hangingServer, []pluginapi.Code{pluginapi.CodeTimeout, pluginapi.CodeUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{}
			for k, v := range p.Config {
				cfg[k] = v
			}
			addr := tc.listen(t)
			for _, prop := range endpointFields(t, d.ConfigSchema) {
				cfg[prop] = "http://" + addr
			}
			down := conn + "-" + tc.name[len(tc.name)-4:]
			c.Do(t, "POST", "/connections", map[string]any{"name": down, "plugin": p.Plugin, "config": cfg}).OK(t, "create connection", nil)
			defer c.Do(t, "DELETE", "/connections/"+down, nil)
			start := time.Now()
			r := c.Do(t, "GET", "/connections/"+down+"/services", nil)
			if r.Err == nil || !codeIn(r.Err.Code, tc.codes) {
				t.Fatalf("want one of %v, got %d %v", tc.codes, r.Status, r.Err)
			}
			t.Logf("%s answered %s after %s", tc.name, r.Err.Code, time.Since(start).Round(time.Millisecond))
			// The host keeps serving.
			c.Do(t, "GET", "/plugins", nil).OK(t, "plugins after failure", nil)
		})
	}
}

// endpointFields lists the config properties marked "x-endpoint".
func endpointFields(t testing.TB, schema json.RawMessage) []string {
	var s struct {
		Properties map[string]struct {
			Endpoint bool `json:"x-endpoint"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	var out []string
	for name, p := range s.Properties {
		if p.Endpoint {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		t.Fatal("the plugin declares no x-endpoint config property")
	}
	return out
}

func codeIn(c pluginapi.Code, codes []pluginapi.Code) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangingServer accepts connections and never answers.
func hangingServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

func get(t testing.TB, c *Client, conn, id string) pluginapi.Service {
	t.Helper()
	var s pluginapi.Service
	c.Do(t, "GET", svcPath(conn, id), nil).OK(t, "get", &s)
	return s
}

// listAll walks every page of a connection's services and returns their ids.
func listAll(t testing.TB, c *Client, conn string, pageSize int) ([]string, error) {
	var ids []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return nil, errorf("more than 1000 pages: the page token does not advance")
		}
		q := "?page_token=" + urlQuery(token)
		if pageSize > 0 {
			q += fmt.Sprintf("&page_size=%d", pageSize)
		}
		var page ops.ServicePage
		r := c.Do(t, "GET", "/connections/"+conn+"/services"+q, nil)
		if r.Err != nil {
			return nil, r.Err
		}
		r.OK(t, "list", &page)
		if pageSize > 0 && len(page.Services) > pageSize {
			t.Fatalf("page of %d services with page_size %d", len(page.Services), pageSize)
		}
		for _, s := range page.Services {
			ids = append(ids, s.ID)
		}
		if page.NextPageToken == "" {
			return ids, nil
		}
		token = page.NextPageToken
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nameField is the spec property holding the service's name.
func nameField(spec map[string]any) string {
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range []string{"name", "service_name", "serviceName"} {
		if _, ok := spec[k]; ok {
			return k
		}
	}
	return ""
}

func withName(spec map[string]any, key, name string) map[string]any {
	out := make(map[string]any, len(spec))
	for k, v := range spec {
		out[k] = v
	}
	if key != "" {
		out[key] = name
	}
	return out
}

// specReflects checks that every top-level property the update changed shows
// its new value in the service's spec, where the plugin reports that property.
func specReflects(got json.RawMessage, create, update map[string]any) error {
	var spec map[string]any
	if len(got) == 0 {
		return nil
	}
	if err := json.Unmarshal(got, &spec); err != nil {
		return errorf("service spec: %v", err)
	}
	for k, v := range update {
		if reflect.DeepEqual(create[k], v) {
			continue
		}
		have, ok := spec[k]
		if !ok {
			continue
		}
		if !sameJSON(have, v) {
			return errorf("spec %s is %v, want %v", k, have, v)
		}
	}
	return nil
}

// sameJSON compares after a JSON round trip so that 2 and 2.0 agree, and
// accepts a superset for objects (platforms add defaults).
func sameJSON(have, want any) bool {
	hb, _ := json.Marshal(have)
	wb, _ := json.Marshal(want)
	var h, w any
	_ = json.Unmarshal(hb, &h)
	_ = json.Unmarshal(wb, &w)
	hm, hok := h.(map[string]any)
	wm, wok := w.(map[string]any)
	if hok && wok {
		for k, v := range wm {
			if !sameJSON(hm[k], v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(h, w)
}

func entryKey(e pluginapi.LogEntry) string {
	ts := ""
	if e.Time != nil {
		ts = e.Time.Format(time.RFC3339Nano)
	}
	return ts + "|" + e.Instance + "|" + e.Stream + "|" + e.Message
}

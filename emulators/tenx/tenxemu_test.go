package tenxemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type client struct {
	t        *testing.T
	srv      *httptest.Server
	user, tk string
}

// do sends a request the way the documented curl examples do.
func (c *client) do(method, path, body string) (int, any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	req.Header.Set("username", c.user)
	req.Header.Set("Authorization", "token "+c.tk)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		c.t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, v
}

// The documented service.json example, with its typos fixed.
const serviceJSON = `{
  "target_instance_size": 1,
  "containers": [{
    "image": "index.tenxcloud.com/tenxcloud/mysql:latest",
    "command": ["/run.sh"],
    "env": [{"name": "MYSQL_USER", "value": "admin"}, {"name": "MYSQL_PASS", "value": "password"}],
    "ports": [{"port": 3306, "protocol": "TCP"}],
    "resources": {"limits": {"memory": "512Mi"}},
    "volumeMounts": [{"name": "volume-name1", "mountPath": "/data"}]
  }],
  "port_mappings": [{"container_port": 3306, "protocol": "tcp"}],
  "volumes": [{"name": "volume-name1", "disk_name": "disk1", "is_read_only": false}],
  "sync_timezone": true,
  "binding_domain_name": ["www.xxxx.cn"]
}`

func TestDocumentedCalls(t *testing.T) {
	now := time.Date(2015, 12, 29, 8, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }, Pending: time.Second, LogInterval: time.Second})
	srv := httptest.NewServer(s)
	defer srv.Close()
	cfg := s.DemoConfig(srv.URL)
	c := &client{t: t, srv: srv, user: cfg["username"].(string), tk: cfg["token"].(string)}
	bad := &client{t: t, srv: srv, user: c.user, tk: "expired"}
	if st, _ := bad.do("GET", "/v1/regions/beijing1/services", ""); st != 401 {
		t.Fatalf("bad token: %d", st)
	}
	if st, _ := c.do("GET", "/v1/regions/mars1/services", ""); st != 404 {
		t.Fatalf("unknown region: %d", st)
	}

	st, v := c.do("POST", "/v1/regions/beijing1/services/myblog-mysql", serviceJSON)
	created, _ := v.(map[string]any)
	if st != 200 || created["name"] != "myblog-mysql" || created["default_domain_name"] == "" || created["status"] != "Pending" {
		t.Fatalf("create: %d %v", st, v)
	}
	if st, _ := c.do("POST", "/v1/regions/beijing1/services/myblog-mysql", serviceJSON); st != 409 {
		t.Fatalf("duplicate: %d", st)
	}
	now = now.Add(time.Second)
	st, v = c.do("GET", "/v1/regions/beijing1/services/myblog-mysql", "")
	got := v.(map[string]any)
	ctr := got["containers"].([]any)[0].(map[string]any)
	port := ctr["ports"].([]any)[0].(map[string]any)
	if st != 200 || got["region"] != "beijing1" || got["status"] != "Running" || port["container_port"] != 3306.0 ||
		ctr["imagePullPolicy"] != "IfNotPresent" || got["volumes"].([]any)[0].(map[string]any)["fsType"] != "ext4" {
		t.Fatalf("get: %d %v", st, v)
	}
	st, v = c.do("GET", "/v1/regions/beijing1/services", "")
	if list := v.(map[string]any); st != 200 || list["region"] != "beijing1" || len(list["services"].([]any)) != 1 {
		t.Fatalf("list: %d %v", st, v)
	}

	// The documented update example (its "resource" key) and memory as a number.
	if st, v := c.do("PUT", "/v1/regions/beijing1/services/myblog-mysql", `{"target_instance_size": 1, "containers": [{"resource": {"limits": {"memory": "1024Mi"}}}]}`); st != 200 {
		t.Fatalf("update: %d %v", st, v)
	}
	if st, _ := c.do("PUT", "/v1/regions/beijing1/services/myblog-mysql", `{"containers": [{"resources": {"limits": {"memory": 2048}}}], "binding_domain_name": []}`); st != 200 {
		t.Fatalf("update with a number: %d", st)
	}
	if st, v := c.do("PUT", "/v1/regions/beijing1/services/myblog-mysql", `{"containers": [{"image": "x"}]}`); st != 400 || !strings.Contains(v.(map[string]any)["message"].(string), "image") {
		t.Fatalf("update of the image: %d %v", st, v)
	}
	if st, _ := c.do("PUT", "/v1/regions/beijing1/services/myblog-mysql", `{"containers": [{"resources": {"limits": {"memory": "300Mi"}}}]}`); st != 400 {
		t.Fatalf("update to 300Mi: %d", st)
	}
	now = now.Add(3 * time.Second)
	for _, act := range []string{"stop", "start", "restart"} {
		if st, _ := c.do("PUT", "/v1/regions/beijing1/services/myblog-mysql/"+act, ""); st != 200 {
			t.Fatalf("%s: %d", act, st)
		}
	}
	// One line (at :03) before the stop; the restarted instance is ready at :05 and writes at :06 and :07.
	now = now.Add(3 * time.Second)
	st, v = c.do("GET", "/v1/regions/beijing1/services/myblog-mysql/logs?date=2015.12.29&from=0&size=100", "")
	lines := v.([]any)
	if st != 200 || len(lines) != 3 || lines[0].(map[string]any)["instance_name"] == "" || !strings.Contains(lines[0].(map[string]any)["log"].(string), "line 1") {
		t.Fatalf("logs: %d %v", st, v)
	}
	if st, v := c.do("GET", "/v1/regions/beijing1/services/myblog-mysql/logs?date=2015.12.29&from=2&size=100", ""); st != 200 || len(v.([]any)) != 1 {
		t.Fatalf("logs from 2: %d %v", st, v)
	}
	if st, v := c.do("GET", "/v1/regions/beijing1/services/myblog-mysql/instances", ""); st != 200 || len(v.(map[string]any)["instances"].([]any)) != 1 {
		t.Fatalf("instances: %d %v", st, v)
	}
	if st, _ := c.do("DELETE", "/v1/regions/beijing1/services/myblog-mysql", ""); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := c.do("GET", "/v1/regions/beijing1/services/myblog-mysql", ""); st != 404 {
		t.Fatalf("after delete: %d", st)
	}
}

func TestSeedDemo(t *testing.T) {
	s := New(Options{})
	s.SeedDemo()
	srv := httptest.NewServer(s)
	defer srv.Close()
	cfg := s.DemoConfig(srv.URL)
	c := &client{t: t, srv: srv, user: cfg["username"].(string), tk: cfg["token"].(string)}
	_, v := c.do("GET", "/v1/regions/beijing1/services", "")
	for _, sv := range v.(map[string]any)["services"].([]any) {
		if sv.(map[string]any)["status"] != "Running" {
			t.Fatalf("demo service not running: %v", sv)
		}
	}
	if _, v := c.do("GET", "/v1/regions/beijing1/services/myblog-web/logs", ""); len(v.([]any)) == 0 {
		t.Fatal("demo service has no logs today")
	}
}

// nullAt returns the path of the first JSON null in v, or "".
func nullAt(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, e := range x {
			if p := nullAt(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := nullAt(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestSeededServicesHaveArrays: the seeded demo services answer command and
// volumeMounts as arrays, as the document shows and as services created
// through the API do, never null.
func TestSeededServicesHaveArrays(t *testing.T) {
	s := New(Options{})
	s.SeedDemo()
	srv := httptest.NewServer(s)
	defer srv.Close()
	cfg := s.DemoConfig(srv.URL)
	c := &client{t: t, srv: srv, user: cfg["username"].(string), tk: cfg["token"].(string)}
	for _, path := range []string{"/v1/regions/beijing1/services", "/v1/regions/beijing1/services/myblog-web",
		"/v1/regions/beijing1/services/myblog-mysql", "/v1/regions/beijing1/services/myblog-web/instances"} {
		st, v := c.do("GET", path, "")
		if st != 200 {
			t.Fatalf("%s: %d", path, st)
		}
		if p := nullAt(v, "$"); p != "" {
			t.Errorf("%s answers null at %s", path, p)
		}
	}
	_, v := c.do("GET", "/v1/regions/beijing1/services/myblog-web", "")
	ctr := v.(map[string]any)["containers"].([]any)[0].(map[string]any)
	for _, k := range []string{"command", "volumeMounts", "env", "ports"} {
		if _, ok := ctr[k].([]any); !ok {
			t.Errorf("containers[0].%s = %#v, want an array", k, ctr[k])
		}
	}
}

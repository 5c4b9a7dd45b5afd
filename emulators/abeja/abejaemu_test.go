package abejaemu

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type client struct {
	t    *testing.T
	srv  *httptest.Server
	auth string
	host string
}

func (c *client) do(method, path, ct, body string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", c.auth)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s %s: every answer has a JSON body: %s", method, path, b)
	}
	return resp.StatusCode, m
}

const base = "/organizations/1111111111111/deployments/9999999999999/services"

// TestSDKCalls sends what abeja-sdk's APIClient sends for each documented call.
func TestSDKCalls(t *testing.T) {
	now := time.Date(2018, 6, 5, 13, 7, 49, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }, InProgress: time.Second, LogInterval: time.Second})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := &client{t: t, srv: srv, auth: "Bearer abeja-demo-token"}

	bad := &client{t: t, srv: srv, auth: "Bearer nope"}
	if st, m := bad.do("GET", base, "", ""); st != 401 || m["error"] != "unauthorized" || m["error_description"] == nil || m["error_detail"] == nil {
		t.Fatalf("bad token: %d %v", st, m)
	}
	basic := &client{t: t, srv: srv, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("user-1234567890123:abeja-demo-pat"))}
	if st, _ := basic.do("GET", base, "", ""); st != 200 {
		t.Fatalf("basic auth: %d", st)
	}
	if st, _ := c.do("GET", "/organizations/2/deployments/9999999999999/services", "", ""); st != 403 {
		t.Fatalf("other organization: %d", st)
	}

	// create_service(organization_id, deployment_id, version_id, model_id=..., environment=...)
	st, m := c.do("POST", base, "application/json", `{"version_id":"ver-abc3333333333333","model_id":"3333333333333","environment":{"EXAMPLE_ENV":"abc"}}`)
	id, _ := m["service_id"].(string)
	if st != 200 || !strings.HasPrefix(id, "ser-") || m["status"] != "IN_PROGRESS" || m["instance_type"] != "cpu-0.25" ||
		m["models"].(map[string]any)["alias"] != "3333333333333" || m["user_env_vars"].(map[string]any)["EXAMPLE_ENV"] != "abc" {
		t.Fatalf("create: %d %v", st, m)
	}
	if st, m := c.do("POST", base, "application/json", `{"instance_number":1}`); st != 400 || m["error_detail"].(map[string]any)["version_id"] == nil {
		t.Fatalf("no version: %d %v", st, m)
	}
	now = now.Add(time.Second)
	if _, m := c.do("GET", base+"/"+id, "", ""); m["status"] != "READY" || !strings.HasSuffix(m["created_at"].(string), "Z") {
		t.Fatalf("get: %v", m)
	}
	// update_service payload as documented, enable_autoscale as the string 'true'.
	st, m = c.do("PATCH", base+"/"+id, "application/json", `{"instance_number":4,"min_instance_number":2,"max_instance_number":6,"enable_autoscale":"true"}`)
	if st != 200 || m["status"] != "IN_PROGRESS" || m["enable_autoscale"] != true || m["merged_env_vars"] == nil || m["service_process_type"] == nil {
		t.Fatalf("update: %d %v", st, m)
	}
	if st, _ := c.do("PATCH", base+"/"+id, "application/json", `{"version_id":"ver-x"}`); st != 400 {
		t.Fatalf("update of the version: %d", st)
	}
	now = now.Add(time.Second)
	if st, m := c.do("POST", base+"/"+id+"/start", "", ""); st != 400 || m["error_description"] != "service is already running" {
		t.Fatalf("start a running service: %d %v", st, m)
	}
	// Three seconds of 4 READY instances; then the log pages.
	now = now.Add(3 * time.Second)
	st, m = c.do("GET", base+"/"+id+"/recentlogs?start_time="+now.Add(-time.Second).Format("2006-01-02T15:04:05"), "", "")
	events := m["events"].([]any)
	if st != 200 || len(events) != 8 || m["next_forward_token"] == "" || m["next_backward_token"] == "" {
		t.Fatalf("recent logs: %d %v", st, m)
	}
	if a, b := events[0].(map[string]any)["timestamp"].(string), events[7].(map[string]any)["timestamp"].(string); a < b {
		t.Fatalf("events must be newest first: %s before %s", a, b)
	}
	if st, m := c.do("POST", base+"/"+id+"/stop", "", ""); st != 200 || m["message"] != id+" stopped" {
		t.Fatalf("stop: %d %v", st, m)
	}
	if st, m := c.do("POST", base+"/"+id+"/stop", "", ""); st != 400 || m["error_description"] != "service is not running" {
		t.Fatalf("stop a stopped service: %d %v", st, m)
	}
	if st, m := c.do("POST", base+"/"+id+"/start", "", ""); st != 200 || m["message"] != id+" started" {
		t.Fatalf("start: %d %v", st, m)
	}
	now = now.Add(time.Second)

	// request_service on the organization's sub-domain (by Host) and by path.
	sub := &client{t: t, srv: srv, auth: c.auth, host: "1111111111111.api.abeja.io"}
	st, m = sub.do("POST", "/deployments/9999999999999/services/"+id, "application/json", `{"foo":"bar","baz":"qux"}`)
	if st != 200 || m["json"].(map[string]any)["foo"] != "bar" {
		t.Fatalf("invoke by host: %d %v", st, m)
	}
	st, m = c.do("POST", "/_subdomain/1111111111111/deployments/9999999999999/services/"+id, "image/png", "\x89PNG")
	if st != 200 || m["content_type"] != "image/png" || m["size"] != 4.0 {
		t.Fatalf("invoke by path: %d %v", st, m)
	}

	if st, m := c.do("DELETE", base+"/"+id, "", ""); st != 200 || m["message"] != id+" deleted" {
		t.Fatalf("delete: %d %v", st, m)
	}
	if st, m := c.do("GET", base+"/"+id, "", ""); st != 404 || m["error"] != "not_found" {
		t.Fatalf("after delete: %d %v", st, m)
	}
}

func TestSeedDemo(t *testing.T) {
	s := New(Options{})
	s.SeedDemo()
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := &client{t: t, srv: srv, auth: "Bearer " + s.DemoConfig(srv.URL)["token"].(string)}
	_, m := c.do("GET", base, "", "")
	if entries := m["entries"].([]any); len(entries) != 2 || entries[0].(map[string]any)["status"] != "READY" {
		t.Fatalf("demo: %v", m)
	}
}

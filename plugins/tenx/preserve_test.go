package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// native calls the emulated TenxCloud API directly, as its documented requests do.
func (e *env) native(method, path, body string) map[string]any {
	e.t.Helper()
	c, err := connect(e.req().Config)
	if err != nil {
		e.t.Fatal(err)
	}
	resp := e.doer.Do(&pluginapi.HTTPRequest{Method: method, Endpoint: "endpoint", Path: c.base + path, Body: []byte(body),
		Headers: map[string]string{"Content-Type": "application/json", "username": e.config["username"].(string)},
		Auth:    &pluginapi.Auth{Scheme: pluginapi.AuthHeader, Header: "Authorization", Prefix: "token ", Secret: "token"}})
	if resp.Error != nil || resp.Status >= 300 {
		e.t.Fatalf("%s %s: %v %d %s", method, path, resp.Error, resp.Status, resp.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(resp.Body, &out)
	return out
}

// TestUpdateKeepsWhatWharfDoesNotModel: a container name and a volume's
// file system (outside the spec) stay through a Wharf update, and an
// update that changes nothing sends no PUT.
func TestUpdateKeepsWhatWharfDoesNotModel(t *testing.T) {
	e := newEnv(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	e.native("POST", "/keep", `{"target_instance_size":1,"containers":[{"name":"keep-main","image":"nginx:1","resources":{"limits":{"memory":"256Mi"}},`+
		`"volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","disk_name":"data","fsType":"xfs"}]}`)
	e.clock.Add(2 * time.Second)
	check := func(what string) map[string]any {
		t.Helper()
		s := e.native("GET", "/keep", "")
		c := s["containers"].([]any)[0].(map[string]any)
		v := s["volumes"].([]any)[0].(map[string]any)
		if c["name"] != "keep-main" || v["fsType"] != "xfs" {
			t.Errorf("%s: container %v volume %v", what, c["name"], v)
		}
		return s
	}
	got := e.get("keep")
	var sp map[string]any
	_ = json.Unmarshal(got.Spec, &sp)
	sp["memory"] = 512
	b, _ := json.Marshal(sp)
	e.svc("update", pluginapi.UpdateRequest{Request: e.req(), ID: "keep", Spec: b})
	check("after a memory change")

	e.clock.Add(2 * time.Second)
	got = e.get("keep")
	e.doer.Reset()
	e.svc("update", pluginapi.UpdateRequest{Request: e.req(), ID: "keep", Spec: got.Spec})
	for _, r := range e.doer.Sent() {
		if r.Method == "PUT" {
			t.Errorf("a no-op update sent a PUT: %s", r.Body)
		}
	}
	check("after a no-op update")
}

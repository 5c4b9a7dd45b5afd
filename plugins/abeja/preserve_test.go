package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// native calls the emulated ABEJA API directly, as abeja-sdk would.
func (e *env) native(method, path, body string) map[string]any {
	e.t.Helper()
	c, err := connect(e.req().Config)
	if err != nil {
		e.t.Fatal(err)
	}
	resp := e.doer.Do(&pluginapi.HTTPRequest{Method: method, Endpoint: "endpoint", Path: c.base + path, Body: []byte(body),
		Headers: map[string]string{"Content-Type": "application/json"}, Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"}})
	if resp.Error != nil || resp.Status >= 300 {
		e.t.Fatalf("%s %s: %v %d %s", method, path, resp.Error, resp.Status, resp.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(resp.Body, &out)
	return out
}

// TestUpdateKeepsWhatWharfDoesNotModel: what abeja-sdk set stays through
// a Wharf update, and an update that changes nothing sends no PATCH (so
// modified_at stays and the service is not redeployed).
func TestUpdateKeepsWhatWharfDoesNotModel(t *testing.T) {
	e := newEnv(t, 0)
	id := e.native("POST", "", `{"version_id":"ver-abc1111111111111","model_id":"3333333333333","instance_number":1,`+
		`"environment":{"MODE":"test"},"record_channel_id":"1230000000001"}`)["service_id"].(string)
	e.clock.Add(2 * time.Second)

	got := e.get(id)
	var sp map[string]any
	_ = json.Unmarshal(got.Spec, &sp)
	sp["instance_number"] = 2
	b, _ := json.Marshal(sp)
	e.svc("update", pluginapi.UpdateRequest{Request: e.req(), ID: id, Spec: b, Version: got.Version})
	after := e.native("GET", "/"+id, "")
	if after["record_channel_id"] != "1230000000001" || after["instance_number"] != 2.0 || after["user_env_vars"].(map[string]any)["MODE"] != "test" {
		t.Fatalf("after the update: %v", after)
	}

	e.clock.Add(2 * time.Second)
	got = e.get(id)
	e.doer.Reset()
	up := e.svc("update", pluginapi.UpdateRequest{Request: e.req(), ID: id, Spec: got.Spec, Version: got.Version})
	for _, r := range e.doer.Sent() {
		if r.Method == "PATCH" {
			t.Errorf("a no-op update sent a PATCH: %s", r.Body)
		}
	}
	if up.Version != got.Version || up.Status != pluginapi.StatusRunning {
		t.Errorf("a no-op update: version %s -> %s, status %s", got.Version, up.Version, up.Status)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// native speaks Peak's API directly, as peak-sdk would, beside the plugin.
func (e *env) native(method, path, body string) map[string]any {
	e.t.Helper()
	req := httptest.NewRequest(method, "/webapps/api/v1/webapps"+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", e.config["api_key"].(string))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.emu.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

// TestUpdateKeepsWhatWharfDoesNotModel: tags set with peak-sdk survive a
// Wharf update; a no-op update sends no PATCH (so updatedAt stays); an
// upsert naming a few fields keeps the others (issue 11: sessionStickiness
// was turned off and the service redeployed).
func TestUpdateKeepsWhatWharfDoesNotModel(t *testing.T) {
	e := newEnv(t)
	id := e.native("POST", "/", `{"name":"keep","title":"Keep","serviceType":"api","imageDetails":{"imageId":101,"versionId":1},`+
		`"sessionStickiness":true,"parameters":{"env":{"MODE":"test"},"secrets":[]},"tags":[{"name":"team-a"}]}`)["id"].(string)
	e.clock.Add(5 * time.Second)
	tags := []any{map[string]any{"name": "team-a"}}

	got := e.mustGet(id)
	var sp map[string]any
	_ = json.Unmarshal(got.Spec, &sp)
	sp["env"] = map[string]any{"MODE": "test", "EXTRA": "1"}
	b, _ := json.Marshal(sp)
	if _, err := e.update(id, string(b), got.Version); err != nil {
		t.Fatal(err)
	}
	after := e.native("GET", "/"+id, "")
	if !reflect.DeepEqual(after["tags"], tags) || after["parameters"].(map[string]any)["env"].(map[string]any)["EXTRA"] != "1" {
		t.Fatalf("after an env update: tags %v parameters %v", after["tags"], after["parameters"])
	}

	e.clock.Add(5 * time.Second)
	got = e.mustGet(id)
	e.doer.Reset()
	if _, err := e.update(id, string(got.Spec), got.Version); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.doer.Sent() {
		if r.Method == "PATCH" {
			t.Errorf("a no-op update sent a PATCH: %s", r.Body)
		}
	}
	if now := e.native("GET", "/"+id, "")["updatedAt"]; now != got.Version {
		t.Errorf("a no-op update moved updatedAt %v -> %v", got.Version, now)
	}

	// peak-sdk's create_or_update_service with a partial body.
	up, err := call[pluginapi.ServiceResponse](e, "create", pluginapi.CreateRequest{Request: e.req(),
		Spec: json.RawMessage(`{"name":"keep","serviceType":"api","imageId":101,"title":"Renamed","upsert":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	after = e.native("GET", "/"+id, "")
	if after["sessionStickiness"] != true || after["title"] != "Renamed" || !reflect.DeepEqual(after["tags"], tags) ||
		after["parameters"].(map[string]any)["env"].(map[string]any)["EXTRA"] != "1" {
		t.Errorf("upsert replaced what it did not name: %v", after)
	}
	if up.Service.Status != pluginapi.StatusRunning {
		t.Errorf("a title upsert redeployed: %s", up.Service.Status)
	}
}

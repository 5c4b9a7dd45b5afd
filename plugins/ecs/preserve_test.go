package main

import (
	"encoding/json"
	"reflect"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

// native calls the emulated ECS API directly, as boto3 would, beside the plugin.
func (e *env) native(op string, in any) map[string]any {
	e.t.Helper()
	body, _ := json.Marshal(in)
	resp := e.doer.Do(&pluginapi.HTTPRequest{Method: "POST", Endpoint: "endpoint", Path: "/", Body: body,
		Headers: map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113." + op, "Content-Type": "application/x-amz-json-1.1"},
		Auth:    &pluginapi.Auth{Scheme: pluginapi.AuthAWSSigV4, Service: "ecs", Region: str(e.cfg["region"]), AccessKey: "access_key_id", Secret: "secret_access_key"}})
	if resp.Error != nil || resp.Status != 200 {
		e.t.Fatalf("%s: %v %d %s", op, resp.Error, resp.Status, resp.Body)
	}
	var out map[string]any
	_ = json.Unmarshal(resp.Body, &out)
	return out
}

func (e *env) describeNative(name string) map[string]any {
	e.t.Helper()
	out := e.native("DescribeServices", map[string]any{"services": []string{name}, "include": []string{"TAGS"}})
	return out["services"].([]any)[0].(map[string]any)
}

// TestUpdateKeepsWhatWharfDoesNotModel: a service made with boto3 with
// settings the spec has no field for keeps them through a Wharf update,
// and an update that changes nothing calls UpdateService not at all.
func TestUpdateKeepsWhatWharfDoesNotModel(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	alarms := map[string]any{"alarmNames": []any{"high-cpu"}, "enable": true, "rollback": true}
	e.native("CreateService", map[string]any{"serviceName": "keep", "taskDefinition": "web:1", "desiredCount": 3, "launchType": "FARGATE",
		"networkConfiguration":          map[string]any{"awsvpcConfiguration": map[string]any{"subnets": []string{"subnet-1"}}},
		"healthCheckGracePeriodSeconds": 42, "propagateTags": "SERVICE", "enableECSManagedTags": true,
		"deploymentConfiguration": map[string]any{"maximumPercent": 200, "minimumHealthyPercent": 50, "alarms": alarms}})
	check := func(what string) map[string]any {
		t.Helper()
		d := e.describeNative("keep")
		dc, _ := d["deploymentConfiguration"].(map[string]any)
		if d["healthCheckGracePeriodSeconds"] != 42.0 || d["propagateTags"] != "SERVICE" || d["enableECSManagedTags"] != true || !reflect.DeepEqual(dc["alarms"], alarms) {
			t.Errorf("%s: unmodeled settings lost: grace %v propagate %v managed %v alarms %v", what, d["healthCheckGracePeriodSeconds"], d["propagateTags"], d["enableECSManagedTags"], dc["alarms"])
		}
		return d
	}
	check("as created")
	e.clk.Advance(10 * step)

	got := e.get("keep")
	var sp map[string]any
	_ = json.Unmarshal(got.Spec, &sp)
	sp["deployment_configuration"].(map[string]any)["minimum_healthy_percent"] = 100
	e.must("update", map[string]any{"id": "keep", "spec": sp}, nil)
	if d := check("after the update"); d["deploymentConfiguration"].(map[string]any)["minimumHealthyPercent"] != 100.0 {
		t.Errorf("minimumHealthyPercent not updated: %v", d["deploymentConfiguration"])
	}

	// The same spec again, and a spec leaving desired_count out: no call, no change.
	e.clk.Advance(10 * step)
	got = e.get("keep")
	calls := e.doer.count("UpdateService")
	deployments := e.describeNative("keep")["deployments"]
	_ = json.Unmarshal(got.Spec, &sp)
	e.must("update", map[string]any{"id": "keep", "spec": sp}, nil)
	delete(sp, "desired_count")
	e.must("update", map[string]any{"id": "keep", "spec": sp}, nil)
	if n := e.doer.count("UpdateService"); n != calls {
		t.Errorf("a no-op update called UpdateService %d times", n-calls)
	}
	d := check("after no-op updates")
	if !reflect.DeepEqual(d["deployments"], deployments) || d["desiredCount"] != 3.0 {
		t.Errorf("a no-op update changed the deployments or the count: %v", d["desiredCount"])
	}
}

package main

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestScaleToCurrentCountIsNoOp: a scale to the instance number the service
// already has sends no PATCH (ABEJA redeploys on every PATCH) and answers
// the running service as it is; a real change still sends one PATCH.
func TestScaleToCurrentCountIsNoOp(t *testing.T) {
	e := newEnv(t, 0)
	sv := e.create(`{"version_id":"ver-abc3333333333333","models":{"alias":"3333333333333"},"instance_number":2}`)
	e.clock.Add(time.Second)
	e.doer.Reset()
	got, err := e.act(sv.ID, "scale", `{"replicas":2}`)
	if err != nil || *got.Desired != 2 || got.Status != pluginapi.StatusRunning {
		t.Fatalf("scale to the current count: %v %+v", err, got)
	}
	for _, r := range e.doer.Sent() {
		if r.Method != "GET" {
			t.Errorf("a scale to the current count sent %s %s %s", r.Method, r.Path, r.Body)
		}
	}
	if again := e.get(sv.ID); again.Status != pluginapi.StatusRunning {
		t.Fatalf("a no-op scale redeployed: %s", again.NativeStatus)
	}
	e.doer.Reset()
	if got, err := e.act(sv.ID, "scale", `{"replicas":3}`); err != nil || *got.Desired != 3 {
		t.Fatalf("scale to 3: %v %+v", err, got)
	}
	patches := 0
	for _, r := range e.doer.Sent() {
		if r.Method == "PATCH" {
			patches++
		}
	}
	if patches != 1 {
		t.Fatalf("a real scale sent %d PATCHes, want 1", patches)
	}
}

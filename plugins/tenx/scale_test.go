package main

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestScaleToCurrentCountIsNoOp: a scale to the count the service already
// has sends no update to TenxCloud and answers the service as it is; a
// real change still sends one PUT.
func TestScaleToCurrentCountIsNoOp(t *testing.T) {
	e := newEnv(t, t0)
	e.create(`{"name":"same","image":"nginx:1","instances":2}`)
	e.clock.Add(2 * time.Second)
	e.doer.Reset()
	sv, err := e.act("same", "scale", `{"replicas":2}`)
	if err != nil || *sv.Desired != 2 || sv.Status != pluginapi.StatusRunning {
		t.Fatalf("scale to the current count: %v %+v", err, sv)
	}
	for _, r := range e.doer.Sent() {
		if r.Method != "GET" {
			t.Errorf("a scale to the current count sent %s %s %s", r.Method, r.Path, r.Body)
		}
	}
	e.doer.Reset()
	if sv, err := e.act("same", "scale", `{"replicas":3}`); err != nil || *sv.Desired != 3 {
		t.Fatalf("scale to 3: %v %+v", err, sv)
	}
	puts := 0
	for _, r := range e.doer.Sent() {
		if r.Method == "PUT" {
			puts++
		}
	}
	if puts != 1 {
		t.Fatalf("a real scale sent %d PUTs, want 1", puts)
	}
}

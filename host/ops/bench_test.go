package ops_test

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// BenchmarkGetService is one get through the whole host (ops, runtime,
// egress to the fake platform, scrubbing), for comparing the cost of the
// secret checks against the rest.
func BenchmarkGetService(b *testing.B) {
	e := opstest.New(b, opstest.Options{})
	c := ops.Caller{Actor: "bench", Role: ops.RoleViewer}
	svc, err := e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec))
	if err != nil {
		b.Fatal(err)
	}
	id := svc.Service.ID
	for b.Loop() {
		if _, err := e.Host.GetService(ctx, c, opstest.Conn, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunAction is one audited restart through the whole host,
// including the get that checks the action applies now (ABI 1.5).
func BenchmarkRunAction(b *testing.B) {
	e := opstest.New(b, opstest.Options{})
	svc, err := e.Host.CreateService(ctx, e.Admin, opstest.Conn, json.RawMessage(webSpec))
	if err != nil {
		b.Fatal(err)
	}
	id := svc.Service.ID
	for b.Loop() {
		if _, err := e.Host.RunAction(ctx, e.Admin, opstest.Conn, id, "restart", nil); err != nil {
			b.Fatal(err)
		}
	}
}

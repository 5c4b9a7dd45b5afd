package ops_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// countRequests makes the fake platform count the requests it receives.
func countRequests(e *opstest.Env) *atomic.Int64 {
	var n atomic.Int64
	e.Platform.Hold = func(*http.Request) { n.Add(1) }
	return &n
}

func TestListAllServicesReusesARecentListing(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin
	for _, n := range []string{"web-a", "web-b"} {
		must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(`{"name":"`+n+`","image":"i"}`)))
	}
	first := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{}))
	if first.Total != 2 {
		t.Fatalf("total = %d", first.Total)
	}
	calls := countRequests(e)
	// Another page, filter or reload within the TTL asks the platform nothing.
	again := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{PageSize: 1}))
	if n := calls.Load(); n != 0 {
		t.Fatalf("a reload within %s made %d platform requests", ops.ListCacheTTL, n)
	}
	if again.Total != 2 || len(again.Services) != 1 || again.Services[0].Name != "web-a" {
		t.Fatalf("reload = %+v", again)
	}
	// A change through the host drops the connection's listing at once.
	must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(`{"name":"web-c","image":"i"}`)))
	calls.Store(0)
	after := must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{}))
	if after.Total != 3 || calls.Load() == 0 {
		t.Fatalf("after a create: total %d, %d platform requests", after.Total, calls.Load())
	}
	// Per-connection listings do not go through the cache.
	calls.Store(0)
	must[*ops.ServicePage](t)(h.ListServices(ctx, a, opstest.Conn, ops.ListOptions{}))
	if calls.Load() == 0 {
		t.Fatal("ListServices was answered without asking the platform")
	}
}

func TestListAllServicesSharesOneListingAmongConcurrentCallers(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin
	svc := must[*ops.ServiceResult](t)(h.CreateService(ctx, a, opstest.Conn, json.RawMessage(`{"name":"web","image":"i"}`))).Service
	calls := countRequests(e)
	must[*ops.AllServicesPage](t)(h.ListAllServices(ctx, a, ops.ListAllOptions{}))
	one := calls.Load()
	if one == 0 {
		t.Fatal("the first listing made no platform request")
	}
	// An action through the host drops the listing; the callers share the next one.
	must[*ops.ServiceResult](t)(h.RunAction(ctx, a, opstest.Conn, svc.ID, "stop", nil))
	calls.Store(0)
	var wg sync.WaitGroup
	totals := make([]int, 8)
	for i := range totals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := h.ListAllServices(ctx, a, ops.ListAllOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			totals[i] = p.Total
			if p.Services[0].Status != "stopped" {
				t.Errorf("status %s after stop", p.Services[0].Status)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != one {
		t.Fatalf("8 concurrent callers made %d platform requests; one listing makes %d", n, one)
	}
	for _, n := range totals {
		if n != 1 {
			t.Fatalf("totals = %v", totals)
		}
	}
}

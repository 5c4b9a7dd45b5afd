package ops_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
)

// TestHungEndpointDoesNotStarveOtherConnections is the attack of issue 10
// §4 through the whole host: a connection whose endpoint accepts requests
// and never answers is driven by sixteen concurrent callers, while a
// healthy connection of the same plugin keeps being listed. The plugin has
// one pool of four instances; the hung connection may only hold two, so
// the healthy calls keep their normal latency (bounded generously here).
func TestHungEndpointDoesNotStarveOtherConnections(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, a := e.Host, e.Admin

	release := make(chan struct{})
	var arrived atomic.Int32
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	must[ops.Connection](t)(h.CreateConnection(ctx, a, ops.ConnectionInput{Name: "hung", Plugin: "fake",
		Config: json.RawMessage(`{"endpoint":"` + hung.URL + `","token":"x"}`)}))
	must[*ops.ServicePage](t)(h.ListServices(ctx, a, opstest.Conn, ops.ListOptions{})) // warm up

	attack, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 16)
	for range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			_, _ = h.ListServices(attack, a, "hung", ops.ListOptions{})
		}()
	}
	t.Cleanup(func() {
		stop()
		close(release)
		for range 16 {
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for arrived.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the hung endpoint never got a request")
		}
		time.Sleep(10 * time.Millisecond)
	}

	const bound = 2 * time.Second
	var worst time.Duration
	for i := range 20 {
		start := time.Now()
		if _, err := h.ListServices(ctx, a, opstest.Conn, ops.ListOptions{}); err != nil {
			t.Fatalf("healthy list %d: %v", i, err)
		}
		took := time.Since(start)
		worst = max(worst, took)
		if took > bound {
			t.Fatalf("healthy list %d took %s while another connection hung, want < %s", i, took, bound)
		}
	}
	if n := arrived.Load(); n > 2 {
		t.Errorf("the hung endpoint got %d requests at once, want at most 2 (half of the plugin's pool)", n)
	}
	t.Logf("healthy lists: worst %s while 16 calls waited on a hung endpoint", worst)
}

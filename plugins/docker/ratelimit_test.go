package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
)

// A rate-limiting proxy in front of the engine (a socket proxy, a gateway)
// answers 429: that is worth retrying, not a bad request. Before the shared
// mapping (pluginapi.CodeForStatus) this plugin called it invalid.
func TestTooManyRequestsIsRetryable(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	var limit atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit.Load() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"message":"rate limit exceeded, slow down"}`, http.StatusTooManyRequests)
			return
		}
		h.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	h.doer = newHostDoer(t, proxy.URL)
	h.ctx = plugin.WithDoer(context.Background(), h.doer)

	svc := h.create(`{"name": "limited", "image": "nginx:1.27"}`)
	limit.Store(true)
	err := h.call(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: svc.ID}, nil)
	if err == nil || err.Code != pluginapi.CodeUnavailable || !err.Retryable || err.Detail["status"] != float64(429) {
		t.Fatalf("429 from the engine: %+v", err)
	}
	limit.Store(false)
	if got := h.get(svc.ID); got.ID != svc.ID {
		t.Fatalf("after the limit: %+v", got)
	}
}

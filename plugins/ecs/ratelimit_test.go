package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
)

// A gateway in front of ECS that rate-limits answers 429 without an AWS
// error type: that is worth retrying, not a bad request. Before the shared
// mapping (pluginapi.CodeForStatus) this plugin called it invalid.
func TestTooManyRequestsIsRetryable(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	var limit atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"Too Many Requests"}`))
			return
		}
		e.emu.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	e.cfg["endpoint"] = proxy.URL

	e.must("list", map[string]any{}, nil)
	limit.Store(true)
	err := e.call("list", map[string]any{}, nil)
	wantCode(t, err, pluginapi.CodeUnavailable)
	if !err.Retryable || err.Detail["http_status"] != float64(429) {
		t.Fatalf("429 from ECS: %+v", err)
	}
	limit.Store(false)
	e.must("list", map[string]any{}, nil)
}

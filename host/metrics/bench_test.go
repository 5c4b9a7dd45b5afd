package metrics_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/metrics"
)

// BenchmarkMiddleware is the cost the metrics add to one request, beside
// the same echo without them.
func BenchmarkMiddleware(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "without"
		if withMetrics {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			e := echo.New()
			if withMetrics {
				e.Pre(metrics.New().Middleware())
			}
			e.GET("/api/v1/connections/:conn/services/:id", func(c echo.Context) error { return c.NoContent(204) })
			req := httptest.NewRequest("GET", "/api/v1/connections/c/services/s", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

// BenchmarkPluginCall is the cost of observing one plugin call.
func BenchmarkPluginCall(b *testing.B) {
	r := metrics.New()
	b.ReportAllocs()
	for b.Loop() {
		r.PluginCall("docker", "get", nil, time.Millisecond)
	}
}

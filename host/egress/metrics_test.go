package egress

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// observed is one EgressRequest call.
type observed struct {
	host   string
	status int
	code   pluginapi.Code
}

type fakeMetrics struct {
	mu  sync.Mutex
	got []observed
}

func (m *fakeMetrics) EgressRequest(host string, status int, code pluginapi.Code, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, observed{host, status, code})
}

// TestMetricsObserveEveryRequest: answered requests report their first
// hop and status, failures their code, and refusals no host at all (a
// plugin must not be able to make up label values); unix sockets are
// named by their path.
func TestMetricsObserveEveryRequest(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	other := newRecorder(t, nil)
	_, sock := newUnixRecorder(t, nil)
	m := &fakeMetrics{}
	c, _ := newClient(t, Options{Metrics: m})
	h := c.For(Target{Connection: "c1", Config: map[string]any{"host": rec.URL, "docker": "unix://" + sock},
		EndpointFields: []string{"host", "docker"}})
	ctx := context.Background()
	h.Do(ctx, &pluginapi.HTTPRequest{Endpoint: "host", Path: "/x"})
	h.Do(ctx, &pluginapi.HTTPRequest{Endpoint: "docker", Path: "/_ping"})
	wantError(t, h.Do(ctx, &pluginapi.HTTPRequest{URL: other.URL + "/secret"}), pluginapi.CodeForbidden)
	wantError(t, h.Do(ctx, &pluginapi.HTTPRequest{Endpoint: "host", Path: "/redirect?to=" + other.URL + "/y"}), pluginapi.CodeForbidden)
	want := []observed{
		{rec.hostport(), http.StatusTeapot, ""},
		{"unix:" + sock, http.StatusOK, ""},
		{"", 0, pluginapi.CodeForbidden},
		{rec.hostport(), 0, pluginapi.CodeForbidden},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) != len(want) {
		t.Fatalf("observed %+v, want %+v", m.got, want)
	}
	for i := range want {
		if m.got[i] != want[i] {
			t.Errorf("request %d observed %+v, want %+v", i, m.got[i], want[i])
		}
	}
	if n := len(other.all()); n != 0 {
		t.Fatalf("the refused host received %d requests", n)
	}
}

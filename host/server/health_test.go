package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
)

// health reads a health answer.
func (h *host) health(path string, headers ...string) (int, server.Health) {
	h.t.Helper()
	a := h.do("GET", path, "", headers...)
	var out server.Health
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		h.t.Fatalf("%s: %d %q: %v", path, a.status, a.body, err)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("%s: content type %q", path, ct)
	}
	return a.status, out
}

// TestReadyzWhileShuttingDown: readyz says 503 naming the shutdown once
// the host drains, while livez and the API still answer (requests on
// their way are served until the listener closes).
func TestReadyzWhileShuttingDown(t *testing.T) {
	token := strings.Repeat("t", 40)
	h := newHost(t, server.Config{Tokens: []ops.Token{{Name: "a", SHA256: ops.HashToken(token), Role: ops.RoleOwner}}})
	// Probes need no credentials on a closed host, and come with any
	// Host name (a load balancer uses the address).
	for _, headers := range [][]string{nil, {"Host", "10.1.2.3:8080"}} {
		status, got := h.health(server.ReadyzPath, headers...)
		if status != http.StatusOK || got.Status != "ok" || len(got.Failed) != 0 {
			t.Fatalf("readyz %v: %d %+v", headers, status, got)
		}
		for _, c := range []string{server.CheckShutdown, server.CheckStore, server.CheckPlugins} {
			if got.Checks[c] != "ok" {
				t.Errorf("check %s: %q", c, got.Checks[c])
			}
		}
		if status, got := h.health(server.LivezPath, headers...); status != http.StatusOK || got.Status != "ok" {
			t.Fatalf("livez %v: %d %+v", headers, status, got)
		}
	}
	if got := h.do("HEAD", server.ReadyzPath, ""); got.status != http.StatusOK || got.body != "" {
		t.Fatalf("HEAD readyz: %d %q", got.status, got.body)
	}

	h.srv.Drain()
	status, got := h.health(server.ReadyzPath)
	if status != http.StatusServiceUnavailable || got.Status != "unavailable" || !slices.Equal(got.Failed, []string{server.CheckShutdown}) {
		t.Fatalf("readyz while draining: %d %+v", status, got)
	}
	if got.Checks[server.CheckStore] != "ok" {
		t.Errorf("store check while draining: %q", got.Checks[server.CheckStore])
	}
	if status, _ := h.health(server.LivezPath); status != http.StatusOK {
		t.Fatalf("livez while draining: %d", status)
	}
	if got := h.do("GET", "/api/v1/connections", "", "Authorization", "Bearer "+token); got.status != http.StatusOK {
		t.Fatalf("the API stopped answering while draining: %d %s", got.status, got.body)
	}
	// Only GET and HEAD are probes; anything else goes to the routes.
	if got := h.do("POST", server.ReadyzPath, "", "Authorization", "Bearer "+token); got.status == http.StatusServiceUnavailable || got.status == http.StatusOK {
		t.Fatalf("POST readyz: %d", got.status)
	}
}

// TestReadyzWhenTheDatabaseIsClosed: the store check fails, and says so
// without the database's own words (probes are unauthenticated).
func TestReadyzWhenTheDatabaseIsClosed(t *testing.T) {
	h := newHost(t, server.Config{})
	if err := h.srv.DB.Close(); err != nil {
		t.Fatal(err)
	}
	status, got := h.health(server.ReadyzPath)
	if status != http.StatusServiceUnavailable || !slices.Equal(got.Failed, []string{server.CheckStore}) {
		t.Fatalf("readyz with the database closed: %d %+v", status, got)
	}
	if msg := got.Checks[server.CheckStore]; msg != "the database does not answer" {
		t.Errorf("store check says %q", msg)
	}
	if status, _ := h.health(server.LivezPath); status != http.StatusOK {
		t.Fatalf("livez: %d", status)
	}
}

// TestReadyzWhenAPluginFailedToLoad: a host that skipped a broken plugin
// serves the others but is not ready.
func TestReadyzWhenAPluginFailedToLoad(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.wasm")
	if err := os.WriteFile(broken, []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		PluginFiles: []string{opstest.PluginPath(t), broken}, Runtime: runtime.Config{CacheDir: opstest.CacheDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if len(s.LoadErrors) != 1 || len(s.Plugins) != 1 {
		t.Fatalf("load errors %v, plugins %d", s.LoadErrors, len(s.Plugins))
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", server.ReadyzPath, nil))
	var got server.Health
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || !slices.Equal(got.Failed, []string{server.CheckPlugins}) ||
		!strings.Contains(got.Checks[server.CheckPlugins], "1 plugin file(s) failed to load") {
		t.Fatalf("readyz: %d %+v", rec.Code, got)
	}
	if strings.Contains(rec.Body.String(), dir) {
		t.Errorf("readyz shows a path to unauthenticated callers: %s", rec.Body)
	}
}

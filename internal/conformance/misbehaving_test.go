package conformance

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestMisbehavingPlugins drives plugins that panic, loop forever, allocate
// without end or reach for a forbidden host through the REST API: each call
// ends in a clean structured error and the host keeps answering. A plugin of
// another ABI major version is refused at load and the rest still load.
func TestMisbehavingPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds test plugins")
	}
	srv, c := StartHost(t, HostOptions{
		Plugins: []string{
			"./internal/testplugins/panics", "./internal/testplugins/loops",
			"./internal/testplugins/allocates", "./internal/testplugins/forbidden",
			"./internal/testplugins/badabi", "./plugins/tenx",
		},
		Faces: []Face{apiFace},
		// Long enough for the allocating plugin to reach its memory cap on
		// a loaded 2-core machine; the looping one waits it out twice.
		CallTimeout:      4 * time.Second,
		MemoryLimitBytes: 64 << 20,
		AllowLoadErrors:  true,
	})
	if len(srv.LoadErrors) != 1 || !strings.Contains(srv.LoadErrors[0].Error(), "ABI") {
		t.Fatalf("want exactly the badabi plugin refused for its ABI, got %v", srv.LoadErrors)
	}
	var list struct{ Plugins []struct{ Name string } }
	c.Do(t, "GET", "/plugins", nil).OK(t, "plugins", &list)
	if len(list.Plugins) != 5 {
		t.Fatalf("want 5 plugins loaded, got %+v", list.Plugins)
	}

	for _, tc := range []struct {
		plugin string
		status int
		code   pluginapi.Code
		says   string
	}{
		{"panics", http.StatusInternalServerError, pluginapi.CodeInternal, "deliberate panic in get"},
		{"loops", http.StatusGatewayTimeout, pluginapi.CodeTimeout, "loops"},
		{"allocates", http.StatusInternalServerError, pluginapi.CodeInternal, "memory"},
		{"forbidden", http.StatusForbidden, pluginapi.CodeForbidden, "forbidden.example"},
	} {
		t.Run(tc.plugin, func(t *testing.T) {
			c.Do(t, "POST", "/connections", map[string]any{"name": "bad-" + tc.plugin, "plugin": tc.plugin, "config": map[string]any{}}).OK(t, "create connection", nil)
			for round := 0; round < 2; round++ { // the second call gets a fresh instance
				r := c.Do(t, "GET", "/connections/bad-"+tc.plugin+"/services/x", nil)
				if r.Status != tc.status || r.Err.Code != tc.code {
					t.Fatalf("round %d: want %d %s, got %d %v", round, tc.status, tc.code, r.Status, r.Err)
				}
				if !strings.Contains(strings.ToLower(r.Err.Message), tc.says) {
					t.Fatalf("round %d: message %q does not mention %q", round, r.Err.Message, tc.says)
				}
				c.Do(t, "GET", "/healthz", nil).OK(t, "healthz after "+tc.plugin, nil)
			}
		})
	}
}

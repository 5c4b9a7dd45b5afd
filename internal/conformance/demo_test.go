package conformance

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/internal/demo"
)

// TestDemo checks what `./run.sh` shows a new user: a connection to every
// emulated platform, each with a few services.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every plugin")
	}
	conns, stop, err := demo.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_, c := StartHost(t, HostOptions{Plugins: allPlugins, Faces: []Face{apiFace}})
	plugins := map[string]bool{}
	for _, conn := range conns {
		plugins[conn.Plugin] = true
		c.Do(t, "POST", "/connections", map[string]any{"name": conn.Name, "plugin": conn.Plugin, "config": conn.Config}).OK(t, "connection "+conn.Name, nil)
		if conn.Name == "local-swarm" {
			continue // the real engine may have no services
		}
		var page ops.ServicePage
		c.Do(t, "GET", "/connections/"+conn.Name+"/services", nil).OK(t, "list "+conn.Name, &page)
		if len(page.Services) < 2 {
			t.Errorf("demo connection %s has %d services", conn.Name, len(page.Services))
		}
	}
	for _, p := range []string{"docker", "ecs", "peak", "abeja", "tenx"} {
		if !plugins[p] {
			t.Errorf("no demo connection for %s", p)
		}
	}
}

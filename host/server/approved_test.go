package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
)

// A connection from the config file carries its approvals, and a restart
// with the approval gone from the file takes it away: the file wins.
func TestConfigConnectionsCarryApprovedHosts(t *testing.T) {
	const good = "github.com/wharfhq/wharf/internal/testplugins/good"
	data := t.TempDir()
	conn := func(hosts []string) []connstore.Connection {
		return []connstore.Connection{{Name: "g", Plugin: "good", Config: json.RawMessage(`{}`), ApprovedHosts: hosts}}
	}
	approved := func(cfg server.Config) []string {
		t.Helper()
		h := newHost(t, cfg, good)
		c, err := h.srv.Host.GetConnection(context.Background(), ops.Caller{Actor: "t", Role: ops.RoleAdmin}, "g")
		if err != nil {
			t.Fatal(err)
		}
		_ = h.srv.Close(context.Background())
		return c.ApprovedHosts
	}
	if got := approved(server.Config{DataDir: data, Connections: conn([]string{"example.com"})}); !slices.Equal(got, []string{"example.com"}) {
		t.Fatalf("approved hosts from the config: %v", got)
	}
	if got := approved(server.Config{DataDir: data, Connections: conn([]string{})}); len(got) != 0 {
		t.Fatalf("approval removed from the config is still stored: %v", got)
	}
	cfg := server.Config{DataDir: data, Connections: conn([]string{"evil.example"}),
		PluginFiles: []string{wasmbuild.Build(t, good)}, Logger: slog.New(slog.DiscardHandler)}
	cfg.Runtime.CacheDir = opstest.CacheDir()
	_, err := server.New(context.Background(), cfg)
	if pluginapi.CodeOf(err) != pluginapi.CodeInvalid || !strings.Contains(err.Error(), "evil.example") {
		t.Fatalf("a host the plugin does not declare, approved from the config: %v", err)
	}
}

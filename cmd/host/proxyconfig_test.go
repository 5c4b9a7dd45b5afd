package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/server"
)

// proxy_auth in the config file reaches the server config, and a bad one
// is refused naming its field.
func TestConfigFileProxyAuth(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "wharf.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fc, err := readFileConfig(write(`{"proxy_auth": {"name": "gw", "trusted": ["10.0.0.5", "10.1.0.0/16"], "user_header": "X-Forwarded-User", "groups_header": "X-Forwarded-Groups"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var cfg server.Config
	if err := fc.identityConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	if p := cfg.ProxyAuth; p == nil || p.Name != "gw" || len(p.Trusted) != 2 || p.GroupsHeader != "X-Forwarded-Groups" {
		t.Fatalf("server config proxy_auth = %+v", cfg.ProxyAuth)
	}

	fc, err = readFileConfig(write(`{"proxy_auth": {"name": "gw", "trusted": ["the-gateway"], "user_header": "X-Forwarded-User"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.identityConfig(&server.Config{}); err == nil || !strings.Contains(err.Error(), "proxy_auth.trusted[0]") {
		t.Fatalf("a bad trusted range: %v, want an error naming proxy_auth.trusted[0]", err)
	}
}

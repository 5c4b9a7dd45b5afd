package ops

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/schema"
)

func TestReadEndpointSchemes(t *testing.T) {
	compile := func(t *testing.T, host string) *schema.Schema {
		t.Helper()
		s, err := schema.Compile([]byte(`{"type": "object", "properties": {"host": ` + host + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	got, err := readEndpointSchemes(compile(t, `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"tcp": {"scheme": "http", "port": 2375}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if to := got["host"]["tcp"]; to.Scheme != "http" || to.Port != 2375 {
		t.Fatalf("read %+v", got)
	}
	for _, tc := range []struct{ name, host, want string }{
		{"not an endpoint", `{"type": "string", "x-endpoint-schemes": {"tcp": {"scheme": "http", "port": 1}}}`, `needs "x-endpoint": true`},
		{"alias of a host scheme", `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"https": {"scheme": "http", "port": 80}}}`, `"https" cannot be an alias`},
		{"not a scheme", `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"Tc p": {"scheme": "http", "port": 80}}}`, `cannot be an alias`},
		{"stands for unix", `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"tcp": {"scheme": "unix", "port": 80}}}`, `must stand for http or https`},
		{"no port", `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"tcp": {"scheme": "http"}}}`, `port from 1 to 65535`},
		{"unknown member", `{"type": "string", "x-endpoint": true, "x-endpoint-schemes": {"tcp": {"scheme": "http", "port": 1, "host": "evil"}}}`, `must map a scheme`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readEndpointSchemes(compile(t, tc.host)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAliasSchemesAreRewrittenForEgress(t *testing.T) {
	p := &loadedPlugin{endpoints: []string{"host"},
		endpointSchemes: map[string]map[string]endpointScheme{"host": {"tcp": {Scheme: "http", Port: 2375}}}}
	for in, want := range map[string]string{
		"tcp://engine":                "http://engine:2375",
		"TCP://engine:1234":           "http://engine:1234",
		"tcp://[::1]":                 "http://[::1]:2375",
		"http://engine":               "http://engine",
		"unix:///var/run/docker.sock": "unix:///var/run/docker.sock",
	} {
		if got := p.effectiveConfig(map[string]any{"host": in})["host"]; got != want {
			t.Errorf("%s: egress gets %v, want %s", in, got, want)
		}
	}
	// The same destination spelt two ways has not moved (its secrets stay);
	// another port has.
	if p.endpointsMoved(map[string]any{"host": "tcp://engine"}, map[string]any{"host": "http://engine:2375"}) {
		t.Error("tcp://engine and http://engine:2375 count as different destinations")
	}
	if !p.endpointsMoved(map[string]any{"host": "tcp://engine"}, map[string]any{"host": "http://engine"}) {
		t.Error("tcp://engine and http://engine (port 80) count as the same destination")
	}
}

func TestOlderPluginsKeepTheirTCPScheme(t *testing.T) {
	for abi, want := range map[string]string{"1.2": "http://engine:2375", "1.0": "http://engine:2375", "1.3": "tcp://engine"} {
		p := &loadedPlugin{endpoints: []string{"host"}, endpointSchemes: map[string]map[string]endpointScheme{}}
		legacyEndpointSchemes(p, abi)
		if got := p.effectiveConfig(map[string]any{"host": "tcp://engine"})["host"]; got != want {
			t.Errorf("ABI %s plugin: egress gets %v, want %s", abi, got, want)
		}
	}
	// A declaration of its own wins.
	p := &loadedPlugin{endpoints: []string{"host"}, endpointSchemes: map[string]map[string]endpointScheme{"host": {"tcp": {Scheme: "https", Port: 2376}}}}
	legacyEndpointSchemes(p, "1.2")
	if got := p.effectiveConfig(map[string]any{"host": "tcp://engine"})["host"]; got != "https://engine:2376" {
		t.Errorf("declared scheme: egress gets %v", got)
	}
}

package web

import (
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// An endpoint reads as what it is: the arrow always has a port on each
// side, and only addresses a browser can open are links.
func TestEndpointText(t *testing.T) {
	for _, c := range []struct {
		e    pluginapi.Endpoint
		want string
	}{
		{pluginapi.Endpoint{Protocol: "tcp", Port: 80}, "port 80/tcp"}, // ECS: a container port behind a load balancer
		{pluginapi.Endpoint{Protocol: "tcp", Port: 80, Public: 8080}, "published 8080 → 80/tcp"},
		{pluginapi.Endpoint{Public: 8080}, "published 8080"},
		{pluginapi.Endpoint{Protocol: "udp"}, "udp"},
		{pluginapi.Endpoint{}, ""},
	} {
		if got := endpointText(c.e); got != c.want {
			t.Errorf("endpointText(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
	for u, want := range map[string]bool{
		"http://web.example:8080": true, "https://api.example/": true,
		"tcp://10.0.0.5:5432": false, "grpc://svc:9000": false, "http://": false, "javascript:alert(1)": false, "": false,
	} {
		if got := browsable(u); got != want {
			t.Errorf("browsable(%q) = %v, want %v", u, got, want)
		}
	}
}

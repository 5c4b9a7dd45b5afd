// Package demo starts the emulated platforms behind `wharf serve --demo`:
// every emulator on its own loopback port, seeded with a few services, and a
// connection to each. When a real Docker engine in swarm mode answers on the
// local socket, a connection to it is added as well.
package demo

import (
	"context"
	"encoding/json"

	"fmt"
	"net"
	"net/http"
	"time"

	abejaemu "github.com/wharfhq/wharf/emulators/abeja"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	tenxemu "github.com/wharfhq/wharf/emulators/tenx"
	"github.com/wharfhq/wharf/host/connstore"
)

// emulator is what every platform emulator offers.
type emulator interface {
	http.Handler
	DemoConfig(baseURL string) map[string]any
	SeedDemo()
}

// platform is one emulated platform of the demo.
type platform struct {
	connection string // connection name
	plugin     string
	new        func() emulator
}

var platforms = []platform{
	{"demo-swarm", "docker", func() emulator { return dockeremu.New(dockeremu.Options{}) }},
	{"demo-ecs", "ecs", func() emulator { return ecsemu.New(ecsemu.Options{}) }},
	{"demo-abeja", "abeja", func() emulator { return abejaemu.New(abejaemu.Options{}) }},
	{"demo-peak", "peak", func() emulator { return peakemu.New(peakemu.Options{}) }},
	{"demo-tenx", "tenx", func() emulator { return tenxemu.New(tenxemu.Options{}) }},
}

// DockerSocket is where a local Docker engine is looked for.
const DockerSocket = "/var/run/docker.sock"

// Start runs the emulators until stop is called (or ctx ends) and returns a
// connection for each.
func Start(ctx context.Context) (conns []connstore.Connection, stop func(), err error) {
	var servers []*http.Server
	stop = func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}
	for _, p := range platforms {
		emu := p.new()
		emu.SeedDemo()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("demo %s: %w", p.plugin, err)
		}
		srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
		cfg, err := json.Marshal(emu.DemoConfig("http://" + ln.Addr().String()))
		if err != nil {
			stop()
			return nil, nil, err
		}
		conns = append(conns, connstore.Connection{Name: p.connection, Plugin: p.plugin, Config: cfg})
	}
	if LocalSwarm(ctx) {
		conns = append(conns, connstore.Connection{Name: "local-swarm", Plugin: "docker",
			Config: json.RawMessage(`{"host":"unix://` + DockerSocket + `"}`)})
	}
	go func() { <-ctx.Done(); stop() }()
	return conns, stop, nil
}

// LocalSwarm reports whether a Docker engine answers on DockerSocket and is a
// swarm manager. It asks /info: engines before API 1.42 send no Swarm header
// on /_ping.
func LocalSwarm(ctx context.Context) bool {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", DockerSocket)
		}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost/info", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var info struct {
		Swarm struct {
			LocalNodeState   string
			ControlAvailable bool
		}
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return false
	}
	return info.Swarm.LocalNodeState == "active" && info.Swarm.ControlAvailable
}

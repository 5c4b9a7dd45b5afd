package conformance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	abejaemu "github.com/wharfhq/wharf/emulators/abeja"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	peakemu "github.com/wharfhq/wharf/emulators/peak"
	tenxemu "github.com/wharfhq/wharf/emulators/tenx"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/internal/demo"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

var apiFace = api.Face(api.Options{})

var allPlugins = []string{"./plugins/docker", "./plugins/ecs", "./plugins/peak", "./plugins/abeja", "./plugins/tenx"}

type emulator interface {
	http.Handler
	DemoConfig(baseURL string) map[string]any
}

// TestConformance runs the shared scenario against every provider plugin and
// its emulator, with the emulators' clocks at test speed.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every plugin")
	}
	_, client := StartHost(t, HostOptions{Plugins: allPlugins, Faces: []Face{apiFace}})
	root := wasmbuild.ModuleRoot(t)
	for _, tc := range []struct {
		plugin string
		emu    emulator
		native func(cfg map[string]any) *Native
	}{
		{"docker", dockeremu.New(dockeremu.Options{StartDelay: 150 * time.Millisecond, LogEvery: 100 * time.Millisecond}),
			func(cfg map[string]any) *Native {
				return dockerNative(strings.Replace(str(cfg, "host"), "tcp://", "http://", 1))
			}},
		{"ecs", ecsemu.New(ecsemu.Options{TaskStart: 100 * time.Millisecond, DrainTime: 200 * time.Millisecond, LogInterval: 100 * time.Millisecond}), ecsNative},
		{"peak", peakemu.New(peakemu.Options{Creating: 100 * time.Millisecond, Deploying: 150 * time.Millisecond, Deleting: 100 * time.Millisecond}), peakNative},
		{"abeja", abejaemu.New(abejaemu.Options{InProgress: 150 * time.Millisecond, LogInterval: 100 * time.Millisecond}), abejaNative},
		{"tenx", tenxemu.New(tenxemu.Options{Pending: 150 * time.Millisecond, LogInterval: 100 * time.Millisecond}), tenxNative},
	} {
		t.Run(tc.plugin, func(t *testing.T) {
			srv := httptest.NewServer(tc.emu)
			defer srv.Close()
			cfg := tc.emu.DemoConfig(srv.URL)
			Run(t, client, Platform{
				Plugin:  tc.plugin,
				Config:  cfg,
				Fixture: LoadFixture(t, root+"/plugins/"+tc.plugin),
				Settle:  15 * time.Second,
				Native:  tc.native(cfg),
			})
		})
	}
}

// TestConformanceRealDocker runs the scenario against the real Docker engine
// in swarm mode on this machine (test.sh starts one). Without an engine it
// skips, unless WHARF_REQUIRE_DOCKER=1.
func TestConformanceRealDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker engine")
	}
	if !demo.LocalSwarm(context.Background()) {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
			t.Fatal("no Docker engine in swarm mode answers on " + demo.DockerSocket)
		}
		t.Skip("no Docker engine in swarm mode on " + demo.DockerSocket + " (test.sh starts one)")
	}
	image := os.Getenv("WHARF_TEST_IMAGE")
	if image == "" {
		image = "wharf-ticker:test"
	}
	_, client := StartHost(t, HostOptions{Plugins: []string{"./plugins/docker"}, Faces: []Face{apiFace}, EgressTimeout: 20 * time.Second})
	f := LoadFixture(t, wasmbuild.ModuleRoot(t)+"/plugins/docker")
	for _, spec := range []map[string]any{f.CreateSpec, f.UpdateSpec, f.InvalidSpec} {
		spec["image"] = image
	}
	f.Preserve.Native = withNativeImage(t, f.Preserve.Native, image)
	Run(t, client, Platform{
		Plugin:       "docker",
		Config:       map[string]any{"host": "unix://" + demo.DockerSocket},
		Fixture:      f,
		Settle:       60 * time.Second,
		PageServices: 3,
		Native:       dockerNative(""),
	})
}

// withNativeImage sets the image of a native docker create body.
func withNativeImage(t *testing.T, body []byte, image string) []byte {
	var spec map[string]any
	if err := json.Unmarshal(body, &spec); err != nil {
		t.Fatal(err)
	}
	cs := spec["TaskTemplate"].(map[string]any)["ContainerSpec"].(map[string]any)
	cs["Image"] = image
	b, _ := json.Marshal(spec)
	return b
}

package dockeremu

import (
	"context"
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TestKeepsEverySpecField: the emulator stores every spec field the
// engine's API types carry, not only those the Wharf plugin maps, so that
// a test of "an update keeps what Wharf does not model" can fail.
func TestKeepsEverySpecField(t *testing.T) {
	_, cli, _ := newEngine(t, Options{})
	ctx := context.Background()
	grace, interval := 3*time.Second, 5*time.Second
	yes := true
	sec, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "s"}, Data: []byte("pw")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "c"}, Data: []byte("conf")}})
	if err != nil {
		t.Fatal(err)
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "rich", Labels: map[string]string{"x": "y"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: "nginx:1.27", Hostname: "h1", ReadOnly: true, StopGracePeriod: &grace, StopSignal: "SIGQUIT", Init: &yes,
				Mounts:        []mount.Mount{{Type: mount.TypeTmpfs, Target: "/cache", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20}}},
				Healthcheck:   &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: interval},
				CapabilityAdd: []string{"CAP_NET_ADMIN"}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
				Hosts: []string{"10.0.0.1 db"}, DNSConfig: &swarm.DNSConfig{Nameservers: []netip.Addr{netip.MustParseAddr("1.1.1.1")}},
				Secrets: []*swarm.SecretReference{{SecretName: "s", SecretID: sec.ID, File: &swarm.SecretReferenceFileTarget{Name: "s", Mode: 0o400}}},
				Configs: []*swarm.ConfigReference{{ConfigName: "c", ConfigID: cfg.ID, File: &swarm.ConfigReferenceFileTarget{Name: "/c", UID: "1", GID: "2", Mode: 0o444}}},
				Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}, Groups: []string{"100"},
				CapabilityDrop: []string{"CAP_MKNOD"},
			},
			Placement: &swarm.Placement{Constraints: []string{"node.role==manager"}, MaxReplicas: 4,
				Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.zone"}}},
				Platforms:   []swarm.Platform{{Architecture: "amd64", OS: "linux"}}},
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: 1 << 28, Pids: 100},
				Reservations: &swarm.Resources{GenericResources: []swarm.GenericResource{{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: "gpu", Value: 1}}}}},
			Networks: []swarm.NetworkAttachmentConfig{{Target: "front", Aliases: []string{"web"}, DriverOpts: map[string]string{"k": "v"}}},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u64(2)}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: []swarm.PortConfig{{Name: "http", Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeIngress}}},
	}
	created, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	got, err := inspect(ctx, cli, created.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	// What the engine fills in itself.
	want := spec
	want.TaskTemplate.ContainerSpec.Isolation = "default"
	want.TaskTemplate.Runtime = swarm.RuntimeContainer
	if !reflect.DeepEqual(got.Spec, want) {
		t.Fatalf("stored spec differs:\n got %s\nwant %s", jsonText(got.Spec), jsonText(want))
	}

	// An update stores the new spec whole, too.
	want.TaskTemplate.ContainerSpec.Hostname = "h2"
	if _, err := cli.ServiceUpdate(ctx, created.ID, client.ServiceUpdateOptions{Version: got.Version, Spec: want}); err != nil {
		t.Fatal(err)
	}
	got, _ = inspect(ctx, cli, created.ID, false)
	if !reflect.DeepEqual(got.Spec, want) {
		t.Fatalf("updated spec differs:\n got %s\nwant %s", jsonText(got.Spec), jsonText(want))
	}
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

package dockeremu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// TestSecretsAndConfigs: the official client creates, lists (by name
// prefix and exact names), inspects and removes secrets and configs; a
// service may reference only ones that exist, and one in use cannot be
// removed.
func TestSecretsAndConfigs(t *testing.T) {
	_, cli, _ := newEngine(t, Options{})
	ctx := context.Background()
	db, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db-password", Labels: map[string]string{"team": "a"}}, Data: []byte("pw")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db"}, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db"}}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("same name twice: %v", err)
	}
	if _, err := cli.SecretCreate(ctx, client.SecretCreateOptions{Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "-bad"}}}); err == nil {
		t.Fatal("a bad name was accepted")
	}
	byPrefix, err := cli.SecretList(ctx, client.SecretListOptions{Filters: make(client.Filters).Add("name", "db")})
	if err != nil || len(byPrefix.Items) != 2 {
		t.Fatalf("name prefix: %d %v", len(byPrefix.Items), err)
	}
	exact, err := cli.SecretList(ctx, client.SecretListOptions{Filters: make(client.Filters).Add("names", "db-password")})
	if err != nil || len(exact.Items) != 1 || exact.Items[0].ID != db.ID || exact.Items[0].Spec.Data != nil {
		t.Fatalf("exact name: %+v %v", exact, err)
	}
	got, err := cli.SecretInspect(ctx, "db-password", client.SecretInspectOptions{})
	if err != nil || got.Secret.ID != db.ID || got.Secret.Spec.Labels["team"] != "a" {
		t.Fatalf("inspect by name: %+v %v", got, err)
	}
	cfg, err := cli.ConfigCreate(ctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "nginx.conf"}, Data: []byte("server {}")}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cli.ConfigInspect(ctx, cfg.ID, client.ConfigInspectOptions{})
	if err != nil || string(c.Config.Spec.Data) != "server {}" {
		t.Fatalf("config inspect: %+v %v", c, err)
	}

	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "app"}, TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
		Image:   "nginx:1.27",
		Secrets: []*swarm.SecretReference{{SecretName: "db-password", SecretID: "nope", File: &swarm.SecretReferenceFileTarget{Name: "pw"}}},
	}}}
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err == nil || !strings.Contains(err.Error(), "secret not found: db-password") {
		t.Fatalf("unknown secret ID: %v", err)
	}
	spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID = db.ID
	spec.TaskTemplate.ContainerSpec.Configs = []*swarm.ConfigReference{{ConfigName: "other", ConfigID: cfg.ID, File: &swarm.ConfigReferenceFileTarget{Name: "/c"}}}
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err == nil || !strings.Contains(err.Error(), "config not found: other") {
		t.Fatalf("config name not matching its ID: %v", err)
	}
	spec.TaskTemplate.ContainerSpec.Configs[0].ConfigName = "nginx.conf"
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretRemove(ctx, db.ID, client.SecretRemoveOptions{}); err == nil || !strings.Contains(err.Error(), "in use by the following service: app") {
		t.Fatalf("remove a secret in use: %v", err)
	}
	if _, err := cli.ServiceRemove(ctx, "app", client.ServiceRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretRemove(ctx, db.ID, client.SecretRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ConfigRemove(ctx, "nginx.conf", client.ConfigRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretInspect(ctx, db.ID, client.SecretInspectOptions{}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("removed secret: %v", err)
	}
}

// TestUnhealthyTasks: an image tagged :unhealthy with a health check fails
// it the way the engine reports it; the same image without a check runs.
func TestUnhealthyTasks(t *testing.T) {
	_, cli, clk := newEngine(t, Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		check *container.HealthConfig
	}{
		{"checked", &container.HealthConfig{Test: []string{"CMD", "true"}}},
		{"disabled", &container.HealthConfig{Test: []string{"NONE"}}},
		{"unchecked", nil},
	} {
		_, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: tc.name},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:unhealthy", Healthcheck: tc.check}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(700 * time.Millisecond)
	for _, tc := range []struct {
		name  string
		state swarm.TaskState
	}{{"checked", swarm.TaskStateFailed}, {"disabled", swarm.TaskStateRunning}, {"unchecked", swarm.TaskStateRunning}} {
		tasks, err := cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", tc.name)})
		if err != nil || len(tasks.Items) == 0 {
			t.Fatalf("%s: %d tasks, %v", tc.name, len(tasks.Items), err)
		}
		st := tasks.Items[0].Status
		if st.State != tc.state {
			t.Errorf("%s: task %s, want %s", tc.name, st.State, tc.state)
		}
		if tc.state == swarm.TaskStateFailed && !strings.Contains(st.Err, "unhealthy container") {
			t.Errorf("%s: error %q", tc.name, st.Err)
		}
	}
}

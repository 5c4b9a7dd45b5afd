package dockeremu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// TestSecretsAndConfigs: the official client creates, lists (by name
// prefix and exact names), inspects and removes secrets and configs; a
// service may reference only ones that exist, and one in use cannot be
// removed.
func TestSecretsAndConfigs(t *testing.T) {
	_, cli, _ := newEngine(t, Options{})
	ctx := context.Background()
	db, err := cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db-password", Labels: map[string]string{"team": "a"}}, Data: []byte("pw")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db"}, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db"}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("same name twice: %v", err)
	}
	if _, err := cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: "-bad"}}); err == nil {
		t.Fatal("a bad name was accepted")
	}
	byPrefix, err := cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", "db"))})
	if err != nil || len(byPrefix) != 2 {
		t.Fatalf("name prefix: %d %v", len(byPrefix), err)
	}
	exact, err := cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("names", "db-password"))})
	if err != nil || len(exact) != 1 || exact[0].ID != db.ID || exact[0].Spec.Data != nil {
		t.Fatalf("exact name: %+v %v", exact, err)
	}
	got, _, err := cli.SecretInspectWithRaw(ctx, "db-password")
	if err != nil || got.ID != db.ID || got.Spec.Labels["team"] != "a" {
		t.Fatalf("inspect by name: %+v %v", got, err)
	}
	cfg, err := cli.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "nginx.conf"}, Data: []byte("server {}")})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := cli.ConfigInspectWithRaw(ctx, cfg.ID)
	if err != nil || string(c.Spec.Data) != "server {}" {
		t.Fatalf("config inspect: %+v %v", c, err)
	}

	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "app"}, TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
		Image:   "nginx:1.27",
		Secrets: []*swarm.SecretReference{{SecretName: "db-password", SecretID: "nope", File: &swarm.SecretReferenceFileTarget{Name: "pw"}}},
	}}}
	if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err == nil || !strings.Contains(err.Error(), "secret not found: db-password") {
		t.Fatalf("unknown secret ID: %v", err)
	}
	spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID = db.ID
	spec.TaskTemplate.ContainerSpec.Configs = []*swarm.ConfigReference{{ConfigName: "other", ConfigID: cfg.ID, File: &swarm.ConfigReferenceFileTarget{Name: "/c"}}}
	if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err == nil || !strings.Contains(err.Error(), "config not found: other") {
		t.Fatalf("config name not matching its ID: %v", err)
	}
	spec.TaskTemplate.ContainerSpec.Configs[0].ConfigName = "nginx.conf"
	if _, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cli.SecretRemove(ctx, db.ID); err == nil || !strings.Contains(err.Error(), "in use by the following service: app") {
		t.Fatalf("remove a secret in use: %v", err)
	}
	if err := cli.ServiceRemove(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := cli.SecretRemove(ctx, db.ID); err != nil {
		t.Fatal(err)
	}
	if err := cli.ConfigRemove(ctx, "nginx.conf"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli.SecretInspectWithRaw(ctx, db.ID); err == nil || !strings.Contains(err.Error(), "not found") {
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
		_, err := cli.ServiceCreate(ctx, swarm.ServiceSpec{Annotations: swarm.Annotations{Name: tc.name},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:unhealthy", Healthcheck: tc.check}}}, swarm.ServiceCreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(700 * time.Millisecond)
	for _, tc := range []struct {
		name  string
		state swarm.TaskState
	}{{"checked", swarm.TaskStateFailed}, {"disabled", swarm.TaskStateRunning}, {"unchecked", swarm.TaskStateRunning}} {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", tc.name))})
		if err != nil || len(tasks) == 0 {
			t.Fatalf("%s: %d tasks, %v", tc.name, len(tasks), err)
		}
		st := tasks[0].Status
		if st.State != tc.state {
			t.Errorf("%s: task %s, want %s", tc.name, st.State, tc.state)
		}
		if tc.state == swarm.TaskStateFailed && !strings.Contains(st.Err, "unhealthy container") {
			t.Errorf("%s: error %q", tc.name, st.Err)
		}
	}
}

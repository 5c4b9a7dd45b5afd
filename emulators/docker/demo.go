package dockeremu

import (
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// DemoConfig returns a working connection config for the docker plugin
// against this emulator served at baseURL (http://host:port). The engine
// socket has no credentials.
func (s *Server) DemoConfig(baseURL string) map[string]any {
	return map[string]any{"host": baseURL}
}

// SeedDemo adds a few realistic services: a replicated web server with a
// published port, a worker with environment and limits, a global agent, a
// service with a TTY and one whose image crashes.
func (s *Server) SeedDemo() {
	u := func(n uint64) *uint64 { return &n }
	d := func(v time.Duration) *time.Duration { return &v }
	specs := []swarm.ServiceSpec{
		{
			Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{"app": "shop", "tier": "frontend"}},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{Image: "nginx:1.27", Env: []string{"NGINX_PORT=80"}},
				Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 500_000_000, MemoryBytes: 256 << 20}},
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: d(5 * time.Second)},
			},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u(3)}},
			UpdateConfig: &swarm.UpdateConfig{Parallelism: 1, Delay: 10 * time.Second, FailureAction: swarm.UpdateFailureActionRollback, Order: swarm.UpdateOrderStartFirst},
			EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 80, PublishedPort: 8080}}},
		},
		{
			Annotations: swarm.Annotations{Name: "worker", Labels: map[string]string{"app": "shop", "tier": "backend"}},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{Image: "registry.example.com/shop/worker:2.4.1", Args: []string{"--queue", "orders"},
					Env: []string{"QUEUE_URL=redis://queue:6379", "WORKERS=4"}},
				Resources: &swarm.ResourceRequirements{Reservations: &swarm.Resources{MemoryBytes: 128 << 20}},
			},
			Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u(2)}},
		},
		{
			Annotations:  swarm.Annotations{Name: "node-agent", Labels: map[string]string{"app": "monitoring"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "prom/node-exporter:v1.8.2"}},
			Mode:         swarm.ServiceMode{Global: &swarm.GlobalService{}},
		},
		{
			Annotations:  swarm.Annotations{Name: "console", Labels: map[string]string{"app": "ops"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "alpine:3.20", Command: []string{"sh"}, TTY: true}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u(1)}},
		},
		{
			Annotations:  swarm.Annotations{Name: "reports", Labels: map[string]string{"app": "shop"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "registry.example.com/shop/reports:crash"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u(1)}},
		},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for _, spec := range specs {
		if err := normalize(&spec); err != nil {
			panic("dockeremu: bad demo spec: " + err.Error())
		}
		if _, err := s.create(spec, now); err != nil {
			continue // already seeded
		}
	}
}

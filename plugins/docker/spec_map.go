package main

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// toServiceSpec maps the friendly spec onto a ServiceSpec the way docker-py
// builds one. With a base (the current spec, for an update) everything the
// friendly spec does not cover is kept: ForceUpdate, privileges, the
// plugin's own labels, members of later engines. ids are the secrets and
// configs the spec names, resolved (a name the base already references
// keeps its ID when ids lacks it).
func (s *Spec) toServiceSpec(base *swarm.ServiceSpec, ids refIDs) (swarm.ServiceSpec, error) {
	var out swarm.ServiceSpec
	if base != nil {
		out = cloneSpec(*base)
		if out.Name != s.Name {
			return out, renameRefused(out.Name, s.Name)
		}
	}
	out.Name = s.Name
	stored := storedIDs(base)
	for name, id := range ids.secrets {
		stored.secrets[name] = id
	}
	for name, id := range ids.configs {
		stored.configs[name] = id
	}

	labels := map[string]string{}
	for k, v := range out.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			labels[k] = v
		}
	}
	for k, v := range s.Labels {
		labels[k] = v
	}
	out.Labels = labels

	tt := &out.TaskTemplate
	if tt.ContainerSpec == nil {
		tt.ContainerSpec = &swarm.ContainerSpec{}
	}
	if err := s.containerToSwarm(tt.ContainerSpec, stored); err != nil {
		return out, err
	}
	if err := s.resourcesToSwarm(tt); err != nil {
		return out, err
	}
	var err error
	if tt.RestartPolicy, err = s.RestartPolicy.toSwarm(); err != nil {
		return out, err
	}
	s.placementToSwarm(tt)

	// Networks go in the task template (docker-py since API 1.25); the
	// deprecated service-level list was folded into it when the base was
	// decoded (foldLegacyNetworks), as the docker CLI does.
	tt.Networks = networksToSwarm(s.Networks, tt.Networks)

	tt.LogDriver = nil
	if ld := s.LogDriver; ld != nil {
		tt.LogDriver = &swarm.Driver{Name: ld.Name, Options: ld.Options}
	}
	out.Mode = s.modeToSwarm(base)
	if out.UpdateConfig, err = s.UpdateConfig.toSwarm("/update_config"); err != nil {
		return out, err
	}
	if out.RollbackConfig, err = s.RollbackConfig.toSwarm("/rollback_config"); err != nil {
		return out, err
	}

	out.EndpointSpec = nil
	if len(s.Ports) > 0 || s.EndpointMode != "" {
		es := &swarm.EndpointSpec{Mode: swarm.ResolutionMode(s.EndpointMode)}
		for _, p := range s.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = "tcp" // docker-py's default
			}
			es.Ports = append(es.Ports, swarm.PortConfig{
				Protocol:      network.IPProtocol(proto),
				TargetPort:    uint32(p.Target),
				PublishedPort: uint32(p.Published),
				PublishMode:   swarm.PortConfigPublishMode(p.Mode),
			})
		}
		out.EndpointSpec = es
	}
	return out, nil
}

// renameRefused: the engine answers a rename "renaming services is not
// supported" (501); say so before asking it.
func renameRefused(from, to string) error {
	return pluginapi.Invalid("/name", "a Docker service cannot be renamed (from %q to %q): the engine does not support it; create a new service instead", from, to)
}

func (s *Spec) resourcesToSwarm(tt *swarm.TaskSpec) error {
	r := s.Resources
	if r == nil {
		if tt.Resources != nil {
			if tt.Resources.Limits != nil {
				tt.Resources.Limits.NanoCPUs, tt.Resources.Limits.MemoryBytes = 0, 0
			}
			if tt.Resources.Reservations != nil {
				tt.Resources.Reservations.NanoCPUs, tt.Resources.Reservations.MemoryBytes = 0, 0
				tt.Resources.Reservations.GenericResources = nil
			}
		}
		return nil
	}
	if tt.Resources == nil {
		tt.Resources = &swarm.ResourceRequirements{}
	}
	if tt.Resources.Limits == nil {
		tt.Resources.Limits = &swarm.Limit{}
	}
	if tt.Resources.Reservations == nil {
		tt.Resources.Reservations = &swarm.Resources{}
	}
	var err error
	tt.Resources.Limits.NanoCPUs = nanoCPUs(r.CPULimit)
	if tt.Resources.Limits.MemoryBytes, err = parseMemory(r.MemoryLimit, "/resources/memory_limit"); err != nil {
		return err
	}
	tt.Resources.Reservations.NanoCPUs = nanoCPUs(r.CPUReservation)
	if tt.Resources.Reservations.MemoryBytes, err = parseMemory(r.MemoryReservation, "/resources/memory_reservation"); err != nil {
		return err
	}
	tt.Resources.Reservations.GenericResources = genericToSwarm(r.Generic)
	return nil
}

func (rp *RestartPolicy) toSwarm() (*swarm.RestartPolicy, error) {
	if rp == nil {
		return nil, nil
	}
	p := &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition)}
	var err error
	if p.Delay, err = durationPtr(rp.Delay, "/restart_policy/delay"); err != nil {
		return nil, err
	}
	if p.Window, err = durationPtr(rp.Window, "/restart_policy/window"); err != nil {
		return nil, err
	}
	if rp.MaxAttempts != nil {
		n := uint64(*rp.MaxAttempts)
		p.MaxAttempts = &n
	}
	return p, nil
}

func (s *Spec) modeToSwarm(base *swarm.ServiceSpec) swarm.ServiceMode {
	mode := s.Mode
	if mode == "" {
		mode = modeReplicated
	}
	replicas := func() *uint64 {
		n := uint64(1)
		switch {
		case s.Replicas != nil:
			n = uint64(*s.Replicas)
		case base != nil && mode == modeReplicated && base.Mode.Replicated != nil && base.Mode.Replicated.Replicas != nil:
			n = *base.Mode.Replicated.Replicas // keep the current scale when the spec leaves it out
		}
		return &n
	}
	switch mode {
	case modeGlobal:
		return swarm.ServiceMode{Global: &swarm.GlobalService{}}
	case modeReplicatedJob:
		job := &swarm.ReplicatedJob{TotalCompletions: replicas()}
		if s.MaxConcurrent != nil {
			n := uint64(*s.MaxConcurrent)
			job.MaxConcurrent = &n
		}
		return swarm.ServiceMode{ReplicatedJob: job}
	case modeGlobalJob:
		return swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	}
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: replicas()}}
}

func (u *UpdateConfig) toSwarm(field string) (*swarm.UpdateConfig, error) {
	if u == nil {
		return nil, nil
	}
	out := &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.FailureAction(u.FailureAction), Order: swarm.UpdateOrder(u.Order)}
	if u.Parallelism != nil {
		out.Parallelism = uint64(*u.Parallelism)
	}
	var err error
	if out.Delay, err = parseDuration(u.Delay, field+"/delay"); err != nil {
		return nil, err
	}
	if out.Monitor, err = parseDuration(u.Monitor, field+"/monitor"); err != nil {
		return nil, err
	}
	if u.MaxFailureRatio != nil {
		out.MaxFailureRatio = float32(*u.MaxFailureRatio)
	}
	return out, nil
}

func updateConfigFromSwarm(u *swarm.UpdateConfig) *UpdateConfig {
	if u == nil {
		return nil
	}
	p := int(u.Parallelism)
	out := &UpdateConfig{Parallelism: &p, FailureAction: string(u.FailureAction), Order: string(u.Order)}
	if u.Delay != 0 {
		out.Delay = formatDuration(u.Delay)
	}
	if u.Monitor != 0 {
		out.Monitor = formatDuration(u.Monitor)
	}
	if u.MaxFailureRatio != 0 {
		r := math.Round(float64(u.MaxFailureRatio)*1e6) / 1e6 // float32 noise
		out.MaxFailureRatio = &r
	}
	return out
}

// specFromSwarm rebuilds the friendly spec from the engine's ServiceSpec,
// so that an edit form starts from the service as it is.
func specFromSwarm(in swarm.ServiceSpec) Spec {
	s := Spec{Name: in.Name}
	for k, v := range in.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			continue
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
	}
	tt := in.TaskTemplate
	if cs := tt.ContainerSpec; cs != nil {
		s.containerFromSwarm(cs)
	}
	if r := tt.Resources; r != nil {
		res := Resources{}
		if r.Limits != nil {
			res.CPULimit = float64(r.Limits.NanoCPUs) / 1e9
			if r.Limits.MemoryBytes != 0 {
				res.MemoryLimit = formatMemory(r.Limits.MemoryBytes)
			}
		}
		if r.Reservations != nil {
			res.CPUReservation = float64(r.Reservations.NanoCPUs) / 1e9
			if r.Reservations.MemoryBytes != 0 {
				res.MemoryReservation = formatMemory(r.Reservations.MemoryBytes)
			}
			res.Generic = genericFromSwarm(r.Reservations.GenericResources)
		}
		if !res.empty() {
			s.Resources = &res
		}
	}
	if rp := tt.RestartPolicy; rp != nil {
		p := &RestartPolicy{Condition: string(rp.Condition)}
		if rp.Delay != nil {
			p.Delay = formatDuration(*rp.Delay)
		}
		if rp.Window != nil && *rp.Window != 0 {
			p.Window = formatDuration(*rp.Window)
		}
		if rp.MaxAttempts != nil {
			n := int(*rp.MaxAttempts)
			p.MaxAttempts = &n
		}
		s.RestartPolicy = p
	}
	s.placementFromSwarm(tt.Placement)
	// the service-level list of engines before API 1.44 is folded in here
	// (decodeService)
	s.Networks = networksFromSwarm(tt.Networks)
	if tt.LogDriver != nil {
		s.LogDriver = &LogDriver{Name: tt.LogDriver.Name, Options: tt.LogDriver.Options}
	}
	switch m := in.Mode; {
	case m.Global != nil:
		s.Mode = modeGlobal
	case m.ReplicatedJob != nil:
		s.Mode = modeReplicatedJob
		if m.ReplicatedJob.TotalCompletions != nil {
			n := int(*m.ReplicatedJob.TotalCompletions)
			s.Replicas = &n
		}
		if m.ReplicatedJob.MaxConcurrent != nil {
			n := int(*m.ReplicatedJob.MaxConcurrent)
			s.MaxConcurrent = &n
		}
	case m.GlobalJob != nil:
		s.Mode = modeGlobalJob
	default:
		s.Mode = modeReplicated
		n := 1
		if m.Replicated != nil && m.Replicated.Replicas != nil {
			n = int(*m.Replicated.Replicas)
		}
		s.Replicas = &n
	}
	s.UpdateConfig = updateConfigFromSwarm(in.UpdateConfig)
	s.RollbackConfig = updateConfigFromSwarm(in.RollbackConfig)
	if es := in.EndpointSpec; es != nil {
		s.EndpointMode = string(es.Mode)
		for _, p := range es.Ports {
			s.Ports = append(s.Ports, Port{Target: int(p.TargetPort), Published: int(p.PublishedPort),
				Protocol: string(p.Protocol), Mode: string(p.PublishMode)})
		}
	}
	return s
}

func cloneSpec(in swarm.ServiceSpec) swarm.ServiceSpec {
	b, _ := json.Marshal(in)
	var out swarm.ServiceSpec
	_ = json.Unmarshal(b, &out)
	return out
}

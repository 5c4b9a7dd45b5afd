package main

import (
	"bytes"
	"encoding/json"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// Preference spreads the tasks evenly over the values of a node label
// (docker service create --placement-pref spread=node.labels.zone).
type Preference struct {
	Spread string `json:"spread"`
}

// Platform is an architecture and OS the tasks may run on.
type Platform struct {
	Architecture string `json:"architecture,omitempty"`
	OS           string `json:"os,omitempty"`
}

// GenericResource is a node resource a task reserves: a count of a
// discrete kind (gpu=2) or one named unit (gpu=GPU-4f1e...).
type GenericResource struct {
	Kind     string `json:"kind"`
	Discrete *int64 `json:"discrete,omitempty"`
	Named    string `json:"named,omitempty"`
}

// Network is a network attachment: the network's name or ID, with the
// task's DNS aliases on it and driver options. Its JSON is the plain name
// when it has neither, as the spec always allowed.
type Network struct {
	Target        string            `json:"target"`
	Aliases       []string          `json:"aliases,omitempty"`
	DriverOptions map[string]string `json:"driver_options,omitempty"`
}

// MarshalJSON writes the plain name or the object.
func (n Network) MarshalJSON() ([]byte, error) { return appendNetwork(nil, &n), nil }

// UnmarshalJSON reads a name or an object (whose unknown members are errors).
func (n *Network) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*n = Network{}
		return json.Unmarshal(b, &n.Target)
	}
	type plain Network // without the methods
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return pluginapi.Invalid("/networks", "a network is a name or {target, aliases, driver_options}: %v", err)
	}
	*n = Network(p)
	return nil
}

// placementToSwarm writes constraints, preferences, the per-node maximum
// and platforms; an empty placement is left out unless base had one.
func (s *Spec) placementToSwarm(tt *swarm.TaskSpec) {
	if len(s.Constraints) == 0 && len(s.Preferences) == 0 && s.MaxPerNode == 0 && len(s.Platforms) == 0 && tt.Placement == nil {
		return
	}
	if tt.Placement == nil {
		tt.Placement = &swarm.Placement{}
	}
	p := tt.Placement
	p.Constraints = s.Constraints
	p.Preferences = nil
	for _, pref := range s.Preferences {
		p.Preferences = append(p.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pref.Spread}})
	}
	p.MaxReplicas = uint64(s.MaxPerNode)
	p.Platforms = nil
	for _, pl := range s.Platforms {
		p.Platforms = append(p.Platforms, swarm.Platform{Architecture: pl.Architecture, OS: pl.OS})
	}
}

func (s *Spec) placementFromSwarm(p *swarm.Placement) {
	if p == nil {
		return
	}
	s.Constraints = p.Constraints
	for _, pref := range p.Preferences {
		if pref.Spread != nil {
			s.Preferences = append(s.Preferences, Preference{Spread: pref.Spread.SpreadDescriptor})
		}
	}
	s.MaxPerNode = int(p.MaxReplicas)
	for _, pl := range p.Platforms {
		s.Platforms = append(s.Platforms, Platform{Architecture: pl.Architecture, OS: pl.OS})
	}
}

func genericToSwarm(list []GenericResource) []swarm.GenericResource {
	var out []swarm.GenericResource
	for _, g := range list {
		if g.Named != "" {
			out = append(out, swarm.GenericResource{NamedResourceSpec: &swarm.NamedGenericResource{Kind: g.Kind, Value: g.Named}})
			continue
		}
		var n int64
		if g.Discrete != nil {
			n = *g.Discrete
		}
		out = append(out, swarm.GenericResource{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: g.Kind, Value: n}})
	}
	return out
}

func genericFromSwarm(list []swarm.GenericResource) []GenericResource {
	var out []GenericResource
	for _, g := range list {
		switch {
		case g.NamedResourceSpec != nil:
			out = append(out, GenericResource{Kind: g.NamedResourceSpec.Kind, Named: g.NamedResourceSpec.Value})
		case g.DiscreteResourceSpec != nil:
			n := g.DiscreteResourceSpec.Value
			out = append(out, GenericResource{Kind: g.DiscreteResourceSpec.Kind, Discrete: &n})
		}
	}
	return out
}

// networksToSwarm builds the attachments; one the base already has keeps
// what the friendly spec does not model.
func networksToSwarm(list []Network, old []swarm.NetworkAttachmentConfig) []swarm.NetworkAttachmentConfig {
	var out []swarm.NetworkAttachmentConfig
	for _, n := range list {
		att := swarm.NetworkAttachmentConfig{Target: n.Target}
		for _, o := range old {
			if o.Target == n.Target {
				att = o
			}
		}
		att.Aliases, att.DriverOpts = n.Aliases, n.DriverOptions
		out = append(out, att)
	}
	return out
}

func networksFromSwarm(list []swarm.NetworkAttachmentConfig) []Network {
	var out []Network
	for _, n := range list {
		nw := Network{Target: n.Target, Aliases: nonEmpty(n.Aliases)}
		if len(n.DriverOpts) > 0 {
			nw.DriverOptions = n.DriverOpts
		}
		out = append(out, nw)
	}
	return out
}

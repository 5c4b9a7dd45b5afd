package main

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/jsonw"
)

// An update starts from the spec the engine stores, as raw JSON, and
// changes only the members the friendly spec models, and only those whose
// value really changes. Everything else — mounts, secrets, health checks,
// hostname, read-only root, grace periods, placement preferences, network
// aliases, and members a later engine adds — goes back byte for byte, as
// docker-py's update_service(fetch_current_spec=True) keeps them. An
// update that changes nothing is not sent at all, so the engine neither
// bumps the version nor redeploys.

// specPatch is the engine's stored spec being edited.
type specPatch struct {
	spec    *rawObject
	changed bool
}

// newSpecPatch reads the Spec of a raw engine Service.
func newSpecPatch(rawService []byte) (*specPatch, error) {
	svc, err := parseObject(rawService)
	if err != nil {
		return nil, err
	}
	spec, err := parseObject(svc.get("Spec"))
	if err != nil {
		return nil, err
	}
	return &specPatch{spec: spec}, nil
}

// body is the spec to post.
func (p *specPatch) body() []byte { return p.spec.appendTo(make([]byte, 0, 2048)) }

// set puts a value at path (nil removes it), if it differs from what is there.
func (p *specPatch) set(path []string, val []byte) error {
	cur, err := p.spec.getPath(path)
	if err != nil {
		return err
	}
	if cur == nil && val == nil || cur != nil && val != nil && bytes.Equal(cur, val) {
		return nil
	}
	p.changed = true
	return p.spec.setPath(path, val)
}

// members brings the listed members of the object at path to want's
// values, where they differ from have's (both are the engine's types,
// encoded with encoding/json: a member want omits is removed). Other
// members of that object stay as they are. A nil want removes the object.
func (p *specPatch) members(path []string, want, have any, keys ...string) error {
	w, h := jsonOf(want), jsonOf(have)
	if bytes.Equal(w, h) {
		return nil
	}
	if string(w) == "null" {
		p.changed = true
		return p.spec.setPath(path, nil)
	}
	wo, err := parseObject(w)
	if err != nil {
		return err
	}
	ho, err := parseObject(h)
	if err != nil {
		return err
	}
	for _, k := range keys {
		wv, hv := wo.get(k), ho.get(k)
		if bytes.Equal(wv, hv) {
			continue
		}
		p.changed = true
		if err := p.spec.setPath(append(path[:len(path):len(path)], k), wv); err != nil {
			return err
		}
	}
	return nil
}

// friendlyKeys are the members of the friendly spec, in order (read from
// its JSON tags, so that a field added to Spec is compared too).
var friendlyKeys = func() []string {
	t := reflect.TypeFor[Spec]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}()

// containerMembers maps friendly members to the ContainerSpec members
// they set whole.
var containerMembers = map[string]string{"image": "Image", "command": "Command", "args": "Args", "env": "Env",
	"container_labels": "Labels", "workdir": "Dir", "user": "User", "groups": "Groups", "tty": "TTY",
	"hostname": "Hostname", "read_only": "ReadOnly", "init": "Init", "stop_signal": "StopSignal",
	"stop_grace_period": "StopGracePeriod", "hosts": "Hosts", "cap_add": "CapabilityAdd", "cap_drop": "CapabilityDrop",
	"sysctls": "Sysctls", "ulimits": "Ulimits", "isolation": "Isolation"}

// placementMembers maps friendly members to Placement members.
var placementMembers = map[string]string{"constraints": "Constraints", "placement_preferences": "Preferences",
	"max_replicas_per_node": "MaxReplicas", "platforms": "Platforms"}

// friendlyMembers encodes a friendly spec and splits it into its members.
func friendlyMembers(s *Spec) map[string][]byte {
	o, err := parseObject(appendSpec(make([]byte, 0, 512), s))
	if err != nil {
		panic(err) // appendSpec writes valid JSON
	}
	m := make(map[string][]byte, len(o.members))
	for _, mem := range o.members {
		m[mem.key] = mem.val
	}
	return m
}

// changedMembers lists the friendly members of want that differ from the
// stored spec's. A member equal to the engine's view with defaults
// inserted (what a get shows) is not a change either: docker-py and the
// portal edit that view, and writing its defaults back explicitly would
// make the engine redeploy every task.
func changedMembers(want *Spec, stored swarm.ServiceSpec, withDefaults func() (swarm.ServiceSpec, error)) (map[string]bool, error) {
	w := friendlyMembers(want)
	ss := specFromSwarm(stored)
	s := friendlyMembers(&ss)
	var out map[string]bool
	for _, k := range friendlyKeys {
		if !bytes.Equal(w[k], s[k]) {
			if out == nil {
				out = map[string]bool{}
			}
			out[k] = true
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	def, err := withDefaults()
	if err != nil {
		return nil, err
	}
	ds := specFromSwarm(def)
	d := friendlyMembers(&ds)
	for k := range out {
		if bytes.Equal(w[k], d[k]) {
			delete(out, k)
		}
	}
	return out, nil
}

// apply edits the stored spec for the friendly members that changed:
// want is the engine spec the friendly spec maps to on top of have, the
// stored spec as the plugin decodes it (its modeled fields).
func (p *specPatch) apply(changed map[string]bool, want, have swarm.ServiceSpec) error {
	if changed["labels"] {
		if err := p.set([]string{"Labels"}, jsonOf(want.Labels)); err != nil {
			return err
		}
	}
	wt, ht := want.TaskTemplate, have.TaskTemplate
	if err := p.container(changed, wt.ContainerSpec, ht.ContainerSpec); err != nil {
		return err
	}
	if changed["mode"] || changed["replicas"] || changed["max_concurrent"] {
		if err := p.mode(want, have); err != nil {
			return err
		}
	}
	if changed["resources"] {
		var wl, hl *swarm.Limit
		var wr, hr *swarm.Resources
		if r := wt.Resources; r != nil {
			wl, wr = r.Limits, r.Reservations
		}
		if r := ht.Resources; r != nil {
			hl, hr = r.Limits, r.Reservations
		}
		if err := p.members([]string{"TaskTemplate", "Resources", "Limits"}, wl, hl, "NanoCPUs", "MemoryBytes"); err != nil {
			return err
		}
		if err := p.members([]string{"TaskTemplate", "Resources", "Reservations"}, wr, hr, "NanoCPUs", "MemoryBytes", "GenericResources"); err != nil {
			return err
		}
	}
	if changed["restart_policy"] {
		if err := p.members([]string{"TaskTemplate", "RestartPolicy"}, wt.RestartPolicy, ht.RestartPolicy,
			"Condition", "Delay", "MaxAttempts", "Window"); err != nil {
			return err
		}
	}
	for friendly, member := range placementMembers {
		if changed[friendly] {
			if err := p.members([]string{"TaskTemplate", "Placement"}, wt.Placement, ht.Placement, member); err != nil {
				return err
			}
		}
	}
	if changed["networks"] {
		if err := p.networks(wt.Networks); err != nil {
			return err
		}
	}
	if changed["ports"] || changed["endpoint_mode"] {
		keepPortNames(want.EndpointSpec, have.EndpointSpec)
		if err := p.members([]string{"EndpointSpec"}, want.EndpointSpec, have.EndpointSpec, "Mode", "Ports"); err != nil {
			return err
		}
	}
	updateKeys := []string{"Parallelism", "Delay", "FailureAction", "Monitor", "MaxFailureRatio", "Order"}
	if changed["update_config"] {
		if err := p.members([]string{"UpdateConfig"}, want.UpdateConfig, have.UpdateConfig, updateKeys...); err != nil {
			return err
		}
	}
	if changed["rollback_config"] {
		if err := p.members([]string{"RollbackConfig"}, want.RollbackConfig, have.RollbackConfig, updateKeys...); err != nil {
			return err
		}
	}
	if changed["log_driver"] {
		if err := p.members([]string{"TaskTemplate", "LogDriver"}, wt.LogDriver, ht.LogDriver, "Name", "Options"); err != nil {
			return err
		}
	}
	return nil
}

// container edits the ContainerSpec members that changed (want is never
// nil: toServiceSpec always makes one).
func (p *specPatch) container(changed map[string]bool, want, have *swarm.ContainerSpec) error {
	cs := []string{"TaskTemplate", "ContainerSpec"}
	for friendly, member := range containerMembers {
		if changed[friendly] {
			if err := p.members(cs, want, have, member); err != nil {
				return err
			}
		}
	}
	if err := p.containerLists(changed, want); err != nil {
		return err
	}
	var hh, hd any // have's health check and DNS config, untyped nil when have is
	if have != nil {
		hh, hd = have.Healthcheck, have.DNSConfig
	}
	if changed["healthcheck"] {
		if err := p.members(append(cs, "Healthcheck"), want.Healthcheck, hh, "Test", "Interval", "Timeout", "StartPeriod", "Retries"); err != nil {
			return err
		}
	}
	if changed["dns_config"] {
		if err := p.members(append(cs, "DNSConfig"), want.DNSConfig, hd, "Nameservers", "Search", "Options"); err != nil {
			return err
		}
	}
	return nil
}

// mode sets the replica or completion counts; a change of mode is posted
// whole (the engine refuses it with its own message).
func (p *specPatch) mode(want, have swarm.ServiceSpec) error {
	w, h := want.Mode, have.Mode
	switch {
	case modeOf(w) != modeOf(h):
		return p.set([]string{"Mode"}, jsonOf(w))
	case w.Replicated != nil:
		if err := p.members([]string{"Mode", "Replicated"}, w.Replicated, h.Replicated, "Replicas"); err != nil {
			return err
		}
		if w.Replicated.Replicas != nil && *w.Replicated.Replicas > 0 {
			return p.set([]string{"Labels", labelPreviousReplicas}, nil) // running again: nothing to remember
		}
	case w.ReplicatedJob != nil:
		return p.members([]string{"Mode", "ReplicatedJob"}, w.ReplicatedJob, h.ReplicatedJob, "MaxConcurrent", "TotalCompletions")
	}
	return nil
}

// keepPortNames carries the names of published ports (which the friendly
// spec does not model) over to the same ports in the new spec.
func keepPortNames(want, have *swarm.EndpointSpec) {
	if want == nil || have == nil {
		return
	}
	for i := range want.Ports {
		w := &want.Ports[i]
		for _, h := range have.Ports {
			if h.TargetPort == w.TargetPort && h.Protocol == w.Protocol && h.PublishedPort == w.PublishedPort {
				w.Name = h.Name
				break
			}
		}
	}
}

// planUpdate builds the spec to post for a friendly spec onto the stored
// service (raw is the engine's answer); changed is false when nothing the
// engine stores would change.
func planUpdate(s *Spec, stored swarm.Service, raw []byte, withDefaults func() (swarm.ServiceSpec, error),
	resolve func(s *Spec, secrets, configs bool) (refIDs, error)) (body []byte, changed bool, err error) {
	if stored.Spec.Name != s.Name {
		return nil, false, renameRefused(stored.Spec.Name, s.Name)
	}
	members, err := changedMembers(s, stored.Spec, withDefaults)
	if err != nil || len(members) == 0 {
		return nil, false, err
	}
	// Only references that change are looked up; the others keep the IDs stored.
	ids, err := resolve(s, members["secrets"], members["configs"])
	if err != nil {
		return nil, false, err
	}
	want, err := s.toServiceSpec(&stored.Spec, ids)
	if err != nil {
		return nil, false, err
	}
	p, err := newSpecPatch(raw)
	if err != nil {
		return nil, false, unexpected(err)
	}
	if err := p.apply(members, want, stored.Spec); err != nil {
		return nil, false, unexpected(err)
	}
	if !p.changed {
		return nil, false, nil
	}
	return p.body(), true, nil
}

func unexpected(err error) error {
	return pluginapi.Errorf(pluginapi.CodeInternal, "unexpected service spec from the Docker engine: %v", err)
}

// jsonString encodes a string value.
func jsonString(s string) []byte { return jsonw.AppendString(nil, s) }

// jsonUint encodes a count.
func jsonUint(n uint64) []byte { return strconv.AppendUint(nil, n, 10) }

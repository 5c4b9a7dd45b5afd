package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// Healthcheck is the container's health check (docker-py's Healthcheck).
// Test is ["CMD", exe, args...], ["CMD-SHELL", command] or ["NONE"] (the
// image's check disabled); left out, the image's own test runs with these
// timings.
type Healthcheck struct {
	Test        []string `json:"test,omitempty"`
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	StartPeriod string   `json:"start_period,omitempty"`
	Retries     int      `json:"retries,omitempty"`
}

// DNSConfig is the tasks' resolver configuration (resolv.conf).
type DNSConfig struct {
	Nameservers []string `json:"nameservers,omitempty"`
	Search      []string `json:"search,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Ulimit is one resource limit of the container's processes; -1 is unlimited.
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

func (h *Healthcheck) check() error {
	if h == nil {
		return nil
	}
	if len(h.Test) > 0 {
		switch kind := h.Test[0]; {
		case kind == "NONE" && len(h.Test) != 1:
			return pluginapi.Invalid("/healthcheck/test", "a test of NONE (no health check) takes nothing after it")
		case kind == "CMD-SHELL" && len(h.Test) != 2:
			return pluginapi.Invalid("/healthcheck/test", "CMD-SHELL takes one shell command line after it")
		case kind == "CMD" && len(h.Test) < 2:
			return pluginapi.Invalid("/healthcheck/test", "CMD takes the program to run (and its arguments) after it")
		}
	}
	for _, d := range []struct{ field, v string }{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}} {
		// the engine's own rule: "cannot be less than 1ms"
		if v, err := parseDuration(d.v, "/healthcheck/"+d.field); err != nil {
			return err
		} else if v != 0 && v < time.Millisecond {
			return pluginapi.Invalid("/healthcheck/"+d.field, "%s must be 0 (the default) or at least 1ms", d.field)
		}
	}
	return nil
}

func checkUlimits(list []Ulimit) error {
	seen := map[string]bool{}
	for i, u := range list {
		f := fmt.Sprintf("/ulimits/%d", i)
		if seen[u.Name] {
			return pluginapi.Invalid(f+"/name", "ulimit %s is set twice", u.Name)
		}
		seen[u.Name] = true
		if u.Soft >= 0 && u.Hard >= 0 && u.Soft > u.Hard {
			return pluginapi.Invalid(f+"/soft", "the soft limit of %s (%d) is above its hard limit (%d)", u.Name, u.Soft, u.Hard)
		}
	}
	return nil
}

// containerToSwarm writes the container settings of the friendly spec
// into cs (every modeled member, set or cleared).
func (s *Spec) containerToSwarm(cs *swarm.ContainerSpec, ids refIDs) error {
	cs.Image = s.Image
	cs.Command = s.Command
	cs.Args = s.Args
	cs.Env = nil
	for _, k := range sortedKeys(s.Env) {
		cs.Env = append(cs.Env, k+"="+s.Env[k])
	}
	cs.Labels = s.ContainerLabels
	cs.Dir = s.Workdir
	cs.User = s.User
	cs.Groups = s.Groups
	cs.TTY = s.TTY
	cs.Hostname = s.Hostname
	cs.ReadOnly = s.ReadOnly
	cs.Init = s.Init
	cs.StopSignal = s.StopSignal
	var err error
	if cs.StopGracePeriod, err = durationPtr(s.StopGracePeriod, "/stop_grace_period"); err != nil {
		return err
	}
	if cs.Healthcheck, err = s.Healthcheck.toSwarm(); err != nil {
		return err
	}
	if cs.Mounts, err = mountsToSwarm(s.Mounts); err != nil {
		return err
	}
	if cs.Secrets, err = secretsToSwarm(s.Secrets, ids); err != nil {
		return err
	}
	if cs.Configs, err = configsToSwarm(s.Configs, ids); err != nil {
		return err
	}
	cs.DNSConfig = nil
	if d := s.DNSConfig; d != nil {
		ns, err := nameserversToSwarm(d.Nameservers)
		if err != nil {
			return err
		}
		cs.DNSConfig = &swarm.DNSConfig{Nameservers: ns, Search: d.Search, Options: d.Options}
	}
	cs.Hosts = s.Hosts
	cs.CapabilityAdd = s.CapAdd
	cs.CapabilityDrop = s.CapDrop
	cs.Sysctls = s.Sysctls
	cs.Ulimits = nil
	for _, u := range s.Ulimits {
		cs.Ulimits = append(cs.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	cs.Isolation = container.Isolation(s.Isolation)
	return nil
}

func (h *Healthcheck) toSwarm() (*container.HealthConfig, error) {
	if h == nil {
		return nil, nil
	}
	out := &container.HealthConfig{Test: h.Test, Retries: h.Retries}
	var err error
	if out.Interval, err = parseDuration(h.Interval, "/healthcheck/interval"); err != nil {
		return nil, err
	}
	if out.Timeout, err = parseDuration(h.Timeout, "/healthcheck/timeout"); err != nil {
		return nil, err
	}
	if out.StartPeriod, err = parseDuration(h.StartPeriod, "/healthcheck/start_period"); err != nil {
		return nil, err
	}
	return out, nil
}

// containerFromSwarm reads the container settings back into s.
func (s *Spec) containerFromSwarm(cs *swarm.ContainerSpec) {
	s.Image = cs.Image
	s.Command = cs.Command
	s.Args = cs.Args
	for _, kv := range cs.Env {
		k, v, _ := strings.Cut(kv, "=")
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	if len(cs.Labels) > 0 {
		s.ContainerLabels = cs.Labels
	}
	s.Workdir = cs.Dir
	s.User = cs.User
	s.Groups = nonEmpty(cs.Groups)
	s.TTY = cs.TTY
	s.Hostname = cs.Hostname
	s.ReadOnly = cs.ReadOnly
	s.Init = cs.Init
	s.StopSignal = cs.StopSignal
	if cs.StopGracePeriod != nil {
		s.StopGracePeriod = formatDuration(*cs.StopGracePeriod)
	}
	if h := cs.Healthcheck; h != nil {
		hc := &Healthcheck{Test: nonEmpty(h.Test), Retries: h.Retries}
		if h.Interval != 0 {
			hc.Interval = formatDuration(h.Interval)
		}
		if h.Timeout != 0 {
			hc.Timeout = formatDuration(h.Timeout)
		}
		if h.StartPeriod != 0 {
			hc.StartPeriod = formatDuration(h.StartPeriod)
		}
		s.Healthcheck = hc
	}
	s.Mounts = mountsFromSwarm(cs.Mounts)
	s.Secrets = secretsFromSwarm(cs.Secrets)
	s.Configs = configsFromSwarm(cs.Configs)
	if d := cs.DNSConfig; d != nil && (len(d.Nameservers) > 0 || len(d.Search) > 0 || len(d.Options) > 0) {
		s.DNSConfig = &DNSConfig{Nameservers: nameserversFromSwarm(d.Nameservers), Search: nonEmpty(d.Search), Options: nonEmpty(d.Options)}
	}
	s.Hosts = nonEmpty(cs.Hosts)
	s.CapAdd = nonEmpty(cs.CapabilityAdd)
	s.CapDrop = nonEmpty(cs.CapabilityDrop)
	if len(cs.Sysctls) > 0 {
		s.Sysctls = cs.Sysctls
	}
	for _, u := range cs.Ulimits {
		if u != nil {
			s.Ulimits = append(s.Ulimits, Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
		}
	}
	s.Isolation = string(cs.Isolation)
}

// nameserversToSwarm parses the resolver addresses: the moby API types hold
// them as IP addresses.
func nameserversToSwarm(list []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for i, n := range list {
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, pluginapi.Invalid("/dns_config/nameservers/"+strconv.Itoa(i), "nameserver %q is not an IP address", n)
		}
		out = append(out, a)
	}
	return out, nil
}

func nameserversFromSwarm(list []netip.Addr) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.String())
	}
	return out
}

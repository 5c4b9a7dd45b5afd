package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// Spec is the friendly service spec of the docker plugin: the arguments of
// docker-py's create_service, flattened.
type Spec struct {
	Name            string            `json:"name"`
	Image           string            `json:"image"`
	Command         []string          `json:"command,omitempty"`
	Args            []string          `json:"args,omitempty"`
	Env             map[string]string `json:"env,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	ContainerLabels map[string]string `json:"container_labels,omitempty"`
	Workdir         string            `json:"workdir,omitempty"`
	User            string            `json:"user,omitempty"`
	TTY             bool              `json:"tty,omitempty"`
	Mode            string            `json:"mode,omitempty"`
	Replicas        *int              `json:"replicas,omitempty"`
	MaxConcurrent   *int              `json:"max_concurrent,omitempty"`
	Resources       *Resources        `json:"resources,omitempty"`
	RestartPolicy   *RestartPolicy    `json:"restart_policy,omitempty"`
	Constraints     []string          `json:"constraints,omitempty"`
	Networks        []string          `json:"networks,omitempty"`
	Ports           []Port            `json:"ports,omitempty"`
	EndpointMode    string            `json:"endpoint_mode,omitempty"`
	UpdateConfig    *UpdateConfig     `json:"update_config,omitempty"`
	RollbackConfig  *UpdateConfig     `json:"rollback_config,omitempty"`
	LogDriver       *LogDriver        `json:"log_driver,omitempty"`
}

// Resources are CPU (in cores) and memory (bytes with an optional binary
// unit: "512M", "1G") limits and reservations.
type Resources struct {
	CPULimit          float64 `json:"cpu_limit,omitempty"`
	MemoryLimit       string  `json:"memory_limit,omitempty"`
	CPUReservation    float64 `json:"cpu_reservation,omitempty"`
	MemoryReservation string  `json:"memory_reservation,omitempty"`
}

// RestartPolicy is what swarm does when a task exits.
type RestartPolicy struct {
	Condition   string `json:"condition,omitempty"`
	Delay       string `json:"delay,omitempty"`
	MaxAttempts *int   `json:"max_attempts,omitempty"`
	Window      string `json:"window,omitempty"`
}

// Port publishes a container port.
type Port struct {
	Target    int    `json:"target"`
	Published int    `json:"published,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
	Mode      string `json:"mode,omitempty"`
}

// UpdateConfig is the rolling update (or rollback) strategy.
type UpdateConfig struct {
	Parallelism     *int     `json:"parallelism,omitempty"`
	Delay           string   `json:"delay,omitempty"`
	FailureAction   string   `json:"failure_action,omitempty"`
	Monitor         string   `json:"monitor,omitempty"`
	MaxFailureRatio *float64 `json:"max_failure_ratio,omitempty"`
	Order           string   `json:"order,omitempty"`
}

// LogDriver picks the tasks' logging driver.
type LogDriver struct {
	Name    string            `json:"name"`
	Options map[string]string `json:"options,omitempty"`
}

// Service modes of the friendly spec.
const (
	modeReplicated    = "replicated"
	modeGlobal        = "global"
	modeReplicatedJob = "replicated-job"
	modeGlobalJob     = "global-job"
)

// Labels the plugin keeps for itself on the service; hidden from the friendly spec.
const (
	labelPrefix           = "wharf."
	labelPreviousReplicas = "wharf.previous-replicas"
)

var (
	validName     = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`)
	memoryPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtT]?)(?:i?[bB])?$`)
)

// decodeSpec parses and checks a friendly spec. Errors name the field.
func decodeSpec(raw json.RawMessage) (*Spec, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, pluginapi.Invalid("", "the spec is missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	s := new(Spec)
	if err := dec.Decode(s); err != nil {
		field := ""
		if ute, ok := err.(*json.UnmarshalTypeError); ok {
			field = "/" + strings.ReplaceAll(ute.Field, ".", "/")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = "/" + strings.Trim(f, `"`)
			return nil, pluginapi.Invalid(field, "unknown property %s", f)
		}
		return nil, pluginapi.Invalid(field, "bad spec: %v", err)
	}
	return s, s.check()
}

func (s *Spec) check() error {
	switch {
	case s.Name == "":
		return pluginapi.Invalid("/name", "name is required")
	case len(s.Name) > 63 || !validName.MatchString(s.Name):
		return pluginapi.Invalid("/name", "name %q must be a DNS label: letters, digits, - and _, at most 63 characters", s.Name)
	case strings.TrimSpace(s.Image) == "":
		return pluginapi.Invalid("/image", "image is required")
	}
	for k := range s.Env {
		if k == "" || strings.Contains(k, "=") {
			return pluginapi.Invalid("/env", "environment variable name %q must be non-empty and without '='", k)
		}
	}
	switch s.Mode {
	case "", modeReplicated, modeGlobal, modeReplicatedJob, modeGlobalJob:
	default:
		return pluginapi.Invalid("/mode", "mode must be replicated, global, replicated-job or global-job, not %q", s.Mode)
	}
	if s.Replicas != nil && *s.Replicas < 0 {
		return pluginapi.Invalid("/replicas", "replicas must be 0 or more")
	}
	if s.Replicas != nil && (s.Mode == modeGlobal || s.Mode == modeGlobalJob) {
		return pluginapi.Invalid("/replicas", "replicas is only for replicated and replicated-job modes")
	}
	if s.MaxConcurrent != nil && (*s.MaxConcurrent < 1 || s.Mode != modeReplicatedJob) {
		return pluginapi.Invalid("/max_concurrent", "max_concurrent is a number >= 1, for replicated-job mode only")
	}
	if r := s.Resources; r != nil {
		if r.CPULimit < 0 || math.IsNaN(r.CPULimit) {
			return pluginapi.Invalid("/resources/cpu_limit", "cpu_limit must be a positive number of CPUs")
		}
		if r.CPUReservation < 0 || math.IsNaN(r.CPUReservation) {
			return pluginapi.Invalid("/resources/cpu_reservation", "cpu_reservation must be a positive number of CPUs")
		}
		if _, err := parseMemory(r.MemoryLimit, "/resources/memory_limit"); err != nil {
			return err
		}
		if _, err := parseMemory(r.MemoryReservation, "/resources/memory_reservation"); err != nil {
			return err
		}
	}
	if rp := s.RestartPolicy; rp != nil {
		switch rp.Condition {
		case "", "none", "on-failure", "any":
		default:
			return pluginapi.Invalid("/restart_policy/condition", "condition must be none, on-failure or any, not %q", rp.Condition)
		}
		if _, err := parseDuration(rp.Delay, "/restart_policy/delay"); err != nil {
			return err
		}
		if _, err := parseDuration(rp.Window, "/restart_policy/window"); err != nil {
			return err
		}
		if rp.MaxAttempts != nil && *rp.MaxAttempts < 0 {
			return pluginapi.Invalid("/restart_policy/max_attempts", "max_attempts must be 0 or more")
		}
	}
	for i, p := range s.Ports {
		f := fmt.Sprintf("/ports/%d", i)
		if p.Target < 1 || p.Target > 65535 {
			return pluginapi.Invalid(f+"/target", "target port must be between 1 and 65535")
		}
		if p.Published < 0 || p.Published > 65535 {
			return pluginapi.Invalid(f+"/published", "published port must be between 0 and 65535")
		}
		switch p.Protocol {
		case "", "tcp", "udp", "sctp":
		default:
			return pluginapi.Invalid(f+"/protocol", "protocol must be tcp, udp or sctp, not %q", p.Protocol)
		}
		switch p.Mode {
		case "", "ingress", "host":
		default:
			return pluginapi.Invalid(f+"/mode", "mode must be ingress or host, not %q", p.Mode)
		}
	}
	switch s.EndpointMode {
	case "", "vip", "dnsrr":
	default:
		return pluginapi.Invalid("/endpoint_mode", "endpoint_mode must be vip or dnsrr, not %q", s.EndpointMode)
	}
	for _, c := range []struct {
		name string
		uc   *UpdateConfig
	}{{"update_config", s.UpdateConfig}, {"rollback_config", s.RollbackConfig}} {
		name, uc := c.name, c.uc
		if uc == nil {
			continue
		}
		f := "/" + name
		if uc.Parallelism != nil && *uc.Parallelism < 0 {
			return pluginapi.Invalid(f+"/parallelism", "parallelism must be 0 (all at once) or more")
		}
		if _, err := parseDuration(uc.Delay, f+"/delay"); err != nil {
			return err
		}
		if _, err := parseDuration(uc.Monitor, f+"/monitor"); err != nil {
			return err
		}
		switch uc.FailureAction {
		case "", "pause", "continue":
		case "rollback":
			if name == "rollback_config" {
				return pluginapi.Invalid(f+"/failure_action", "a rollback cannot itself roll back: use pause or continue")
			}
		default:
			return pluginapi.Invalid(f+"/failure_action", "failure_action must be pause, continue or rollback, not %q", uc.FailureAction)
		}
		if r := uc.MaxFailureRatio; r != nil && (*r < 0 || *r > 1) {
			return pluginapi.Invalid(f+"/max_failure_ratio", "max_failure_ratio must be between 0 and 1")
		}
		switch uc.Order {
		case "", "stop-first", "start-first":
		default:
			return pluginapi.Invalid(f+"/order", "order must be stop-first or start-first, not %q", uc.Order)
		}
	}
	if s.LogDriver != nil && s.LogDriver.Name == "" {
		return pluginapi.Invalid("/log_driver/name", "log_driver needs a name")
	}
	return nil
}

// parseDuration reads a Go duration such as "10s" or "1m30s"; "" is zero.
func parseDuration(v, field string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, pluginapi.Invalid(field, "%q is not a duration such as 500ms, 10s or 1m30s", v)
	}
	return d, nil
}

// parseMemory reads bytes with an optional binary unit: "512M", "1.5G", "1GiB", "1048576".
func parseMemory(v, field string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	m := memoryPattern.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, pluginapi.Invalid(field, "%q is not a memory size such as 512M or 1G", v)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(m[2])]
	return int64(n * mult), nil
}

// formatMemory writes bytes with the largest binary unit that divides them.
func formatMemory(b int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(b/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

func formatDuration(d time.Duration) string { return d.String() }

func nanoCPUs(cpus float64) int64 { return int64(math.Round(cpus * 1e9)) }

// toServiceSpec maps the friendly spec onto a ServiceSpec the way docker-py
// builds one. With a base (the current spec, for an update) everything the
// friendly spec does not cover is kept: mounts, secrets, health checks,
// placement preferences, ForceUpdate, the plugin's own labels.
func (s *Spec) toServiceSpec(base *swarm.ServiceSpec) (swarm.ServiceSpec, error) {
	var out swarm.ServiceSpec
	if base != nil {
		out = cloneSpec(*base)
		if out.Name != s.Name {
			return out, pluginapi.Invalid("/name", "a Docker service cannot be renamed (from %q to %q)", out.Name, s.Name)
		}
	}
	out.Name = s.Name

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
	cs := tt.ContainerSpec
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
	cs.TTY = s.TTY

	if r := s.Resources; r != nil {
		if tt.Resources == nil {
			tt.Resources = &swarm.ResourceRequirements{}
		}
		if tt.Resources.Limits == nil {
			tt.Resources.Limits = &swarm.Limit{}
		}
		if tt.Resources.Reservations == nil {
			tt.Resources.Reservations = &swarm.Resources{}
		}
		tt.Resources.Limits.NanoCPUs = nanoCPUs(r.CPULimit)
		tt.Resources.Limits.MemoryBytes, _ = parseMemory(r.MemoryLimit, "")
		tt.Resources.Reservations.NanoCPUs = nanoCPUs(r.CPUReservation)
		tt.Resources.Reservations.MemoryBytes, _ = parseMemory(r.MemoryReservation, "")
	} else if tt.Resources != nil {
		if tt.Resources.Limits != nil {
			tt.Resources.Limits.NanoCPUs, tt.Resources.Limits.MemoryBytes = 0, 0
		}
		if tt.Resources.Reservations != nil {
			tt.Resources.Reservations.NanoCPUs, tt.Resources.Reservations.MemoryBytes = 0, 0
		}
	}

	tt.RestartPolicy = nil
	if rp := s.RestartPolicy; rp != nil {
		p := &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(rp.Condition)}
		if rp.Delay != "" {
			d, _ := parseDuration(rp.Delay, "")
			p.Delay = &d
		}
		if rp.Window != "" {
			d, _ := parseDuration(rp.Window, "")
			p.Window = &d
		}
		if rp.MaxAttempts != nil {
			n := uint64(*rp.MaxAttempts)
			p.MaxAttempts = &n
		}
		tt.RestartPolicy = p
	}

	if len(s.Constraints) > 0 || tt.Placement != nil {
		if tt.Placement == nil {
			tt.Placement = &swarm.Placement{}
		}
		tt.Placement.Constraints = s.Constraints
	}

	// Networks go in the task template (docker-py since API 1.25); the
	// deprecated service-level list is folded in, as the docker CLI does.
	//lint:ignore SA1019 the deprecated list is read to fold it in, and cleared
	old := append(append([]swarm.NetworkAttachmentConfig(nil), tt.Networks...), out.Networks...)
	//lint:ignore SA1019 cleared: the task template holds the networks
	out.Networks = nil
	tt.Networks = nil
	for _, n := range s.Networks {
		att := swarm.NetworkAttachmentConfig{Target: n}
		for _, o := range old {
			if o.Target == n {
				att = o // keep aliases and driver options
			}
		}
		tt.Networks = append(tt.Networks, att)
	}

	tt.LogDriver = nil
	if ld := s.LogDriver; ld != nil {
		tt.LogDriver = &swarm.Driver{Name: ld.Name, Options: ld.Options}
	}

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
	case modeReplicated:
		out.Mode = swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: replicas()}}
	case modeGlobal:
		out.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
	case modeReplicatedJob:
		job := &swarm.ReplicatedJob{TotalCompletions: replicas()}
		if s.MaxConcurrent != nil {
			n := uint64(*s.MaxConcurrent)
			job.MaxConcurrent = &n
		}
		out.Mode = swarm.ServiceMode{ReplicatedJob: job}
	case modeGlobalJob:
		out.Mode = swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	}

	out.UpdateConfig = s.UpdateConfig.toSwarm()
	out.RollbackConfig = s.RollbackConfig.toSwarm()

	out.EndpointSpec = nil
	if len(s.Ports) > 0 || s.EndpointMode != "" {
		es := &swarm.EndpointSpec{Mode: swarm.ResolutionMode(s.EndpointMode)}
		for _, p := range s.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = "tcp" // docker-py's default
			}
			es.Ports = append(es.Ports, swarm.PortConfig{
				Protocol:      swarm.PortConfigProtocol(proto),
				TargetPort:    uint32(p.Target),
				PublishedPort: uint32(p.Published),
				PublishMode:   swarm.PortConfigPublishMode(p.Mode),
			})
		}
		out.EndpointSpec = es
	}
	return out, nil
}

func (u *UpdateConfig) toSwarm() *swarm.UpdateConfig {
	if u == nil {
		return nil
	}
	out := &swarm.UpdateConfig{Parallelism: 1, FailureAction: u.FailureAction, Order: u.Order}
	if u.Parallelism != nil {
		out.Parallelism = uint64(*u.Parallelism)
	}
	out.Delay, _ = parseDuration(u.Delay, "")
	out.Monitor, _ = parseDuration(u.Monitor, "")
	if u.MaxFailureRatio != nil {
		out.MaxFailureRatio = float32(*u.MaxFailureRatio)
	}
	return out
}

func updateConfigFromSwarm(u *swarm.UpdateConfig) *UpdateConfig {
	if u == nil {
		return nil
	}
	p := int(u.Parallelism)
	out := &UpdateConfig{Parallelism: &p, FailureAction: u.FailureAction, Order: u.Order}
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
		s.TTY = cs.TTY
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
		}
		if res != (Resources{}) {
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
	if tt.Placement != nil {
		s.Constraints = tt.Placement.Constraints
	}
	//lint:ignore SA1019 engines before API 1.44 may still answer the service-level list
	for _, n := range append(append([]swarm.NetworkAttachmentConfig(nil), tt.Networks...), in.Networks...) {
		s.Networks = append(s.Networks, n.Target)
	}
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

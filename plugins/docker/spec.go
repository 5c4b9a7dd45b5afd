package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// Spec is the friendly service spec of the docker plugin: the arguments of
// docker-py's create_service, flattened. Its JSON schema (spec_schema.go)
// checks every field's type, enum, pattern and bounds, and the host
// validates each spec against it before the plugin sees it; check keeps
// only the rules that span fields.
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
	Groups          []string          `json:"groups,omitempty"`
	TTY             bool              `json:"tty,omitempty"`
	Hostname        string            `json:"hostname,omitempty"`
	ReadOnly        bool              `json:"read_only,omitempty"`
	Init            *bool             `json:"init,omitempty"`
	StopSignal      string            `json:"stop_signal,omitempty"`
	StopGracePeriod string            `json:"stop_grace_period,omitempty"`
	Healthcheck     *Healthcheck      `json:"healthcheck,omitempty"`
	Mounts          []Mount           `json:"mounts,omitempty"`
	Secrets         []FileRef         `json:"secrets,omitempty"`
	Configs         []FileRef         `json:"configs,omitempty"`
	DNSConfig       *DNSConfig        `json:"dns_config,omitempty"`
	Hosts           []string          `json:"hosts,omitempty"`
	CapAdd          []string          `json:"cap_add,omitempty"`
	CapDrop         []string          `json:"cap_drop,omitempty"`
	Sysctls         map[string]string `json:"sysctls,omitempty"`
	Ulimits         []Ulimit          `json:"ulimits,omitempty"`
	Isolation       string            `json:"isolation,omitempty"`
	Mode            string            `json:"mode,omitempty"`
	Replicas        *int              `json:"replicas,omitempty"`
	MaxConcurrent   *int              `json:"max_concurrent,omitempty"`
	Resources       *Resources        `json:"resources,omitempty"`
	RestartPolicy   *RestartPolicy    `json:"restart_policy,omitempty"`
	Constraints     []string          `json:"constraints,omitempty"`
	Preferences     []Preference      `json:"placement_preferences,omitempty"`
	MaxPerNode      int               `json:"max_replicas_per_node,omitempty"`
	Platforms       []Platform        `json:"platforms,omitempty"`
	Networks        []Network         `json:"networks,omitempty"`
	Ports           []Port            `json:"ports,omitempty"`
	EndpointMode    string            `json:"endpoint_mode,omitempty"`
	UpdateConfig    *UpdateConfig     `json:"update_config,omitempty"`
	RollbackConfig  *UpdateConfig     `json:"rollback_config,omitempty"`
	LogDriver       *LogDriver        `json:"log_driver,omitempty"`
}

// Resources are CPU (in cores) and memory (bytes with an optional binary
// unit: "512M", "1G") limits and reservations, and the generic resources
// (GPUs, ...) a node must offer.
type Resources struct {
	CPULimit          float64           `json:"cpu_limit,omitempty"`
	MemoryLimit       string            `json:"memory_limit,omitempty"`
	CPUReservation    float64           `json:"cpu_reservation,omitempty"`
	MemoryReservation string            `json:"memory_reservation,omitempty"`
	Generic           []GenericResource `json:"generic_resources,omitempty"`
}

// empty says nothing is set.
func (r *Resources) empty() bool {
	return r.CPULimit == 0 && r.MemoryLimit == "" && r.CPUReservation == 0 && r.MemoryReservation == "" && len(r.Generic) == 0
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

// decodeSpec parses a friendly spec and checks its cross-field rules.
// Errors name the field.
func decodeSpec(raw json.RawMessage) (*Spec, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, pluginapi.Invalid("", "the spec is missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	s := new(Spec)
	if err := dec.Decode(s); err != nil {
		if pe := pluginapi.AsError(err); pe != nil && pe.Field != "" {
			return nil, pe // a member's own decoder (networks) named it
		}
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

// check enforces what the schema cannot say: rules between fields. Types,
// enums, patterns and bounds are the schema's.
func (s *Spec) check() error {
	if s.Replicas != nil && (s.Mode == modeGlobal || s.Mode == modeGlobalJob) {
		return pluginapi.Invalid("/replicas", "replicas is only for replicated and replicated-job modes")
	}
	if s.MaxConcurrent != nil && s.Mode != modeReplicatedJob {
		return pluginapi.Invalid("/max_concurrent", "max_concurrent is for replicated-job mode only")
	}
	if s.MaxPerNode != 0 && s.Mode != "" && s.Mode != modeReplicated {
		return pluginapi.Invalid("/max_replicas_per_node", "max_replicas_per_node is for replicated mode only")
	}
	if uc := s.RollbackConfig; uc != nil && uc.FailureAction == "rollback" {
		return pluginapi.Invalid("/rollback_config/failure_action", "a rollback cannot itself roll back: use pause or continue")
	}
	if s.EndpointMode == "dnsrr" {
		for i, p := range s.Ports {
			if p.Mode == "" || p.Mode == "ingress" {
				return pluginapi.Invalid(fmt.Sprintf("/ports/%d/mode", i), "a dnsrr service cannot publish ingress ports: use mode host")
			}
		}
	}
	if err := s.Healthcheck.check(); err != nil {
		return err
	}
	for i := range s.Mounts {
		if err := s.Mounts[i].check(fmt.Sprintf("/mounts/%d", i)); err != nil {
			return err
		}
	}
	if err := uniqueTargets(s.Mounts); err != nil {
		return err
	}
	for _, refs := range []struct {
		field string
		list  []FileRef
	}{{"secrets", s.Secrets}, {"configs", s.Configs}} {
		if err := checkFileRefs(refs.field, refs.list); err != nil {
			return err
		}
	}
	return checkUlimits(s.Ulimits)
}

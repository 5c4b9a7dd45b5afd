package pluginapi

import (
	"encoding/json"
	"time"
)

// Status is the normalized state of a service, the same on every platform.
type Status string

// The normalized statuses.
const (
	StatusPending   Status = "pending"   // accepted, nothing running yet
	StatusDeploying Status = "deploying" // first rollout in progress
	StatusRunning   Status = "running"   // settled and serving
	StatusUpdating  Status = "updating"  // a change or rollback is rolling out
	StatusStopped   Status = "stopped"   // deliberately not running (scaled to zero, stopped)
	StatusFailed    Status = "failed"    // the platform gave up
	StatusDeleting  Status = "deleting"  // removal in progress
	StatusUnknown   Status = "unknown"   // the platform said something we cannot map
)

// Statuses lists every normalized status.
var Statuses = []Status{StatusPending, StatusDeploying, StatusRunning, StatusUpdating,
	StatusStopped, StatusFailed, StatusDeleting, StatusUnknown}

// Settled reports whether s is not expected to change on its own.
func (s Status) Settled() bool {
	switch s {
	case StatusRunning, StatusStopped, StatusFailed, StatusUnknown:
		return true
	}
	return false
}

// Service is the normalized view of one service on any platform.
type Service struct {
	// ID identifies the service within its connection; it is what "get",
	// "update" and friends take. It may equal Name on platforms keyed by name.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Status is normalized; NativeStatus is the platform's own word for it.
	Status        Status `json:"status"`
	NativeStatus  string `json:"native_status,omitempty"`
	StatusMessage string `json:"status_message,omitempty"`
	// Desired and Running count instances (replicas, tasks, containers).
	// Nil means the platform does not say.
	Desired *int `json:"desired,omitempty"`
	Running *int `json:"running,omitempty"`
	// Image is the main image, model version or artifact the service runs.
	Image     string            `json:"image,omitempty"`
	Endpoints []Endpoint        `json:"endpoints,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt *time.Time        `json:"created_at,omitempty"`
	UpdatedAt *time.Time        `json:"updated_at,omitempty"`
	// Version is an opaque token for optimistic concurrency: pass it back in
	// UpdateRequest.Version and a concurrent change is reported as a conflict.
	Version string `json:"version,omitempty"`
	// Rollout describes the latest change being rolled out, if the platform
	// reports one (Docker UpdateStatus, ECS deployments).
	Rollout *Rollout `json:"rollout,omitempty"`
	// ActionsAvailable (ABI 1.5) names the declared lifecycle actions that
	// apply to the service as it is now (a running service: no start). Nil
	// (absent) means the plugin does not say: every declared action may
	// apply. Empty but not nil (written []) means none applies. omitzero
	// keeps the two apart on the wire.
	ActionsAvailable []string `json:"actions_available,omitzero"`
	// Spec is the service's current spec in the plugin's spec schema, so
	// that an edit form can start from it.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Raw is the platform's own object, unchanged.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Rollout is the state of the latest change to a service.
type Rollout struct {
	State       string     `json:"state"` // the platform's word: updating, completed, rollback_started, IN_PROGRESS ...
	Message     string     `json:"message,omitempty"`
	Rollback    bool       `json:"rollback,omitempty"` // this rollout is a rollback
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Endpoint is a way to reach a service.
type Endpoint struct {
	URL      string `json:"url,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Port     int    `json:"port,omitempty"`      // the port the service listens on
	Public   int    `json:"published,omitempty"` // the port published outside, if any
}

// Instance is one running unit of a service: a task, a container, a pod.
type Instance struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// ServiceID and ServiceName (ABI 1.3) name the instance's service; a
	// connection-wide listing sets them.
	ServiceID    string          `json:"service_id,omitempty"`
	ServiceName  string          `json:"service_name,omitempty"`
	Status       Status          `json:"status"`
	NativeStatus string          `json:"native_status,omitempty"`
	DesiredState string          `json:"desired_state,omitempty"`
	Message      string          `json:"message,omitempty"`
	Node         string          `json:"node,omitempty"`
	Slot         int             `json:"slot,omitempty"`
	Image        string          `json:"image,omitempty"`
	CreatedAt    *time.Time      `json:"created_at,omitempty"`
	UpdatedAt    *time.Time      `json:"updated_at,omitempty"`
	Raw          json.RawMessage `json:"raw,omitempty"`
}

// Deployment is one entry of a service's rollout history.
type Deployment struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"` // the platform's own word (SUCCESSFUL, IN_PROGRESS ...)
	StatusReason string          `json:"status_reason,omitempty"`
	Rollback     bool            `json:"rollback,omitempty"`
	Target       string          `json:"target,omitempty"` // revision, task definition or image deployed
	CreatedAt    *time.Time      `json:"created_at,omitempty"`
	StartedAt    *time.Time      `json:"started_at,omitempty"`
	FinishedAt   *time.Time      `json:"finished_at,omitempty"`
	Raw          json.RawMessage `json:"raw,omitempty"`
}

// LogEntry is one line of a service's output.
type LogEntry struct {
	Time     *time.Time `json:"time,omitempty"`
	Stream   string     `json:"stream,omitempty"` // stdout, stderr, or "" when unknown
	Instance string     `json:"instance,omitempty"`
	Message  string     `json:"message"`
	// Details are key/values the platform attaches (docker "details").
	Details map[string]string `json:"details,omitempty"`
}

// Int returns a pointer to n, for Service.Desired and Running.
func Int(n int) *int { return &n }

// Time returns a pointer to t, or nil for the zero time.
func Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ActionAvailable reports whether the declared action name applies to s
// now: true when the plugin gives no ActionsAvailable hint.
func (s *Service) ActionAvailable(name string) bool {
	if s.ActionsAvailable == nil {
		return true
	}
	for _, a := range s.ActionsAvailable {
		if a == name {
			return true
		}
	}
	return false
}

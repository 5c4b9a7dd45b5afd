package pluginapi

import "encoding/json"

// Operation names: the exports a plugin may have. The required ones must
// all exist; the optional ones are listed in DescribeResponse.Operations when
// the plugin has them.
const (
	OpDescribe    = "describe"
	OpCreate      = "create"
	OpGet         = "get"
	OpUpdate      = "update"
	OpDelete      = "delete"
	OpList        = "list"
	OpLogs        = "logs"
	OpLifecycle   = "lifecycle"
	OpInstances   = "instances"
	OpDeployments = "deployments"
	OpInvoke      = "invoke"
)

// RequiredOperations must be exported by every plugin. A plugin whose
// platform lacks one (Peak has no logs) still exports it and answers
// CodeUnsupported, and leaves it out of DescribeResponse.Operations.
var RequiredOperations = []string{OpCreate, OpGet, OpUpdate, OpDelete, OpList, OpLogs, OpLifecycle}

// OptionalOperations may be exported; the host calls them only when the
// plugin lists them in DescribeResponse.Operations.
var OptionalOperations = []string{OpInstances, OpDeployments, OpInvoke, OpChoices}

// Lifecycle action names with a shared meaning. Plugins may declare others.
const (
	ActionStart    = "start"
	ActionStop     = "stop"
	ActionRestart  = "restart"
	ActionScale    = "scale"    // params: {"replicas": N}
	ActionRollback = "rollback" // back to the previous spec or deployment
)

// DescribeResponse is the answer to "describe": who the plugin is and what it
// offers. The host calls it once at load time.
type DescribeResponse struct {
	// Name is the plugin's identifier: lowercase letters, digits and dashes.
	Name string `json:"name"`
	// Version is the plugin's own version (semver recommended).
	Version string `json:"version"`
	// ABIVersion is the pluginapi version the plugin was built for ("1.5").
	ABIVersion string `json:"abi_version"`
	// MinHostVersion (ABI 1.4, optional) is the oldest host ABI version,
	// "major.minor", the plugin can run on: a host speaking an older one
	// refuses it at load, naming both (CheckHostVersion). Empty runs on
	// any host of its major version.
	MinHostVersion string `json:"min_host_version,omitempty"`
	// Title is a human name ("Docker Swarm").
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// ConfigSchema is a JSON Schema (2020-12) for a connection's config.
	// Properties marked "x-secret": true are secrets: the host stores them,
	// never shows them back and never passes them to the plugin. Properties
	// marked "x-endpoint": true hold a base URL (http, https or unix) the
	// plugin may reach through the host; their hosts are allowed for HTTP
	// and are the only destinations that receive credentials. Since ABI 1.2
	// an endpoint may carry a default template (KeyEndpointDefault).
	ConfigSchema json.RawMessage `json:"config_schema"`
	// SpecSchema is a JSON Schema (2020-12) for a service spec, used by the
	// host to validate create and update and by the portal to draw forms.
	SpecSchema json.RawMessage `json:"spec_schema"`
	// Operations lists the operations the plugin really supports, required
	// ones included; optional ones absent here answer "unsupported".
	Operations []string `json:"operations"`
	// Actions lists the lifecycle actions the plugin supports.
	Actions []Action `json:"actions,omitempty"`
	// Hosts are extra host patterns the plugin would like to reach besides
	// the connection's endpoints, such as "status.*.example.com". A "*"
	// matches any run of characters within one DNS label. A pattern is
	// reachable only once an administrator approved it for a connection, and
	// never receives credentials: requests with Auth to it are refused.
	Hosts []string `json:"hosts,omitempty"`
	// ListFilters names the filter keys the plugin understands in "list".
	ListFilters []string `json:"list_filters,omitempty"`
	// Logs says which log options the plugin honours.
	Logs *LogsCapabilities `json:"logs,omitempty"`
	// Get (ABI 1.3) says which get options the plugin honours.
	Get *GetCapabilities `json:"get,omitempty"`
	// Instances (ABI 1.3) says which instance filters and listings the
	// plugin offers, when it offers "instances".
	Instances *InstancesCapabilities `json:"instances,omitempty"`
}

// GetCapabilities (ABI 1.3) says which GetRequest options a plugin honours.
// The host refuses an option a plugin does not declare (unsupported), so
// no caller is silently answered without it.
type GetCapabilities struct {
	// InsertDefaults: the plugin can answer with the platform's defaults
	// filled in (GetRequest.InsertDefaults).
	InsertDefaults bool `json:"insert_defaults,omitempty"`
}

// InstancesCapabilities (ABI 1.3) describes a plugin's "instances".
type InstancesCapabilities struct {
	// Filters names the filter keys the plugin understands in "instances";
	// the host refuses other keys (invalid) before calling the plugin.
	Filters []string `json:"filters,omitempty"`
	// All: the plugin lists every service's instances of a connection when
	// InstancesRequest.ID is empty, paged with PageSize and PageToken, and
	// fills in Instance.ServiceID and ServiceName.
	All bool `json:"all,omitempty"`
}

// Action describes one lifecycle action.
type Action struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// ParamsSchema is a JSON Schema for the action's params, if any.
	ParamsSchema json.RawMessage `json:"params_schema,omitempty"`
	// Dangerous asks the UI to confirm before running the action.
	Dangerous bool `json:"dangerous,omitempty"`
}

// LogsCapabilities says which LogsRequest fields a plugin honours.
type LogsCapabilities struct {
	Since      bool `json:"since,omitempty"`
	Tail       bool `json:"tail,omitempty"`
	Streams    bool `json:"streams,omitempty"` // stdout/stderr selection
	Timestamps bool `json:"timestamps,omitempty"`
	Details    bool `json:"details,omitempty"`
	// Until (ABI 1.3): LogsRequest.Until is honoured. The host refuses a
	// request with until to a plugin that does not declare it.
	Until bool `json:"until,omitempty"`
	// Backward (ABI 1.3): answers carry CursorBackward and LogsRequest.Before
	// pages into the past without losing or repeating lines. The host
	// refuses before to a plugin that does not declare it.
	Backward bool `json:"backward,omitempty"`
	// PollIntervalMS is how often the host should poll when following.
	PollIntervalMS int `json:"poll_interval_ms,omitempty"`
}

// Supports reports whether op is listed in d.Operations.
func (d *DescribeResponse) Supports(op string) bool {
	for _, o := range d.Operations {
		if o == op {
			return true
		}
	}
	return false
}

// Action returns the declared action called name.
func (d *DescribeResponse) Action(name string) (Action, bool) {
	for _, a := range d.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// KeyEndpointDefault (ABI 1.2) is the config schema annotation of an
// "x-endpoint" property giving its value when the connection leaves it
// empty, as a template such as "https://ecs.{region}.amazonaws.com". The
// host fills each "{name}" from the connection's non-secret config value
// name, which must be one DNS label (letters, digits, inner dashes), so
// that no value can move the URL to another host. The filled-in URL is that
// endpoint's value: credentials may go to it.
const KeyEndpointDefault = "x-endpoint-default"

// KeyEndpointSchemes (ABI 1.3) is the config schema annotation of an
// "x-endpoint" property naming schemes of the platform's own (Docker's
// tcp://) and what each stands for: {"tcp": {"scheme": "http", "port":
// 2375}} makes the host read tcp://engine as http://engine:2375 and
// tcp://engine:1234 as http://engine:1234. The host itself knows only
// http://, https:// and unix://.
const KeyEndpointSchemes = "x-endpoint-schemes"

package pluginapi

import (
	"encoding/json"
	"time"
)

// Every export takes one JSON object and returns one. Every request carries
// Config, the connection's configuration with secret fields removed (the
// host adds them to outgoing HTTP itself). Every response may carry Error
// instead of its result; a response with a non-nil Error is a failure and
// its other fields are ignored.

// Request is embedded in every request.
type Request struct {
	// Connection is the name of the connection the call is made for.
	Connection string `json:"connection"`
	// Config is the connection's config without secret fields.
	Config json.RawMessage `json:"config"`
}

// Response is embedded in every response.
type Response struct {
	Error *Error `json:"error,omitempty"`
}

// Err returns the response's error as a Go error, or nil.
func (r *Response) Err() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// DescribeRequest is the input of "describe". It carries no config: describe
// answers the same for every connection.
type DescribeRequest struct{}

// CreateRequest asks for a new service. Spec has been validated by the host
// against the plugin's SpecSchema.
type CreateRequest struct {
	Request
	Spec json.RawMessage `json:"spec"`
}

// ServiceResponse answers create, get, update, delete and lifecycle. Delete
// and slow operations may answer with a Service in an in-progress status
// (deleting, updating); the host polls "get" to follow it. Delete of a
// service that is already gone answers not_found.
type ServiceResponse struct {
	Response
	Service *Service `json:"service,omitempty"`
	// Warnings are messages the platform attached to an otherwise successful answer.
	Warnings []string `json:"warnings,omitempty"`
}

// GetRequest names a service.
type GetRequest struct {
	Request
	ID string `json:"id"`
	// InsertDefaults (ABI 1.3) asks for the service with the platform's
	// defaults filled in (Docker's inspect with insertDefaults): Raw and Spec
	// show the values the platform would use for what the stored object
	// leaves out. The host sets it only for a plugin that declares
	// GetCapabilities.InsertDefaults; others never see it.
	InsertDefaults bool `json:"insert_defaults,omitempty"`
}

// UpdateRequest replaces a service's spec. Spec is complete (the host merges
// a partial change onto the current spec before calling). Version, when
// set, is the Service.Version the change was based on: a plugin whose
// platform has a newer version answers CodeConflict.
type UpdateRequest struct {
	Request
	ID      string          `json:"id"`
	Spec    json.RawMessage `json:"spec"`
	Version string          `json:"version,omitempty"`
}

// DeleteRequest removes a service. Force asks the platform to remove it even
// while it still runs instances, where the platform makes that distinction.
type DeleteRequest struct {
	Request
	ID    string `json:"id"`
	Force bool   `json:"force,omitempty"`
}

// ListRequest asks for one page of services.
type ListRequest struct {
	Request
	// Filters by key; values within a key are alternatives (OR), keys
	// combine with AND. Common keys: "id", "name", "label" ("k" or "k=v"),
	// "status" (normalized status). Plugins declare what they understand in
	// DescribeResponse.ListFilters and ignore nothing silently: an unknown
	// key is CodeInvalid.
	Filters map[string][]string `json:"filters,omitempty"`
	// PageSize is a hint; 0 means the plugin's default.
	PageSize  int    `json:"page_size,omitempty"`
	PageToken string `json:"page_token,omitempty"`
}

// ListResponse is one page of services. An empty NextPageToken means last page.
type ListResponse struct {
	Response
	Services      []Service `json:"services"`
	NextPageToken string    `json:"next_page_token,omitempty"`
}

// LogsRequest asks for log lines. A call never waits for new lines: to
// follow, the host calls again with the returned Cursor.
type LogsRequest struct {
	Request
	ID string `json:"id"`
	// Cursor continues after the last entry of a previous answer; when set,
	// Since and Tail are ignored.
	Cursor string `json:"cursor,omitempty"`
	// Since keeps only entries at or after this time.
	Since *time.Time `json:"since,omitempty"`
	// Until (ABI 1.3) keeps only entries at or before this time, with or
	// without a Cursor (the host passes it on every call of a follow). Once
	// every entry up to Until has been returned the answer says End.
	// Honoured only by plugins declaring LogsCapabilities.Until.
	Until *time.Time `json:"until,omitempty"`
	// Before (ABI 1.3) pages into the past: it is the CursorBackward of an
	// earlier answer, and the answer holds the entries just before that
	// position, at most Limit, still oldest first. Cursor, Since, Tail and
	// Until are then ignored; the stream and instance selection should be
	// the one the position came from. Honoured only by plugins declaring
	// LogsCapabilities.Backward.
	Before string `json:"before,omitempty"`
	// Tail keeps only the last N entries; 0 means all.
	Tail int `json:"tail,omitempty"`
	// Stdout and Stderr select streams; both false means both.
	Stdout bool `json:"stdout,omitempty"`
	Stderr bool `json:"stderr,omitempty"`
	// Details asks for platform details on each entry (docker "details").
	Details bool `json:"details,omitempty"`
	// Instance restricts to one instance, where supported.
	Instance string `json:"instance,omitempty"`
	// Limit caps the number of entries in one answer; 0 means the plugin's default.
	Limit int `json:"limit,omitempty"`
}

// LogsResponse carries entries oldest first and the cursor to continue.
type LogsResponse struct {
	Response
	Entries []LogEntry `json:"entries"`
	// Cursor is passed back to continue; it is set even when Entries is empty.
	Cursor string `json:"cursor,omitempty"`
	// More says more entries are ready now: call again without waiting.
	More bool `json:"more,omitempty"`
	// CursorBackward (ABI 1.3) is the position just before this answer's
	// first entry (or, with no entries, before where the answer looked),
	// to pass as Before to read the page before. It is empty when nothing
	// older exists (the beginning of the log) and on answers to a Cursor.
	CursorBackward string `json:"cursor_backward,omitempty"`
	// End (ABI 1.3) says the request had Until and every entry up to it has
	// been returned: nothing will follow, so a follow stops here.
	End bool `json:"end,omitempty"`
}

// LifecycleRequest runs an action declared in DescribeResponse.Actions.
type LifecycleRequest struct {
	Request
	ID     string          `json:"id"`
	Action string          `json:"action"`
	Params json.RawMessage `json:"params,omitempty"`
}

// ScaleParams are the params of ActionScale.
type ScaleParams struct {
	Replicas int `json:"replicas"`
}

// InstancesRequest lists a service's instances, or fetches one by
// InstanceID. Since ABI 1.3 an empty ID lists the instances of every
// service of the connection (Docker's tasks without a service filter),
// sent only to a plugin declaring InstancesCapabilities.All.
type InstancesRequest struct {
	Request
	ID         string `json:"id"`
	InstanceID string `json:"instance_id,omitempty"`
	// Filters by key, values OR, keys AND, as in ListRequest. Common keys:
	// "desired_state" (the platform's word), "node", "name", "id", "label".
	// The host sends only keys the plugin declares in
	// InstancesCapabilities.Filters; a plugin refuses any other key with
	// CodeInvalid (field "/filters/<key>") rather than ignore it.
	Filters map[string][]string `json:"filters,omitempty"`
	// Services (ABI 1.3, with an empty ID only) keeps the instances of these
	// services, by id or name; empty means every service.
	Services []string `json:"services,omitempty"`
	// PageSize and PageToken (ABI 1.3, with an empty ID only) page a
	// connection-wide listing: PageSize is a hint, 0 the plugin's default.
	PageSize  int    `json:"page_size,omitempty"`
	PageToken string `json:"page_token,omitempty"`
}

// InstancesResponse lists instances.
type InstancesResponse struct {
	Response
	Instances []Instance `json:"instances"`
	// NextPageToken (ABI 1.3) continues a connection-wide listing; empty
	// means the last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// DeploymentsRequest lists a service's rollout history, or fetches one by DeploymentID.
type DeploymentsRequest struct {
	Request
	ID            string     `json:"id"`
	DeploymentID  string     `json:"deployment_id,omitempty"`
	Status        []string   `json:"status,omitempty"` // platform status words
	CreatedAfter  *time.Time `json:"created_after,omitempty"`
	CreatedBefore *time.Time `json:"created_before,omitempty"`
	PageSize      int        `json:"page_size,omitempty"`
	PageToken     string     `json:"page_token,omitempty"`
}

// DeploymentsResponse is one page of deployments, newest first.
type DeploymentsResponse struct {
	Response
	Deployments   []Deployment `json:"deployments"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// InvokeRequest sends a request to the running service itself.
type InvokeRequest struct {
	Request
	ID          string            `json:"id"`
	Method      string            `json:"method,omitempty"`
	Path        string            `json:"path,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	// Body is the raw request body (base64 in JSON).
	Body []byte `json:"body,omitempty"`
}

// InvokeResponse is the service's answer.
type InvokeResponse struct {
	Response
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	// Duration is how long the service took, if the platform says.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

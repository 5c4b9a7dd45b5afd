package ops

import (
	"encoding/json"
	"time"

	"github.com/wharfhq/wharf/host/access"

	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// Role is what a caller may do; see [access.Role].
type Role = access.Role

// The roles, from least to most powerful; each includes the ones before.
const (
	// RoleViewer reads: connections (secrets redacted), services, logs,
	// instances, deployments, the audit log of what it may read.
	RoleViewer = access.Viewer
	// RoleOperator also changes services: create, update, delete, actions, invoke.
	RoleOperator = access.Operator
	// RoleAdmin also manages connections.
	RoleAdmin = access.Admin
	// RoleOwner holds the host-wide powers: bindings, users, other people's
	// tokens, the whole audit log. It is granted on everything or not at all.
	RoleOwner = access.Owner
)

// Token is an API token as configured: its secret is kept only as the hex
// SHA-256 of the bearer string.
type Token struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Role   Role   `json:"role"`
	// Scope limits the role to some connections; nil means everything.
	// An owner token's scope must be everything.
	Scope *access.Scope `json:"scope,omitempty"`
}

// Caller is who asks for an operation; it is recorded in the audit log.
type Caller struct {
	Actor string
	// Rights is what the caller may do where. When nil, Role stands for
	// Role on every connection (a shorthand for tests and embedders).
	Rights access.Rights
	Role   Role
	// Auth says how the caller authenticated ("token:ci", "session:oidc:corp",
	// "pat:tok_…", "open"); it is recorded in the audit log.
	Auth string
	// UserID is the identity store's user behind the caller, if any;
	// TokenID the managed token, SessionID the session in use.
	UserID, TokenID, SessionID string
	ClientAddr                 string
	RequestID                  string
}

// PluginInfo describes a loaded plugin.
type PluginInfo struct {
	Name     string                     `json:"name"`
	Title    string                     `json:"title"`
	Version  string                     `json:"version"`
	Digest   string                     `json:"digest"` // sha256 hex of the wasm
	Path     string                     `json:"path"`
	Hosts    []string                   `json:"hosts"` // host patterns it declares; each connection reaches only those approved for it, without credentials
	Describe pluginapi.DescribeResponse `json:"describe"`
	// Signature is what the host's signature check found at load: trusted
	// or not, the signer's key and signed comment, or the problem.
	Signature plugintrust.Verdict `json:"signature"`
	// LoadedAt is when this version was loaded (at start or swapped in).
	LoadedAt time.Time `json:"loaded_at"`
	// Problem, if set, is why a newer file of this plugin was not swapped
	// in: this version still serves.
	Problem *PluginProblem `json:"problem,omitempty"`
	// FailurePolicy is when the plugin's connections are fenced (its
	// manifest's, else the host's); FailingConnections how many are now.
	FailurePolicy      FailurePolicyView `json:"failure_policy"`
	FailingConnections int               `json:"failing_connections"`
}

// PluginProblem is a plugin file that failed to load or to replace the
// version serving.
type PluginProblem struct {
	File string `json:"file"`
	// Plugin is the plugin the file was, or would have been; "" when the
	// file never got as far as saying.
	Plugin string    `json:"plugin,omitempty"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// PluginChange is what one sync, install or removal of a plugin file did.
type PluginChange struct {
	// Change is installed, replaced, removed or unchanged.
	Change string `json:"change"`
	Plugin string `json:"plugin"`
	File   string `json:"file"`
	// Old* describe the version replaced or removed, New* the one now
	// serving.
	OldVersion string `json:"old_version,omitempty"`
	NewVersion string `json:"new_version,omitempty"`
	OldDigest  string `json:"old_digest,omitempty"`
	NewDigest  string `json:"new_digest,omitempty"`
	// Hosts are the host patterns the new version declares: each
	// connection reaches only those an administrator approved for it.
	Hosts     []string             `json:"hosts,omitempty"`
	Signature *plugintrust.Verdict `json:"signature,omitempty"`
}

// Connection is a stored connection as shown to callers: secret values are
// replaced by "********" and SecretsSet names the secrets that have a value.
type Connection struct {
	Name   string            `json:"name"`
	Plugin string            `json:"plugin"`
	Labels map[string]string `json:"labels"`
	// Role is the asking caller's role on the connection.
	Role       Role            `json:"role,omitempty"`
	Config     json.RawMessage `json:"config"`
	SecretsSet []string        `json:"secrets_set"`
	// Endpoints are the connection's effective endpoints (an empty one
	// filled from the plugin's default): the only places credentials go.
	Endpoints []EndpointView `json:"endpoints"`
	// ApprovedHosts are the plugin's declared host patterns an administrator
	// approved for this connection: reachable, never with credentials.
	ApprovedHosts []string `json:"approved_hosts"`
	// PendingHosts are the plugin's declared patterns not approved: not reachable.
	PendingHosts []string  `json:"pending_hosts"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// SecretsDropped, in the answer to an update, names the stored secrets
	// that were dropped because an endpoint changed.
	SecretsDropped []string `json:"secrets_dropped,omitempty"`
	// Problem says why the connection cannot be used, e.g. its plugin is
	// not loaded (then Config is hidden: secrets cannot be told apart).
	Problem string `json:"problem,omitempty"`
	// PluginMissing says the connection's plugin is not loaded (its file
	// was removed or failed to load): calls fail with unavailable until it
	// is back.
	PluginMissing bool `json:"plugin_missing,omitempty"`
	// Failing is set while the plugin's calls for this connection fail
	// fast after repeated traps or timeouts (failure policy).
	Failing *Failing `json:"failing,omitempty"`
	// Health is the connection's last check, periodic or a Test, on this
	// replica; absent until the first.
	Health *Health `json:"health,omitempty"`
}

// EndpointView is one effective endpoint of a connection.
type EndpointView struct {
	Field string `json:"field"`
	URL   string `json:"url"`
	// Default is set when the config leaves the field empty and the URL
	// comes from the plugin's "x-endpoint-default" template.
	Default bool `json:"default,omitempty"`
}

// ConnectionInput creates or replaces a connection.
type ConnectionInput struct {
	Name   string          `json:"name"`
	Plugin string          `json:"plugin"`
	Config json.RawMessage `json:"config"`
	// Labels (team=payments) let role bindings select the connection.
	// Absent (nil) on update keeps the stored labels; {} removes them.
	Labels map[string]string `json:"labels,omitempty"`
	// ApprovedHosts are the plugin's declared host patterns the plugin may
	// reach for this connection (without credentials). Each must be one the
	// plugin declares. Absent (nil) on update keeps the stored approvals;
	// an empty list removes them.
	ApprovedHosts []string `json:"approved_hosts,omitempty"`
	// KeepSecrets, on update, keeps the stored secrets even though an
	// endpoint changes. Without it, a changed endpoint drops every stored
	// secret the input does not send again, so a new destination never
	// receives the old credentials.
	KeepSecrets bool `json:"keep_secrets,omitempty"`
	// Version, on update, is the version the change was based on: a stale
	// one is a conflict. 0 means "whatever is stored".
	Version int64 `json:"version,omitempty"`
}

// Redacted is how secret values are shown; sent back on update, it keeps
// the stored value.
const Redacted = schema.Masked

// TestResult is the answer of TestConnection: whether a one-item "list" worked.
type TestResult struct {
	OK         bool             `json:"ok"`
	Error      *pluginapi.Error `json:"error,omitempty"`
	DurationMS int64            `json:"duration_ms"`
}

// ListOptions selects a page of one connection's services.
type ListOptions struct {
	// Filters by key (values OR, keys AND), passed to the plugin, which
	// refuses keys it does not know (see DescribeResponse.ListFilters).
	Filters   map[string][]string
	PageSize  int
	PageToken string
}

// ServicePage is one page of a connection's services.
type ServicePage struct {
	Services      []pluginapi.Service `json:"services"`
	NextPageToken string              `json:"next_page_token,omitempty"`
}

// ListAllOptions selects services across connections (the portal's list).
// Filters are applied by the host on the merged result.
type ListAllOptions struct {
	// Name keeps services whose name or id contains it, case-insensitively.
	Name string
	// Plugins, Connections and Statuses keep services matching any value;
	// empty means all.
	Plugins     []string
	Connections []string
	Statuses    []pluginapi.Status
	// PageSize defaults to 50 (max 500); PageToken comes from a previous page.
	PageSize  int
	PageToken string
	// Sort is one of SortKeys (name when empty); Desc reverses it. Ties
	// are broken by name, connection and id, so pages are stable.
	Sort string
	Desc bool
	// Refs, when set, keeps only these services (at most 500): the rows a
	// page already shows, refreshed.
	Refs []ServiceRef
}

// ServiceRef names one service of one connection.
type ServiceRef struct {
	Connection string `json:"connection"`
	ID         string `json:"id"`
}

// ConnectionSummary counts one connection's services, after the name,
// plugin and connection filters but before the status and Refs filters.
type ConnectionSummary struct {
	Connection string `json:"connection"`
	Plugin     string `json:"plugin"`
	Total      int    `json:"total"`
	Running    int    `json:"running"`
	// Updating counts the services whose status is one of InProgress.
	Updating int `json:"updating"`
	Failed   int `json:"failed"`
}

// ConnService is a service with the connection it lives in.
type ConnService struct {
	Connection string `json:"connection"`
	Plugin     string `json:"plugin"`
	pluginapi.Service
}

// ConnectionError is one connection's failure during ListAllServices.
type ConnectionError struct {
	Connection string           `json:"connection"`
	Plugin     string           `json:"plugin"`
	Error      *pluginapi.Error `json:"error"`
}

// AllServicesPage is a page of the merged, sorted service list.
type AllServicesPage struct {
	Services []ConnService `json:"services"`
	// Total counts the matching services of all pages.
	Total         int    `json:"total"`
	NextPageToken string `json:"next_page_token,omitempty"`
	// Errors lists the connections that could not be listed; the others still are.
	Errors []ConnectionError `json:"errors,omitempty"`
	// Summary counts the services of each connection listed, by name.
	Summary []ConnectionSummary `json:"summary"`
}

// GetOptions select how a service is read (GetServiceWith).
type GetOptions struct {
	// InsertDefaults asks for the platform's defaults filled in; only for
	// plugins that declare it.
	InsertDefaults bool
}

// InstancesOptions select a service's instances (ListInstancesWith).
type InstancesOptions struct {
	// Filters by key (values OR, keys AND); only keys the plugin declares
	// in DescribeResponse.Instances.Filters.
	Filters map[string][]string
}

// ConnectionInstancesOptions select a page of the instances of a
// connection's services (ListConnectionInstances).
type ConnectionInstancesOptions struct {
	// Services keeps the instances of these services (ids or names); empty
	// means every service.
	Services []string
	// Filters as in InstancesOptions.
	Filters map[string][]string
	// PageSize defaults to 100 (max 1000); PageToken comes from a previous page.
	PageSize  int
	PageToken string
}

// InstancePage is one page of a connection's instances.
type InstancePage struct {
	Instances     []pluginapi.Instance `json:"instances"`
	NextPageToken string               `json:"next_page_token,omitempty"`
}

// ServiceResult answers a change to a service. Service may be nil after a
// delete when the platform returns nothing.
type ServiceResult struct {
	Service  *pluginapi.Service `json:"service,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
}

// DeploymentsOptions selects a page of a service's rollout history.
type DeploymentsOptions struct {
	Status        []string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	PageSize      int
	PageToken     string
}

// DeploymentPage is one page of deployments, newest first.
type DeploymentPage struct {
	Deployments   []pluginapi.Deployment `json:"deployments"`
	NextPageToken string                 `json:"next_page_token,omitempty"`
}

// InvokeInput is a request sent to the running service.
type InvokeInput struct {
	Method      string            `json:"method,omitempty"`
	Path        string            `json:"path,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body,omitempty"`
}

// InvokeResult is the service's answer.
type InvokeResult struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	DurationMS  int64             `json:"duration_ms,omitempty"`
}

// LogsOptions selects log entries for a one-shot read.
type LogsOptions struct {
	Since *time.Time
	// Until keeps entries at or before this time (plugins declaring logs.until).
	Until          *time.Time
	Tail           int
	Cursor         string
	Stdout, Stderr bool
	Details        bool
	Instance       string
	Limit          int
	// Before is a LogsPage.CursorBackward: read the page before it
	// (plugins declaring logs.backward).
	Before string
}

// LogsPage is a batch of entries, oldest first, and the cursor to continue.
type LogsPage struct {
	Entries []pluginapi.LogEntry `json:"entries"`
	Cursor  string               `json:"cursor,omitempty"`
	More    bool                 `json:"more,omitempty"`
	// CursorBackward reads the page before this one (as Before); empty
	// at the beginning of the log or when the plugin cannot page back.
	CursorBackward string `json:"cursor_backward,omitempty"`
	// End says every entry up to Until has been returned.
	End bool `json:"end,omitempty"`
}

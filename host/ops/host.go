package ops

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
)

// Config wires a Host to its parts. Plugins, Connections, Audit and Egress
// are required.
type Config struct {
	Plugins     []*runtime.Plugin
	Connections *connstore.Store
	Audit       *audit.Log
	Egress      *egress.Client
	Logger      *slog.Logger
	// Tokens are the accepted API tokens. None means open (local) mode:
	// every caller is an admin, named by the X-Wharf-Actor header or "anonymous".
	Tokens []Token
}

// Host is the operations facade. It is safe for concurrent use.
type Host struct{}

// New checks cfg and compiles every plugin's schemas once.
func New(cfg Config) (*Host, error) { panic("TODO") }

// Close stops the log followers.
func (h *Host) Close() { panic("TODO") }

// Open reports whether the host runs without tokens (local mode).
func (h *Host) Open() bool { panic("TODO") }

// Authenticate turns a bearer token (may be "") and the X-Wharf-Actor
// header (used only in open mode) into a Caller with Actor and Role set;
// the face fills ClientAddr and RequestID. A missing or unknown token is
// CodeUnauthorized.
func (h *Host) Authenticate(bearer, actorHeader string) (Caller, error) { panic("TODO") }

// ListPlugins lists the loaded plugins, sorted by name. Viewer.
func (h *Host) ListPlugins(ctx context.Context, c Caller) ([]PluginInfo, error) { panic("TODO") }

// GetPlugin describes one plugin. Viewer.
func (h *Host) GetPlugin(ctx context.Context, c Caller, name string) (PluginInfo, error) {
	panic("TODO")
}

// ListConnections lists connections sorted by name, secrets redacted. Viewer.
func (h *Host) ListConnections(ctx context.Context, c Caller) ([]Connection, error) {
	panic("TODO")
}

// GetConnection returns one connection, secrets redacted. Viewer.
func (h *Host) GetConnection(ctx context.Context, c Caller, name string) (Connection, error) {
	panic("TODO")
}

// CreateConnection validates in.Config against the plugin's config schema
// (defaults filled) and stores it. Admin; audited with secrets redacted.
func (h *Host) CreateConnection(ctx context.Context, c Caller, in ConnectionInput) (Connection, error) {
	panic("TODO")
}

// UpdateConnection replaces a connection's config. A secret property
// absent from in.Config or sent as Redacted keeps its stored value. The
// plugin cannot be changed. Admin; audited.
func (h *Host) UpdateConnection(ctx context.Context, c Caller, name string, in ConnectionInput) (Connection, error) {
	panic("TODO")
}

// PatchConnection applies a JSON merge patch (RFC 7386) to a connection's
// config (secrets as in UpdateConnection). version 0 means any. Admin; audited.
func (h *Host) PatchConnection(ctx context.Context, c Caller, name string, patch json.RawMessage, version int64) (Connection, error) {
	panic("TODO")
}

// PutConnection creates or replaces a connection (the config file at
// start). Admin; audited.
func (h *Host) PutConnection(ctx context.Context, c Caller, in ConnectionInput) (Connection, error) {
	panic("TODO")
}

// DeleteConnection removes a connection (its services stay on the
// platform). Admin; audited.
func (h *Host) DeleteConnection(ctx context.Context, c Caller, name string) error { panic("TODO") }

// TestConnection makes a "list" call with page size 1. A plugin error is
// reported in the result, not as the error. Viewer.
func (h *Host) TestConnection(ctx context.Context, c Caller, name string) (TestResult, error) {
	panic("TODO")
}

// ListServices lists one page of a connection's services. Viewer.
func (h *Host) ListServices(ctx context.Context, c Caller, conn string, opts ListOptions) (*ServicePage, error) {
	panic("TODO")
}

// ListAllServices lists the services of every connection concurrently,
// filters, sorts by name and pages the merged result. A failing connection
// is reported in Errors. Viewer.
func (h *Host) ListAllServices(ctx context.Context, c Caller, opts ListAllOptions) (*AllServicesPage, error) {
	panic("TODO")
}

// GetService returns one service. Viewer.
func (h *Host) GetService(ctx context.Context, c Caller, conn, id string) (*pluginapi.Service, error) {
	panic("TODO")
}

// ValidateSpec checks a spec against the connection's plugin spec schema
// without calling the plugin (for forms). Viewer.
func (h *Host) ValidateSpec(ctx context.Context, c Caller, conn string, spec json.RawMessage) error {
	panic("TODO")
}

// CreateService validates spec and creates the service. Operator; audited.
func (h *Host) CreateService(ctx context.Context, c Caller, conn string, spec json.RawMessage) (*ServiceResult, error) {
	panic("TODO")
}

// UpdateService replaces a service's spec. version, when set, is the
// Service.Version the change is based on (stale → conflict). Operator; audited.
func (h *Host) UpdateService(ctx context.Context, c Caller, conn, id string, spec json.RawMessage, version string) (*ServiceResult, error) {
	panic("TODO")
}

// PatchService applies a JSON merge patch (RFC 7386) onto the current spec
// and updates with the result. Operator; audited.
func (h *Host) PatchService(ctx context.Context, c Caller, conn, id string, patch json.RawMessage, version string) (*ServiceResult, error) {
	panic("TODO")
}

// DeleteService removes a service; force where the platform distinguishes.
// Operator; audited.
func (h *Host) DeleteService(ctx context.Context, c Caller, conn, id string, force bool) (*ServiceResult, error) {
	panic("TODO")
}

// RunAction runs a lifecycle action declared by the plugin (else
// not_found "unknown action"), params validated against its schema.
// Operator; audited.
func (h *Host) RunAction(ctx context.Context, c Caller, conn, id, action string, params json.RawMessage) (*ServiceResult, error) {
	panic("TODO")
}

// ListInstances lists a service's instances; unsupported when the plugin
// does not offer "instances". Viewer.
func (h *Host) ListInstances(ctx context.Context, c Caller, conn, id string) ([]pluginapi.Instance, error) {
	panic("TODO")
}

// GetInstance returns one instance. Viewer.
func (h *Host) GetInstance(ctx context.Context, c Caller, conn, id, instanceID string) (*pluginapi.Instance, error) {
	panic("TODO")
}

// ListDeployments lists a service's rollout history; unsupported when the
// plugin does not offer "deployments". Viewer.
func (h *Host) ListDeployments(ctx context.Context, c Caller, conn, id string, opts DeploymentsOptions) (*DeploymentPage, error) {
	panic("TODO")
}

// GetDeployment returns one deployment. Viewer.
func (h *Host) GetDeployment(ctx context.Context, c Caller, conn, id, deploymentID string) (*pluginapi.Deployment, error) {
	panic("TODO")
}

// Invoke sends a request to the running service; unsupported when the
// plugin does not offer "invoke". Operator; audited.
func (h *Host) Invoke(ctx context.Context, c Caller, conn, id string, in InvokeInput) (*InvokeResult, error) {
	panic("TODO")
}

// Logs reads log entries once. Viewer.
func (h *Host) Logs(ctx context.Context, c Caller, conn, id string, opts LogsOptions) (*LogsPage, error) {
	panic("TODO")
}

// FollowLogs subscribes to a service's logs through the shared follower
// (see host/logfanout) until ctx ends or the subscription is closed. Viewer.
func (h *Host) FollowLogs(ctx context.Context, c Caller, conn, id string, opts logfanout.Options) (*logfanout.Subscription, error) {
	panic("TODO")
}

// QueryAudit lists audit entries. Viewer.
func (h *Host) QueryAudit(ctx context.Context, c Caller, f audit.Filter) ([]audit.Entry, error) {
	panic("TODO")
}

// ExportAudit streams audit entries as "jsonl" or "csv" to w. Viewer.
func (h *Host) ExportAudit(ctx context.Context, c Caller, f audit.Filter, format string, w io.Writer) error {
	panic("TODO")
}

// VerifyAudit checks the audit log's integrity. Viewer.
func (h *Host) VerifyAudit(ctx context.Context, c Caller) (audit.VerifyReport, error) {
	panic("TODO")
}

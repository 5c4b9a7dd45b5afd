package ops

import (
	"context"
	"io"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/pluginapi"
)

// Logs reads log entries once. Viewer.
func (h *Host) Logs(ctx context.Context, c Caller, conn, id string, opts LogsOptions) (*LogsPage, error) {
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "reading logs")
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	if opts.Tail < 0 || opts.Limit < 0 {
		return nil, pluginapi.Invalid("/tail", "tail and limit must not be negative")
	}
	if err := checkLogsOptions(t, opts.Since, opts.Until, opts.Before); err != nil {
		return nil, err
	}
	if opts.Before != "" && opts.Cursor != "" {
		return nil, pluginapi.Invalid("/before", "before (page back) and cursor (page forward) cannot be combined")
	}
	var resp pluginapi.LogsResponse
	req := pluginapi.LogsRequest{Request: t.request(), ID: id, Cursor: opts.Cursor, Since: opts.Since, Until: opts.Until,
		Tail: opts.Tail, Before: opts.Before, Stdout: opts.Stdout, Stderr: opts.Stderr, Details: opts.Details,
		Instance: opts.Instance, Limit: opts.Limit}
	if err := h.call(ctx, t, pluginapi.OpLogs, req, &resp); err != nil {
		return nil, err
	}
	if resp.Entries == nil {
		resp.Entries = []pluginapi.LogEntry{}
	}
	return &LogsPage{Entries: resp.Entries, Cursor: resp.Cursor, More: resp.More,
		CursorBackward: resp.CursorBackward, End: resp.End}, nil
}

// checkLogsOptions refuses what the plugin does not declare: a plugin of an
// older ABI would ignore until or before silently and answer other lines
// than asked. Refused as invalid (400) naming the field, as plugins refuse
// a stream or instance selection their platform cannot make.
func checkLogsOptions(t *target, since, until *time.Time, before string) error {
	var caps pluginapi.LogsCapabilities
	if t.p.desc.Logs != nil {
		caps = *t.p.desc.Logs
	}
	if until != nil && !caps.Until {
		return pluginapi.Invalid("/until", "plugin %s (connection %s) cannot end logs at a time: until is not supported", t.p.rt.Name(), t.conn.Name)
	}
	if until != nil && since != nil && until.Before(*since) {
		return pluginapi.Invalid("/until", "until must not be before since")
	}
	if before != "" && !caps.Backward {
		return pluginapi.Invalid("/before", "plugin %s (connection %s) cannot page logs back: before is not supported", t.p.rt.Name(), t.conn.Name)
	}
	return nil
}

// FollowLogs subscribes to a service's logs through the shared follower
// (see host/logfanout) until ctx ends or the subscription is closed. Viewer.
func (h *Host) FollowLogs(ctx context.Context, c Caller, conn, id string, opts logfanout.Options) (*logfanout.Subscription, error) {
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	if opts.Tail < 0 {
		return nil, pluginapi.Invalid("/tail", "tail must not be negative")
	}
	// Fail now, with a clean not_found, rather than in the stream.
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "following logs")
	if err != nil {
		return nil, err
	}
	if err := checkLogsOptions(t, opts.Since, opts.Until, ""); err != nil {
		return nil, err
	}
	if _, err := h.get(ctx, t, id); err != nil {
		return nil, err
	}
	return h.logs.Subscribe(ctx, logfanout.Key{Connection: conn, Service: id}, opts)
}

// LogFollowers returns how many upstream log followers run (for tests and metrics).
func (h *Host) LogFollowers() int { return h.logs.Followers() }

// LogViewers returns how many subscriptions the log followers feed (for metrics).
func (h *Host) LogViewers() int { return h.logs.Subscribers() }

// logSource feeds the log hub from plugin calls. It resolves the
// connection on every call, so a changed config or credentials apply.
type logSource struct{ h *Host }

func (s logSource) LogsCapabilities(ctx context.Context, key logfanout.Key) (pluginapi.LogsCapabilities, error) {
	t, err := s.h.resolve(ctx, key.Connection)
	if err != nil {
		return pluginapi.LogsCapabilities{}, err
	}
	if !t.p.desc.Supports(pluginapi.OpLogs) {
		return pluginapi.LogsCapabilities{}, pluginapi.Unsupported("plugin %s does not offer logs", t.p.rt.Name())
	}
	if t.p.desc.Logs == nil {
		return pluginapi.LogsCapabilities{}, nil
	}
	return *t.p.desc.Logs, nil
}

func (s logSource) Logs(ctx context.Context, key logfanout.Key, req pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	t, err := s.h.resolve(ctx, key.Connection)
	if err != nil {
		return nil, err
	}
	req.Request = t.request()
	req.ID = key.Service
	var resp pluginapi.LogsResponse
	if err := s.h.call(ctx, t, pluginapi.OpLogs, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// QueryAudit lists audit entries, newest first: an owner's query sees
// every entry, anyone else's only the entries of connections they may read.
func (h *Host) QueryAudit(ctx context.Context, c Caller, f audit.Filter) ([]audit.Entry, error) {
	var err error
	if f.Visible, err = h.auditVisibility(ctx, c); err != nil {
		return nil, err
	}
	out, err := h.cfg.Audit.Query(ctx, f)
	if err != nil {
		return nil, auditErr(err)
	}
	if out == nil {
		out = []audit.Entry{}
	}
	return out, nil
}

// auditVisibility is what of the audit log c may read: nil (all) for an
// owner; else the entries of the connections c may read now. Entries of
// deleted connections and those of no connection (sign-ins, bindings,
// tokens) are the owners' to read.
func (h *Host) auditVisibility(ctx context.Context, c Caller) (*audit.Visibility, error) {
	rights := c.rights()
	if rights.Owner() {
		return nil, nil
	}
	conns, err := h.cfg.Connections.List(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	v := &audit.Visibility{Connections: []string{}}
	for _, cs := range conns {
		if rights.RoleOn(targetOf(cs)).Allows(RoleViewer) {
			v.Connections = append(v.Connections, cs.Name)
		}
	}
	return v, nil
}

// ExportAudit streams audit entries as "jsonl" or "csv" to w (what
// QueryAudit would show), or the whole log as "chain" (raw rows and the
// newest checkpoint, for offline verification; no filters; owners only,
// since a chain with entries left out cannot be verified).
func (h *Host) ExportAudit(ctx context.Context, c Caller, f audit.Filter, format string, w io.Writer) error {
	if format != audit.FormatJSONL && format != audit.FormatCSV && format != audit.FormatChain {
		return pluginapi.Invalid("/format", "format %q: use jsonl, csv or chain", format)
	}
	if format == audit.FormatChain {
		if err := requireOwner(c, "exporting the whole audit chain"); err != nil {
			return err
		}
	}
	var err error
	if f.Visible, err = h.auditVisibility(ctx, c); err != nil {
		return err
	}
	return auditErr(h.cfg.Audit.Export(ctx, f, format, w))
}

// VerifyAudit checks the audit log's keyed hash chain against its signed
// checkpoints. Owners: the report speaks of every entry.
func (h *Host) VerifyAudit(ctx context.Context, c Caller) (audit.VerifyReport, error) {
	if err := requireOwner(c, "verifying the audit log"); err != nil {
		return audit.VerifyReport{}, err
	}
	rep, err := h.cfg.Audit.Verify(ctx)
	return rep, auditErr(err)
}

func auditErr(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*pluginapi.Error); ok {
		return e
	}
	return &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "audit log: " + err.Error()}
}

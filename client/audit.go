package client

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

// Audit is the host's audit log.
type Audit struct{ c *Client }

// AuditPage is one page of audit entries, newest first.
type AuditPage struct {
	Entries []audit.Entry `json:"entries"`
	// NextBefore, when set, is the BeforeID of the next (older) page.
	NextBefore int64 `json:"next_before,omitempty"`
}

// List lists the audit entries f selects that the caller may see.
// f.Visible is the host's own and not sent: the host decides what the
// caller sees.
func (a *Audit) List(ctx context.Context, f audit.Filter, opts ...CallOption) (*AuditPage, error) {
	var out AuditPage
	if err := a.c.do(ctx, req{method: "GET", path: "/audit", query: auditQuery(f), out: &out}, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// Export writes the entries f selects to w in format "jsonl" (the
// default when empty), "csv", or "chain" (the whole log with its newest
// signed checkpoint, for offline verification; no filters, owners only).
// The export is as long as the log: it is not capped, and ctx bounds it.
// An error of w is returned as it is.
func (a *Audit) Export(ctx context.Context, f audit.Filter, format string, w io.Writer, opts ...CallOption) error {
	q := auditQuery(f)
	set(q, "format", format)
	var co call
	for _, o := range opts {
		o(&co)
	}
	resp, err := a.c.send(ctx, req{method: "GET", path: "/audit/export", query: q}, &co)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	r := &readErr{r: resp.Body}
	if _, err := io.Copy(w, r); err != nil {
		if r.err != nil {
			return pluginapi.Errorf(pluginapi.CodeUnavailable, "export interrupted: %v", r.err)
		}
		return err
	}
	return nil
}

// Verify checks the audit log's hash chain and signed checkpoints on the host.
func (a *Audit) Verify(ctx context.Context, opts ...CallOption) (audit.VerifyReport, error) {
	var out audit.VerifyReport
	err := a.c.do(ctx, req{method: "GET", path: "/audit/verify", out: &out}, opts)
	return out, err
}

func auditQuery(f audit.Filter) url.Values {
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	set(q, "actor", f.Actor)
	set(q, "connection", f.Connection)
	set(q, "target", f.Target)
	set(q, "operation", f.Operation)
	set(q, "outcome", f.Outcome)
	setInt(q, "limit", f.Limit)
	if f.BeforeID > 0 {
		q.Set("before", strconv.FormatInt(f.BeforeID, 10))
	}
	return q
}

// readErr remembers the error of its reader, to tell it from the writer's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

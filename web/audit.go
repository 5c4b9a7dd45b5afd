package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

const auditPageSize = 50

// AuditView is the audit page's model.
type AuditView struct {
	Q       url.Values
	Entries []audit.Entry
	NextURL string
	CSVURL  string
	JSONURL string
	Problem string
}

// datetime-local inputs send minutes (or seconds) without a zone: read
// them as UTC, which is what the page shows.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseWhen(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("use a date like 2026-01-31 or 2026-01-31T14:00")
}

// auditFilter reads the filter from the query; problems are returned for display.
func auditFilter(q url.Values) (audit.Filter, string) {
	f := audit.Filter{
		Actor:      strings.TrimSpace(q.Get("actor")),
		Connection: strings.TrimSpace(q.Get("connection")),
		Target:     strings.TrimSpace(q.Get("service")),
		Operation:  strings.TrimSpace(q.Get("operation")),
		Outcome:    q.Get("outcome"),
	}
	var problems []string
	if s := q.Get("since"); s != "" {
		t, err := parseWhen(s)
		if err != nil {
			problems = append(problems, "From: "+err.Error())
		}
		f.Since = t
	}
	if s := q.Get("until"); s != "" {
		t, err := parseWhen(s)
		if err != nil {
			problems = append(problems, "To: "+err.Error())
		}
		f.Until = t
	}
	if f.Outcome != "" && !slices.Contains(audit.Outcomes, f.Outcome) {
		problems = append(problems, "Outcome: choose one of "+strings.Join(audit.Outcomes, ", "))
		f.Outcome = ""
	}
	return f, strings.Join(problems, "; ")
}

func auditQuery(q url.Values, drop ...string) url.Values {
	out := url.Values{}
	for _, k := range []string{"since", "until", "actor", "connection", "service", "operation", "outcome"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// targetID is the id an entry's target has: what a create produced, else
// what the operation addressed.
func targetID(e audit.Entry) string {
	if e.ResultTarget != "" {
		return e.ResultTarget
	}
	return e.Target
}

// auditPage lists audit entries, newest first, filtered and paged.
func (p *portal) auditPage(c echo.Context) error {
	q := c.QueryParams()
	f, problem := auditFilter(q)
	f.Limit = auditPageSize
	if s := q.Get("before"); s != "" {
		f.BeforeID, _ = strconv.ParseInt(s, 10, 64)
	}
	entries, err := p.host.QueryAudit(c.Request().Context(), callerOf(c), f)
	if err != nil {
		return p.renderError(c, err)
	}
	v := AuditView{Q: q, Entries: entries, Problem: problem}
	base := auditQuery(q)
	if len(entries) == auditPageSize {
		next := auditQuery(q)
		next.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		v.NextURL = "/audit?" + next.Encode()
	}
	base.Set("format", "csv")
	v.CSVURL = "/audit/export?" + base.Encode()
	base.Set("format", "jsonl")
	v.JSONURL = "/audit/export?" + base.Encode()
	return render(c, http.StatusOK, AuditPage(p.pageInfo(c, "Audit log", "audit"), v))
}

// auditExport streams the filtered log as CSV or JSON Lines.
func (p *portal) auditExport(c echo.Context) error {
	q := c.QueryParams()
	f, problem := auditFilter(q)
	if problem != "" {
		return p.renderMessage(c, statusFor(pluginapi.CodeInvalid), "Export refused", problem)
	}
	format := q.Get("format")
	ctype, ext := "application/x-ndjson", "jsonl"
	switch format {
	case audit.FormatCSV:
		ctype, ext = "text/csv; charset=utf-8", "csv"
	case audit.FormatJSONL:
	default:
		return p.renderMessage(c, statusFor(pluginapi.CodeInvalid), "Export refused", "Choose the csv or jsonl format.")
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctype)
	h.Set(echo.HeaderContentDisposition, `attachment; filename="wharf-audit.`+ext+`"`)
	c.Response().WriteHeader(http.StatusOK)
	if err := p.host.ExportAudit(c.Request().Context(), callerOf(c), f, format, c.Response()); err != nil {
		// Headers are gone: all we can do is log and end the body.
		p.log.Error("web: audit export failed", "err", err)
	}
	return nil
}

package audit

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// entrySQL joins each start row with its finish row, if any.
const entrySQL = `SELECT s.id, s.time_ns, s.actor, s.client_addr, s.request_id, s.connection,
	s.plugin, s.operation, s.target, s.request,
	f.id, f.time_ns, f.target, f.error_code, f.error_message, f.error_field, f.duration_ns,
	f.outcome, f.note, coalesce(nullif(s.target_name, ''), f.target_name, '')
	FROM audit_log s LEFT JOIN audit_log f ON f.ref_id = s.id
	WHERE s.kind = 'start'`

// Query returns the entries matching f, newest first.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, pluginapi.Invalid("/limit", "limit must not be negative, got %d", limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var out []Entry
	err := l.each(ctx, f, limit, func(e *Entry) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Export formats.
const (
	FormatJSONL = "jsonl" // JSON Lines: one Entry object per line
	FormatCSV   = "csv"   // RFC 4180 with a header row, cells safe for spreadsheets
)

// csvHeader names the CSV columns, in order.
// New columns are added at the end, so that readers by position keep working.
var csvHeader = []string{"id", "time", "actor", "client_addr", "request_id", "connection",
	"plugin", "operation", "target", "outcome", "result_target", "error_code",
	"error_message", "error_field", "finished_at", "duration_ms", "request", "note", "target_name"}

// Export writes the entries matching f (newest first; all of them unless
// f.Limit is set) to w as format FormatJSONL or FormatCSV. Entries are
// streamed: each is written as it is read. FormatChain (the raw rows, for
// VerifyExport) is the whole log: f must be empty.
func (l *Log) Export(ctx context.Context, f Filter, format string, w io.Writer) error {
	if format == FormatChain {
		if f != (Filter{}) {
			return pluginapi.Invalid("/format", "the %s export is the whole log, for verification: it takes no filters", FormatChain)
		}
		return l.ExportChain(ctx, w)
	}
	if f.Limit < 0 {
		return pluginapi.Invalid("/limit", "limit must not be negative, got %d", f.Limit)
	}
	switch format {
	case FormatJSONL:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return l.each(ctx, f, f.Limit, func(e *Entry) error { return enc.Encode(e) })
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.UseCRLF = true // RFC 4180
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		err := l.each(ctx, f, f.Limit, func(e *Entry) error { return cw.Write(csvRecord(e)) })
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	default:
		return pluginapi.Invalid("/format", "unknown export format %q: use %q, %q or %q", format, FormatJSONL, FormatCSV, FormatChain)
	}
}

// each runs fn on every entry matching f, newest first, at most limit of
// them (0 = no limit), reading one row at a time. A single SELECT reads
// from one consistent snapshot even while the writer appends.
func (l *Log) each(ctx context.Context, f Filter, limit int, fn func(*Entry) error) error {
	var where strings.Builder
	var args []any
	cond := func(sql string, a ...any) {
		where.WriteString(" AND ")
		where.WriteString(sql)
		args = append(args, a...)
	}
	if !f.Since.IsZero() {
		cond("s.time_ns >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		cond("s.time_ns < ?", f.Until.UnixNano())
	}
	if f.Actor != "" {
		cond("s.actor = ?", f.Actor)
	}
	if f.Connection != "" {
		cond("s.connection = ?", f.Connection)
	}
	if f.Operation != "" {
		cond("s.operation = ?", f.Operation)
	}
	if f.Target != "" {
		cond("(s.target = ? OR f.target = ? OR s.target_name = ? OR f.target_name = ?)", f.Target, f.Target, f.Target, f.Target)
	}
	switch f.Outcome {
	case "":
	case OutcomeOK:
		cond("f.id IS NOT NULL AND f.error_code = '' AND f.outcome = ''")
	case OutcomeError:
		cond("f.error_code <> '' AND f.outcome = ''")
	case OutcomeIncomplete:
		cond("f.id IS NULL")
	case OutcomeInterrupted, OutcomeDenied, OutcomeInvalid:
		cond("f.outcome = ?", f.Outcome)
	default:
		return pluginapi.Invalid("/outcome", "unknown outcome %q: use one of %s",
			f.Outcome, strings.Join(Outcomes, ", "))
	}
	if v := f.Visible; v != nil {
		if len(v.Connections) > MaxVisibleConnections {
			return pluginapi.Invalid("/visible", "at most %d visible connections, not %d", MaxVisibleConnections, len(v.Connections))
		}
		// One JSON parameter holds any number of names without building
		// SQL text from them.
		names, err := json.Marshal(append([]string{}, v.Connections...))
		if err != nil {
			return err
		}
		in := "s.connection IN (SELECT value FROM json_each(?))"
		if l.h.Dialect() == store.Postgres {
			in = "s.connection IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))"
		}
		if v.Connectionless {
			cond("("+in+" OR s.connection = '')", string(names))
		} else {
			cond(in, string(names))
		}
	}
	if f.orphans != nil {
		q, a := f.orphans.sql()
		cond(q, a...)
	}
	if f.BeforeID < 0 {
		return pluginapi.Invalid("/before_id", "before_id must not be negative, got %d", f.BeforeID)
	}
	if f.BeforeID > 0 {
		cond("s.id < ?", f.BeforeID)
	}
	query := entrySQL + where.String() + " ORDER BY s.id DESC"
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}

	rows, err := l.h.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	var (
		e                         Entry
		startNS                   int64
		request                   string
		finID, finNS, durNS       sql.NullInt64
		resTarget, code, msg, fld sql.NullString
		outcome, note             sql.NullString
	)
	for rows.Next() {
		if err := rows.Scan(&e.ID, &startNS, &e.Actor, &e.ClientAddr, &e.RequestID,
			&e.Connection, &e.Plugin, &e.Operation, &e.Target, &request,
			&finID, &finNS, &resTarget, &code, &msg, &fld, &durNS, &outcome, &note, &e.TargetName); err != nil {
			return fmt.Errorf("audit: query: %w", err)
		}
		e.Time = time.Unix(0, startNS).UTC()
		e.Request = nil
		if request != "" {
			e.Request = json.RawMessage(request)
		}
		e.ResultTarget, e.ErrorCode, e.ErrorMessage, e.ErrorField = resTarget.String, code.String, msg.String, fld.String
		e.FinishedAt, e.DurationMS, e.Note = nil, 0, note.String
		switch {
		case !finID.Valid:
			e.Outcome = OutcomeIncomplete
		case outcome.String != "":
			e.Outcome = outcome.String // interrupted, denied, invalid
		case code.String != "":
			e.Outcome = OutcomeError
		default:
			e.Outcome = OutcomeOK
		}
		if finID.Valid {
			t := time.Unix(0, finNS.Int64).UTC()
			e.FinishedAt = &t
			e.DurationMS = float64(durNS.Int64) / float64(time.Millisecond)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	return nil
}

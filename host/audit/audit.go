// Package audit is the host's append-only audit log in SQLite.
//
// Every mutating operation is recorded in two rows: a "start" row written
// (durably) before the plugin runs, and a "finish" row, referencing it,
// written with the outcome. A crash in between leaves the start row, which
// Query reports with outcome "incomplete". Rows are never updated or
// deleted (triggers refuse it), and each row carries a SHA-256 hash chain
// value over the previous row's hash and its own content, so Verify can
// find a row that was altered, inserted or removed after the fact
// (removing only the newest rows cannot be detected by the chain alone).
//
// Writes use group commit: one writer goroutine takes every Start and
// Finish queued since its last commit, writes them in one transaction and
// acknowledges each caller only after that transaction is committed
// (synchronous=FULL), so throughput grows with concurrency while no caller
// is ever told "written" before its row is on disk.
package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// Event is the "started" record of one operation, written before the
// plugin runs.
type Event struct {
	// Time is when the operation started; Start sets it to now if zero.
	Time       time.Time
	Actor      string // who asked (user name, token name)
	ClientAddr string // the client's network address
	RequestID  string // correlates with HTTP logs
	Connection string // the connection name, e.g. "local-swarm"
	Plugin     string // the plugin serving the connection
	Operation  string // e.g. "create", "update", "delete", "invoke:restart"; required
	Target     string // the service id or name acted on, if any
	// Request is the request as JSON with secrets already redacted by the
	// caller; empty or valid JSON.
	Request json.RawMessage
}

// Outcome is the "finished" record of one operation.
type Outcome struct {
	// Error is the failure; nil means the operation succeeded.
	Error *pluginapi.Error
	// Target optionally names what the operation produced, e.g. the id of
	// a created service.
	Target string
	// Duration is how long the operation took; if zero, Finish uses the
	// time since the event's start.
	Duration time.Duration
}

// Outcomes of an Entry.
const (
	OutcomeOK         = "ok"
	OutcomeError      = "error"
	OutcomeIncomplete = "incomplete" // started, no finish row (yet, or a crash)
)

// Entry is one operation as Query and Export report it: its start row
// joined with its finish row, if any.
type Entry struct {
	ID         int64           `json:"id"` // the start row's id, as Start returned it
	Time       time.Time       `json:"time"`
	Actor      string          `json:"actor"`
	ClientAddr string          `json:"client_addr"`
	RequestID  string          `json:"request_id"`
	Connection string          `json:"connection"`
	Plugin     string          `json:"plugin"`
	Operation  string          `json:"operation"`
	Target     string          `json:"target"`
	Request    json.RawMessage `json:"request,omitempty"`
	// Outcome is OutcomeOK, OutcomeError or OutcomeIncomplete.
	Outcome string `json:"outcome"`
	// ResultTarget is Outcome.Target (e.g. the id a create produced).
	ResultTarget string     `json:"result_target,omitempty"`
	ErrorCode    string     `json:"error_code,omitempty"`
	ErrorMessage string     `json:"error_message,omitempty"`
	ErrorField   string     `json:"error_field,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// DurationMS is the operation's duration in milliseconds (0 while
	// incomplete).
	DurationMS float64 `json:"duration_ms"`
}

// Filter selects entries. Empty fields match everything.
type Filter struct {
	Since time.Time // entries started at or after Since
	Until time.Time // entries started before Until
	// Actor, Connection and Operation match exactly. Target matches the
	// event's target or the outcome's result target.
	Actor, Connection, Target, Operation string
	// Outcome is "", OutcomeOK, OutcomeError or OutcomeIncomplete.
	Outcome string
	// Limit caps the number of entries: for Query 0 means DefaultLimit and
	// values above MaxLimit are lowered to it; for Export 0 means all.
	Limit int
	// BeforeID, if set, returns only entries with ID < BeforeID: pass the
	// last ID of one page to get the next (older) page.
	BeforeID int64
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// maxBatch caps how many writes share one transaction, bounding the
// latency of the callers in a batch.
const maxBatch = 2048

// Log is the audit log. It is safe for concurrent use.
type Log struct {
	db *sql.DB
	w  *writer

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*request
	closed  bool
	done    chan struct{}

	// Counters for benchmarks and tests: transactions written, requests
	// written in them.
	batches, batched atomic.Int64
}

var migrations = []string{
	`CREATE TABLE audit_log (
		id            INTEGER PRIMARY KEY,
		kind          TEXT NOT NULL CHECK (kind IN ('start', 'finish')),
		-- a finish row references its start row; UNIQUE: at most one finish
		ref_id        INTEGER UNIQUE REFERENCES audit_log (id),
		time_ns       INTEGER NOT NULL,
		actor         TEXT NOT NULL DEFAULT '',
		client_addr   TEXT NOT NULL DEFAULT '',
		request_id    TEXT NOT NULL DEFAULT '',
		connection    TEXT NOT NULL DEFAULT '',
		plugin        TEXT NOT NULL DEFAULT '',
		operation     TEXT NOT NULL DEFAULT '',
		target        TEXT NOT NULL DEFAULT '',
		request       TEXT NOT NULL DEFAULT '',
		error_code    TEXT NOT NULL DEFAULT '',
		error_message TEXT NOT NULL DEFAULT '',
		error_field   TEXT NOT NULL DEFAULT '',
		duration_ns   INTEGER NOT NULL DEFAULT 0,
		prev_hash     BLOB NOT NULL,
		hash          BLOB NOT NULL,
		CHECK ((kind = 'start') = (ref_id IS NULL))
	);
	CREATE INDEX audit_log_start_time ON audit_log (time_ns) WHERE kind = 'start';
	CREATE INDEX audit_log_start_target ON audit_log (target) WHERE kind = 'start';
	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
	BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
	BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
}

// New creates the audit tables if needed and starts the writer. db should
// come from store.Open (its synchronous=FULL makes commits durable; the
// writer also sets it on its own connection). Call Close to stop.
func New(db *sql.DB) (*Log, error) {
	ctx := context.Background()
	if err := store.Migrate(ctx, db, "audit", migrations); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	w, err := newWriter(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{db: db, w: w, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go l.run()
	return l, nil
}

// Close stops accepting writes, waits until every write already queued is
// committed and answered, and releases the writer's connection. It does
// not close the *sql.DB.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	l.cond.Signal()
	l.mu.Unlock()
	<-l.done
	return l.w.close()
}

// Start durably records that an operation is starting and returns its id,
// to be passed to Finish. It returns only after the row is committed.
func (l *Log) Start(ctx context.Context, e Event) (int64, error) {
	if e.Operation == "" {
		return 0, pluginapi.Invalid("/operation", "audit event needs an operation")
	}
	if len(bytes.TrimSpace(e.Request)) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Request); err != nil {
			return 0, pluginapi.Invalid("/request", "audit event request is not valid JSON: %v", err)
		}
		e.Request = buf.Bytes()
	} else {
		e.Request = nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r := &request{start: &e}
	if err := l.submit(ctx, r); err != nil {
		return 0, err
	}
	return r.id, nil
}

// Finish durably records the outcome of the operation Start returned id
// for. It returns only after the row is committed. An unknown id is
// not_found; an id already finished is a conflict.
func (l *Log) Finish(ctx context.Context, id int64, o Outcome) error {
	if id <= 0 {
		return pluginapi.NotFound("audit entry %d not found", id)
	}
	r := &request{finishID: id, outcome: &o, at: time.Now()}
	return l.submit(ctx, r)
}

// submit queues r for the writer and waits for its result. Once queued,
// the write is not abandoned when ctx ends: the caller learns whether its
// row is on disk, rather than getting a cancellation while the row may
// still be written.
func (l *Log) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan struct{})
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "audit log is closed")
	}
	l.pending = append(l.pending, r)
	l.cond.Signal()
	l.mu.Unlock()
	<-r.done
	return r.err
}

// run is the writer goroutine: it takes everything queued, writes it in
// one transaction, answers, and repeats; on Close it drains and exits.
func (l *Log) run() {
	defer close(l.done)
	var spare []*request
	for {
		l.mu.Lock()
		for len(l.pending) == 0 && !l.closed {
			l.cond.Wait()
		}
		if len(l.pending) == 0 { // closed and drained
			l.mu.Unlock()
			return
		}
		var batch []*request
		if len(l.pending) <= maxBatch {
			batch, l.pending = l.pending, spare[:0]
		} else {
			batch = append(spare[:0], l.pending[:maxBatch]...)
			l.pending = append(l.pending[:0], l.pending[maxBatch:]...)
		}
		l.mu.Unlock()

		l.w.write(batch)
		l.batches.Add(1)
		l.batched.Add(int64(len(batch)))
		for i, r := range batch {
			close(r.done)
			batch[i] = nil // let the request be collected
		}
		spare = batch
		if len(spare) > 1 {
			// Under concurrency, let the callers just released run and
			// queue their next write before taking the next batch: fuller
			// batches, fewer commits. Costs nothing when idle.
			runtime.Gosched()
		}
	}
}

// errClosed is reported by the writer when its connection is gone.
var errClosed = errors.New("audit writer closed")

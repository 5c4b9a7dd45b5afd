// Package audit is the host's append-only audit log, in SQLite or (one
// chain shared by every replica) PostgreSQL.
//
// Every mutating operation is recorded in two rows: a "start" row written
// (durably) before the plugin runs, and a "finish" row, referencing it,
// written with the outcome. A crash in between leaves the start row, which
// Query reports with outcome "incomplete" until the host's next start
// reconciles it as "interrupted". Rows are never updated or deleted
// (triggers refuse it).
//
// What is recorded (the host's operations facade decides; see host/ops):
// every mutation attempt by an authenticated caller, whatever its fate.
//   - Operations that ran: a start row before the plugin (or store) call,
//     a finish row with "ok" or "error" after it. A stale version refused
//     by the host (a PATCH) or by the platform (a PUT) is the same "error"
//     entry with code conflict.
//   - Refusals before anything ran (Record, one entry): "denied" when the
//     caller's role does not allow the operation (403), so an administrator
//     sees who tried what; "invalid" when the request failed the host's
//     validation (400): the attempt is part of the story, and it costs an
//     attacker no more than a valid request would; "error" for the other
//     refusals (an unknown connection or service, a stale version). Refusals are rate
//     limited per actor by the facade: beyond the limit one counter entry
//     ("N more ... suppressed") stands for the rest, so nobody can flood
//     the log with them.
//   - Not recorded: reads, and requests that never identify a caller
//     (401: a missing or unknown token), which are rate limited and logged
//     by the front door instead; with no identity there is no actor to
//     record, and no bound on who sends them.
//
// An entry names its target by id (Target, or ResultTarget for what a
// create produced) and, when the host knows it, by name (TargetName), so a
// search for a service's name finds every step after its create.
//
// Tamper evidence does not rest on the database alone. Each row carries an
// HMAC-SHA256 chain value over the previous row's hash and its own content,
// under a key kept outside the database, so a row altered and re-chained
// by someone with only the database file does not verify. After every
// group commit the chain's head (row count, last hash) is signed with
// ed25519 and appended to a checkpoint log outside the database, before
// any caller in the commit is acknowledged: deleting the newest rows, or
// all of them, leaves fewer rows than a checkpoint recorded. Logs written
// before the chain was keyed keep their unkeyed SHA-256 rows (re-chaining
// them would launder any earlier tampering); the first checkpoint records
// where keyed rows begin, and Verify checks the older rows the old way.
//
// Writes use group commit: one writer goroutine takes every Start and
// Finish queued since its last commit, writes them in one transaction,
// checkpoints, and acknowledges each caller only after both are on disk
// (synchronous=FULL, fsync), so throughput grows with concurrency while no
// caller is ever told "written" before its row is durable and covered.
package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
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
	// TargetName is the name of what Target identifies, when the caller
	// knows it (a service's name beside its platform id), so that a search
	// by name finds every step after a create.
	TargetName string
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
	// Interrupted marks an operation the host stopped in the middle of (a
	// crash), recorded when it recovers; Error should then be nil.
	Interrupted bool
	// Note says what is known beyond the outcome, e.g. for an interrupted
	// operation what the platform reported at recovery.
	Note string
	// TargetName is the name of the target learned while the operation
	// ran (e.g. from the platform's answer), if the event did not carry it.
	TargetName string
	// Refused, when set, says the operation was refused before it ran:
	// OutcomeDenied (authorization) or OutcomeInvalid (validation). Error
	// then carries the refusal. Refusals are written with Record.
	Refused string
}

// Outcomes of an Entry.
const (
	OutcomeOK         = "ok"
	OutcomeError      = "error"
	OutcomeIncomplete = "incomplete" // started, no finish row (yet, or a crash)
	// OutcomeInterrupted: the host stopped before the operation finished;
	// it was reconciled at the next start (see Entry.Note).
	OutcomeInterrupted = "interrupted"
	// OutcomeDenied: the caller's role does not allow the operation; it
	// was refused before anything ran.
	OutcomeDenied = "denied"
	// OutcomeInvalid: the request failed the host's validation (the
	// plugin's schema, a malformed patch); it was refused before anything ran.
	OutcomeInvalid = "invalid"
)

// Outcomes lists every outcome a Filter accepts, for faces to offer.
var Outcomes = []string{OutcomeOK, OutcomeError, OutcomeIncomplete, OutcomeInterrupted, OutcomeDenied, OutcomeInvalid}

// Entry is one operation as Query and Export report it: its start row
// joined with its finish row, if any.
type Entry struct {
	ID         int64     `json:"id"` // the start row's id, as Start returned it
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	ClientAddr string    `json:"client_addr"`
	RequestID  string    `json:"request_id"`
	Connection string    `json:"connection"`
	Plugin     string    `json:"plugin"`
	Operation  string    `json:"operation"`
	Target     string    `json:"target"`
	// TargetName is the target's name (a service's name beside its id),
	// from the event or else from the outcome; empty when it was not known.
	TargetName string          `json:"target_name,omitempty"`
	Request    json.RawMessage `json:"request,omitempty"`
	// Outcome is one of Outcomes.
	Outcome string `json:"outcome"`
	// Note is what is known beyond the outcome: for an interrupted
	// operation, the platform's state at recovery.
	Note string `json:"note,omitempty"`
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
	// event's target, the outcome's result target or the target's name.
	Actor, Connection, Target, Operation string
	// Outcome is "" or one of Outcomes.
	Outcome string
	// Limit caps the number of entries: for Query 0 means DefaultLimit and
	// values above MaxLimit are lowered to it; for Export 0 means all.
	Limit int
	// BeforeID, if set, returns only entries with ID < BeforeID: pass the
	// last ID of one page to get the next (older) page.
	BeforeID int64
	// Visible, when set, keeps only the entries it allows (see
	// Visibility); nil shows everything.
	Visible *Visibility

	orphans *orphanCut // Orphans' condition
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// maxBatch caps how many writes share one transaction, bounding the
// latency of the callers in a batch.
const maxBatch = 2048

// maxUncovered bounds the rows committed but not yet checkpointed at any
// moment: the batch being checkpointed and the next, committed meanwhile.
// None of them has been acknowledged: callers are answered only once a
// checkpoint covers their rows.
const maxUncovered = 2 * maxBatch

// Log is the audit log. It is safe for concurrent use.
type Log struct {
	db   *sql.DB
	h    *store.DB // db's audit handle (dialect, write lock)
	w    *writer
	opts Options
	pub  ed25519.PublicKey

	// headMu is held by the writer while it commits a batch, and briefly
	// by Verify and ExportChain to take a database snapshot; cpMu guards
	// the checkpoint log. The checkpoint of a batch is written while the
	// next batch commits (two fsyncs overlap), so a snapshot is at most
	// maxUncovered rows ahead of the checkpoint log.
	headMu    sync.Mutex
	cpMu      sync.Mutex
	cp        *cpFile
	lastCP    Checkpoint // the newest checkpoint written
	cpWritten bool       // lastCP was written by this process
	// cpCaughtUp is signalled (under cpMu) after each checkpoint.
	cpCaughtUp *sync.Cond
	keyedFrom  int64
	// cpStale: a checkpoint append failed, so committed rows may lack
	// one; no batch is committed until a checkpoint succeeds.
	cpStale atomic.Bool

	// writerID names this Log on the start rows it writes (its signer's
	// id, stable across restarts of one replica); openHead is the chain's
	// head when it opened: its own rows up to there are from a previous
	// run. See writers.go.
	writerID      string
	openHead      int64
	writerTimeout time.Duration
	hbStop        chan struct{}
	hbDone        chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*request
	closed  bool
	done    chan struct{}

	// Counters for benchmarks and tests: transactions written, requests
	// written in them.
	batches, batched atomic.Int64

	// observer, if set, hears of every group commit (metrics).
	observer atomic.Pointer[CommitObserver]
	// entries, if set, hears of the entries each commit completed (webhooks).
	entries atomic.Pointer[EntryObserver]
}

// CommitObserver hears of each group commit once its callers are
// answered: how many writes it held, how many of them failed, and how long
// it took from the start of the transaction to the answers (commit, fsync
// and checkpoint). host/metrics implements it.
type CommitObserver interface {
	AuditCommitted(writes, failed int, took time.Duration)
}

// Observe makes o hear of every group commit from now on; nil stops it.
func (l *Log) Observe(o CommitObserver) {
	if o == nil {
		l.observer.Store(nil)
		return
	}
	l.observer.Store(&o)
}

// EntryObserver hears, once they are durable and just before their
// callers are answered, of the entries a group commit completed: the ids (as Start or Record returned them) of
// entries whose outcome was just written by Finish or Record. A start
// alone is not reported: its entry is incomplete. It must return at once
// (it runs on the writer's path); Query reads the entries. host/webhooks
// implements it.
type EntryObserver interface {
	AuditEntriesDone(ids []int64)
}

// ObserveEntries makes o hear of every completed entry from now on; nil
// stops it.
func (l *Log) ObserveEntries(o EntryObserver) {
	if o == nil {
		l.entries.Store(nil)
		return
	}
	l.entries.Store(&o)
}

// QueueDepth is the number of writes waiting for the next group commit.
func (l *Log) QueueDepth() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// migrations are the SQLite schema, as released; pgMigrations the same
// versions on PostgreSQL.
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
	// Version 2: the keyed chain. outcome and note are covered by the keyed
	// hash only (legacy rows must leave them empty). audit_chain records
	// that the log was keyed, so that a deleted checkpoint log is noticed
	// instead of starting a new one over rows nobody can vouch for.
	`ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
	ALTER TABLE audit_log ADD COLUMN note TEXT NOT NULL DEFAULT '';
	CREATE TABLE audit_chain (
		id           INTEGER PRIMARY KEY CHECK (id = 1),
		keyed_from   INTEGER NOT NULL,
		chain_key_id TEXT NOT NULL
	);`,
	// Version 3: the target's name beside its id. A row that carries one
	// is hashed with chain version 3; rows without one (all older rows)
	// keep version 2's encoding, so they verify unchanged.
	`ALTER TABLE audit_log ADD COLUMN target_name TEXT NOT NULL DEFAULT '';
	CREATE INDEX audit_log_start_target_name ON audit_log (target_name) WHERE kind = 'start';`,
	// Version 4 is PostgreSQL's signers table: one process signs here.
	`-- nothing to do: one process signs`,
	writersMigration,
}

// writersMigration (version 5, both databases): each start row names the
// Log that wrote it, and audit_writers holds each writer's heartbeat, so
// recovery finishes only the operations whose writer is gone (see
// writers.go). The writer column is covered by the chain (version 4).
const writersMigration = `ALTER TABLE audit_log ADD COLUMN writer TEXT NOT NULL DEFAULT '';
	CREATE TABLE audit_writers (
		writer       TEXT PRIMARY KEY,
		heartbeat_ns BIGINT NOT NULL
	);`

// pgMigrations: the same schema in PostgreSQL's types (BIGINT ids and
// nanoseconds, BYTEA hashes); append-only is enforced by triggers that
// refuse UPDATE and DELETE per row and TRUNCATE per statement (SQLite has
// no TRUNCATE). Version 4 registers the replicas' checkpoint signers
// (see openChain); SQLite, one process, has nothing to do.
var pgMigrations = []string{
	`CREATE TABLE audit_log (
		id            BIGINT PRIMARY KEY,
		kind          TEXT NOT NULL CHECK (kind IN ('start', 'finish')),
		ref_id        BIGINT UNIQUE REFERENCES audit_log (id),
		time_ns       BIGINT NOT NULL,
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
		duration_ns   BIGINT NOT NULL DEFAULT 0,
		prev_hash     BYTEA NOT NULL,
		hash          BYTEA NOT NULL,
		CHECK ((kind = 'start') = (ref_id IS NULL))
	);
	CREATE INDEX audit_log_start_time ON audit_log (time_ns) WHERE kind = 'start';
	CREATE INDEX audit_log_start_target ON audit_log (target) WHERE kind = 'start';
	CREATE FUNCTION wharf_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'audit_log is append-only';
	END $$;
	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION wharf_audit_log_append_only();
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION wharf_audit_log_append_only();
	CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
		FOR EACH STATEMENT EXECUTE FUNCTION wharf_audit_log_append_only();`,
	`ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
	ALTER TABLE audit_log ADD COLUMN note TEXT NOT NULL DEFAULT '';
	CREATE TABLE audit_chain (
		id           INTEGER PRIMARY KEY CHECK (id = 1),
		keyed_from   BIGINT NOT NULL,
		chain_key_id TEXT NOT NULL
	);`,
	`ALTER TABLE audit_log ADD COLUMN target_name TEXT NOT NULL DEFAULT '';
	CREATE INDEX audit_log_start_target_name ON audit_log (target_name) WHERE kind = 'start';`,
	`CREATE TABLE audit_signers (
		key_id     TEXT PRIMARY KEY,
		public_key TEXT NOT NULL,
		joined_at  BIGINT NOT NULL,
		added_ns   BIGINT NOT NULL
	);`, writersMigration,
}

func migrationSteps() []store.Step {
	steps := make([]store.Step, len(pgMigrations))
	for i := range steps {
		steps[i].Postgres = pgMigrations[i]
		steps[i].SQLite = migrations[i]
	}
	return steps
}

// New creates the audit tables if needed, checks o, opens the checkpoint
// log and starts the writer. db should come from store.Open (its
// synchronous=FULL makes commits durable; the writer also sets it on its
// own connection). Call Close to stop.
//
// New refuses a log it cannot vouch for: a checkpoint log signed by
// another key, a chain key other than the one the log was keyed with, or a
// database that was keyed but whose checkpoint log is gone (restore it from
// your copy). On a log written before the chain was keyed, New records the
// upgrade in a signed checkpoint; keyed rows start after the last old row.
func New(db *sql.DB, o Options) (*Log, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	ctx := context.Background()
	h, err := store.For(db, "audit")
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := h.Migrate(ctx, migrationSteps()); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &Log{db: db, h: h, opts: o, pub: o.Signer.Public().(ed25519.PublicKey), done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	l.cpCaughtUp = sync.NewCond(&l.cpMu)
	cp, err := openCheckpoints(o.CheckpointPath)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint log: %w", err)
	}
	l.cp = cp
	l.writerID = SigningKeyID(l.pub)
	if l.w, err = newWriter(ctx, h, o.ChainKey, l.writerID); err != nil {
		cp.close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := l.openChain(ctx); err != nil {
		l.w.close()
		cp.close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := l.startHeartbeat(ctx); err != nil {
		l.w.close()
		cp.close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	go l.run()
	return l, nil
}

// openChain reconciles the database, its audit_chain record and the
// checkpoint log, and checkpoints the head if it moved since the last
// checkpoint (a crash after a commit, or other replicas' writes). It runs
// under the audit write lock, so replicas starting at once on a new
// PostgreSQL database key it once.
//
// On PostgreSQL every replica keeps its own checkpoint log (in its own
// data folder, signed by its own key) of the one chain they share: each
// checkpoints the head after its own commits, which covers every row
// before it, whoever wrote them. audit_signers records each signer once
// it has checkpointed, so a replica whose checkpoint log is gone is
// refused as on SQLite, while a new replica (a signer never seen) joins
// with a checkpoint of the current head.
func (l *Log) openChain(ctx context.Context) error {
	last, haveCP, err := l.cp.last(l.pub)
	if err != nil {
		return err
	}
	tx, err := l.h.BeginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var keyedFrom int64
	var keyID string
	switch err := tx.QueryRowContext(ctx, `SELECT keyed_from, chain_key_id FROM audit_chain WHERE id = 1`).Scan(&keyedFrom, &keyID); {
	case errors.Is(err, sql.ErrNoRows):
		keyedFrom = 0
	case err != nil:
		return err
	}
	headID, headHash := int64(0), make([]byte, hashSize)
	switch err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&headID, &headHash); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	}
	l.w.headID, l.w.headHash = headID, headHash
	l.openHead = headID
	shared := l.h.Dialect() == store.Postgres
	myKey := ChainKeyID(l.opts.ChainKey)
	signer := SigningKeyID(l.pub)
	registered := false
	if shared {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_signers WHERE key_id = ?`, signer).Scan(&n); err != nil {
			return err
		}
		registered = n > 0
	}
	switch {
	case shared && keyedFrom > 0 && keyID != myKey:
		return fmt.Errorf("the chain key (id %s) is not the key this database's log is chained with (id %s): every replica must use the same %s (copy it from the first replica)", myKey, keyID, ChainKeyFile)
	case haveCP && last.ChainKey != myKey:
		return fmt.Errorf("the chain key (id %s) is not the key this log was chained with (id %s): restore the original %s", myKey, last.ChainKey, ChainKeyFile)
	case shared && haveCP && keyedFrom > 0 && last.KeyedFrom != keyedFrom:
		return fmt.Errorf("the checkpoint log %s says keyed rows start at %d, this database's log at %d: it is another log's checkpoint log", l.opts.CheckpointPath, last.KeyedFrom, keyedFrom)
	case haveCP:
		l.keyedFrom = last.KeyedFrom
	case keyedFrom > 0 && shared && !registered:
		// A new replica on a shared log: its checkpoints start here.
		l.keyedFrom = keyedFrom
	case keyedFrom > 0:
		return fmt.Errorf("the checkpoint log %s is missing or empty, but this database was keyed at row %d: restore the checkpoint log from your copy (a new one would vouch for rows nobody can check)", l.opts.CheckpointPath, keyedFrom)
	default:
		// A new log, or the upgrade of one written before the key: every
		// row up to the head stays on the unkeyed chain.
		l.keyedFrom = headID + 1
	}
	if haveCP {
		l.lastCP = last
	}
	// The checkpoint first: it is the signed record; audit_chain only says
	// "a checkpoint log must exist", and is re-made from it. Rows committed
	// but not yet checkpointed when the host stopped, rows other replicas
	// wrote, or rows removed while it was down: either way the head is
	// recorded now, and Verify judges it against the older lines.
	if !haveCP || last.Rows != headID || last.Hash != hex.EncodeToString(headHash) {
		if err := l.checkpoint(headID, headHash); err != nil {
			return err
		}
	}
	if keyedFrom == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_chain (id, keyed_from, chain_key_id) VALUES (1, ?, ?)`, l.keyedFrom, myKey); err != nil {
			return err
		}
	}
	if shared && !registered {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_signers (key_id, public_key, joined_at, added_ns) VALUES (?, ?, ?, ?)`,
			signer, PublicKeyText(l.pub), headID, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkpoint signs the head and appends it to the checkpoint log. A head
// older than one this process checkpointed already (the checkpointer and a
// retry after a failure can race) is covered by it and is not written, so
// the row counts this process writes never go backwards.
func (l *Log) checkpoint(rows int64, hash []byte) error {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if l.cpWritten && rows <= l.lastCP.Rows {
		return nil
	}
	cp := newCheckpoint(rows, hash, l.keyedFrom, ChainKeyID(l.opts.ChainKey), l.opts.Signer, time.Now())
	if err := l.cp.append(cp); err != nil {
		// Committed rows may lack a checkpoint now: no batch is committed
		// until one is written, and a waiting caughtUp gives up.
		l.cpStale.Store(true)
		l.cpCaughtUp.Broadcast()
		return err
	}
	l.lastCP, l.cpWritten = cp, true
	l.cpCaughtUp.Broadcast()
	return nil
}

// caughtUp waits, with headMu held (no commit under way), until the
// checkpoint log covers every committed row, so a snapshot taken now and
// the checkpoint log describe the same log. It gives up when a checkpoint
// append has failed: Verify then reports the uncovered rows. Callers hold
// cpMu when it returns.
func (l *Log) caughtUp() {
	l.cpMu.Lock()
	for l.lastCP.Rows < l.w.headID && !l.cpStale.Load() {
		l.cpCaughtUp.Wait()
	}
}

// PublicKey is the key that checks this log's checkpoints: keep a copy
// where an attacker of this machine cannot change it.
func (l *Log) PublicKey() ed25519.PublicKey { return l.pub }

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
	return errors.Join(l.stopHeartbeat(), l.w.close(), l.cp.close())
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

// Record durably records an operation that never ran, its start and its
// outcome at once (one transaction), and returns its id: a refusal
// (o.Refused) or a counter of refusals left out. Its duration is o.Duration.
func (l *Log) Record(ctx context.Context, e Event, o Outcome) (int64, error) {
	if e.Operation == "" {
		return 0, pluginapi.Invalid("/operation", "audit event needs an operation")
	}
	switch o.Refused {
	case "", OutcomeDenied, OutcomeInvalid:
	default:
		return 0, pluginapi.Invalid("/refused", "refused must be %q or %q, not %q", OutcomeDenied, OutcomeInvalid, o.Refused)
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
	now := time.Now()
	if e.Time.IsZero() {
		e.Time = now
	}
	r := &request{start: &e, outcome: &o, at: now}
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

// run is the writer goroutine: it takes everything queued, commits it in
// one transaction and hands it to the checkpointer, which answers it once
// a checkpoint covers it; on Close it drains and exits.
func (l *Log) run() {
	defer close(l.done)
	// Unbuffered: a batch is handed over only when the checkpointer is
	// free, so at most two batches are ever uncovered (maxUncovered).
	jobs := make(chan cpJob)
	checkpointed := make(chan struct{})
	go l.checkpointer(jobs, checkpointed)
	defer func() { close(jobs); <-checkpointed }()
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
			batch, l.pending = l.pending, nil
		} else {
			batch = append([]*request(nil), l.pending[:maxBatch]...)
			l.pending = append(l.pending[:0], l.pending[maxBatch:]...)
		}
		l.mu.Unlock()
		jobs <- l.commitBatch(batch)
	}
}

// cpJob is a committed batch waiting for its checkpoint.
type cpJob struct {
	batch []*request
	began time.Time // when the batch's commit began
	moved bool      // the batch added rows: the head below needs a checkpoint
	rows  int64
	hash  []byte
}

// commitBatch commits batch. If an earlier checkpoint failed, a
// checkpoint of the current head must succeed first: otherwise nothing is
// committed and every caller in batch gets the error.
func (l *Log) commitBatch(batch []*request) cpJob {
	began := time.Now()
	l.headMu.Lock()
	defer l.headMu.Unlock()
	if l.cpStale.Load() {
		if err := l.checkpoint(l.w.headID, l.w.headHash); err != nil {
			failAll(batch, err)
			return cpJob{batch: batch, began: began}
		}
		l.cpStale.Store(false)
	}
	before := l.w.headID
	l.w.write(batch)
	return cpJob{batch: batch, began: began, moved: l.w.headID != before, rows: l.w.headID, hash: l.w.headHash}
}

// checkpointer checkpoints each committed batch and only then answers its
// callers. If the checkpoint cannot be written, every caller whose row was
// committed is told the write failed (the row is on disk but not covered).
func (l *Log) checkpointer(jobs <-chan cpJob, done chan<- struct{}) {
	defer close(done)
	for job := range jobs {
		if job.moved {
			if err := l.checkpoint(job.rows, job.hash); err != nil {
				for _, r := range job.batch {
					if r.err == nil {
						r.err = &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "audit checkpoint failed: " + err.Error()}
					}
				}
			}
		}
		l.batches.Add(1)
		l.batched.Add(int64(len(job.batch)))
		// Before the answers: a caller that returns knows its entry was told.
		if o := l.entries.Load(); o != nil {
			notifyEntries(*o, job.batch)
		}
		failed := 0
		for _, r := range job.batch {
			if r.err != nil {
				failed++
			}
			close(r.done)
		}
		if o := l.observer.Load(); o != nil {
			(*o).AuditCommitted(len(job.batch), failed, time.Since(job.began))
		}
		if len(job.batch) > 1 {
			// Under concurrency, let the callers just released run and
			// queue their next write before the writer takes the next
			// batch: fuller batches, fewer commits. Costs nothing when idle.
			runtime.Gosched()
		}
	}
}

// notifyEntries tells o of the entries batch completed.
func notifyEntries(o EntryObserver, batch []*request) {
	var ids []int64
	for _, r := range batch {
		switch {
		case r.err != nil:
		case r.finishID > 0:
			ids = append(ids, r.finishID)
		case r.start != nil && r.outcome != nil:
			ids = append(ids, r.id)
		}
	}
	if len(ids) > 0 {
		o.AuditEntriesDone(ids)
	}
}

func failAll(batch []*request, err error) {
	for _, r := range batch {
		r.id = 0
		r.err = &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "audit checkpoint failed: " + err.Error()}
	}
}

// Visibility limits what a query or export returns to the entries a
// caller may read.
type Visibility struct {
	// Connections are the connections whose entries are visible; an
	// empty list shows none.
	Connections []string
	// Connectionless shows the entries of no connection as well (sign-ins,
	// bindings, tokens).
	Connectionless bool
}

// MaxVisibleConnections bounds Visibility.Connections.
const MaxVisibleConnections = 100000

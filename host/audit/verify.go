package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

// Statuses of a VerifyReport.
const (
	StatusIntact = "intact"
	// StatusAltered: a row's content does not match its hash (for keyed
	// rows: the HMAC), so it was altered, or altered and re-chained by
	// someone without the key.
	StatusAltered = "altered"
	// StatusRechained: a keyed row carries the unkeyed SHA-256 chain value
	// of its content: someone recomputed the chain without the key.
	StatusRechained = "rechained"
	// StatusBrokenLink: a row does not follow the row before it (ids not
	// consecutive, or prev_hash not that row's hash): rows removed or
	// inserted.
	StatusBrokenLink = "broken_link"
	// StatusMissingRows: fewer rows than a checkpoint recorded: the newest
	// rows were deleted.
	StatusMissingRows = "missing_rows"
	// StatusEmptied: no rows, though a checkpoint recorded some.
	StatusEmptied = "emptied"
	// StatusCheckpointMismatch: the row a checkpoint covers has another
	// hash than the checkpoint recorded: rows were rewritten after it.
	StatusCheckpointMismatch = "checkpoint_mismatch"
	// StatusBadCheckpoint: a checkpoint line is malformed, badly signed, or
	// out of sequence.
	StatusBadCheckpoint = "bad_checkpoint"
	// StatusNoCheckpoints: there is no checkpoint to check the head against.
	StatusNoCheckpoints = "no_checkpoints"
	// StatusUncovered: more rows after the last checkpoint than a crash can
	// explain: the checkpoint log was cut, or rows were added around the
	// writer.
	StatusUncovered = "uncovered_rows"
	// StatusBadExport: an exported log cannot be read as one.
	StatusBadExport = "bad_export"
)

// VerifyReport is the result of checking the hash chain and checkpoints.
type VerifyReport struct {
	OK     bool   `json:"ok"`     // everything checked is intact
	Status string `json:"status"` // StatusIntact or what was found
	// Rows counts the rows checked (up to and including the first bad one).
	Rows       int64  `json:"rows"`
	FirstBadID int64  `json:"first_bad_id"` // the first row that fails, if any
	Problem    string `json:"problem,omitempty"`
	// LegacyRows are the oldest rows, written before the chain was keyed:
	// they are checked with the unkeyed SHA-256 chain, which only shows
	// changes made without recomputing it; the signed upgrade checkpoint
	// fixes their head.
	LegacyRows int64 `json:"legacy_rows"`
	// Checkpoints counts checkpoint lines checked; CheckpointRows and
	// CheckpointTime describe the newest one.
	Checkpoints    int        `json:"checkpoints"`
	CheckpointRows int64      `json:"checkpoint_rows"`
	CheckpointTime *time.Time `json:"checkpoint_time,omitempty"`
	// UncoveredRows were written after the newest checkpoint (at most one
	// group commit, after a crash).
	UncoveredRows int64 `json:"uncovered_rows"`
	// ChainKeyID names the chain key used; PublicKey is the key that
	// checked the signatures: compare it with your own copy.
	ChainKeyID string   `json:"chain_key_id"`
	PublicKey  string   `json:"public_key"`
	Notes      []string `json:"notes,omitempty"`
}

// VerifyOptions say what a log is checked against.
type VerifyOptions struct {
	// ChainKey is the chain's HMAC key; required.
	ChainKey []byte
	// PublicKey checks the checkpoint signatures; required.
	PublicKey ed25519.PublicKey
	// Checkpoints is the checkpoint log's content; nil means none.
	Checkpoints io.Reader
	// More are further checkpoint logs of the same chain: on a shared
	// (PostgreSQL) database, the other replicas'. Each is checked on its
	// own (signature, order) and all of them against the rows.
	More []CheckpointLog
	// Shared says the log is written by several replicas: rows after the
	// newest checkpoint given may be other replicas' acknowledged writes
	// (their checkpoints are in their own logs), so they are checked by
	// the keyed chain and reported as uncovered, not failed however many.
	Shared bool
}

// CheckpointLog is one replica's checkpoint log for VerifyOptions.More.
type CheckpointLog struct {
	Name      string            // how problems name it (a file name)
	Log       io.Reader         // its content
	PublicKey ed25519.PublicKey // the key it is signed with; nil: VerifyOptions.PublicKey
}

func (o *VerifyOptions) check() error {
	if len(o.ChainKey) < MinChainKeySize {
		return fmt.Errorf("audit: verify: the chain key must be at least %d bytes", MinChainKeySize)
	}
	if len(o.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("audit: verify: the public key must be %d bytes", ed25519.PublicKeySize)
	}
	for i, m := range o.More {
		if m.Log == nil || (m.PublicKey != nil && len(m.PublicKey) != ed25519.PublicKeySize) {
			return fmt.Errorf("audit: verify: checkpoint log %d (%s) needs its content and a %d-byte public key", i+1, m.Name, ed25519.PublicKeySize)
		}
	}
	return nil
}

// Verify walks the whole log in id order, recomputing each row's chain
// hash, and checks the head against the signed checkpoint log. It reports
// the first row that was altered or re-chained, whose link to the row
// before it is broken (rows removed or inserted), or rows missing after a
// checkpoint (the newest rows deleted, the table emptied). It reads one
// snapshot consistent with the checkpoint log, so it can run while
// operations are being logged.
func (l *Log) Verify(ctx context.Context) (VerifyReport, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer conn.Close()
	// Under headMu no batch is being committed; once the checkpointer has
	// caught up, the snapshot pinned here and the checkpoint log's first
	// size bytes (its whole lines when it is read) describe the same log.
	l.headMu.Lock()
	l.caughtUp()
	size := l.cp.size
	l.cpMu.Unlock()
	err = beginSnapshot(ctx, conn, l.h.Dialect())
	l.headMu.Unlock()
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)

	o := VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub, Shared: l.h.Dialect() == store.Postgres}
	var missing error
	f, err := os.Open(l.opts.CheckpointPath)
	switch {
	case err == nil:
		defer f.Close()
		o.Checkpoints = io.LimitReader(f, size)
	case errors.Is(err, fs.ErrNotExist):
		missing = fmt.Errorf("the checkpoint log %s is missing", l.opts.CheckpointPath)
	default:
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	rep, head, err := verifyConn(ctx, conn, o, missing)
	if err == nil && rep.OK && o.Shared && rep.UncoveredRows > 0 {
		// Other replicas' rows this replica has just checked: it signs
		// their head too (a witness), so their removal shows in its log
		// as well as in theirs. A head older than its last checkpoint is
		// not written (checkpoint keeps the counts rising).
		if cerr := l.checkpoint(rep.Rows, head); cerr != nil {
			rep.Notes = append(rep.Notes, "could not sign the verified head: "+cerr.Error())
		}
	}
	return rep, err
}

// VerifyDatabase checks the audit log in db as Log.Verify does, without a
// Log (so without writing anything): for checking a copy of a database
// file, or one no host has open.
func VerifyDatabase(ctx context.Context, db *sql.DB, o VerifyOptions) (VerifyReport, error) {
	if err := o.check(); err != nil {
		return VerifyReport{}, err
	}
	d, err := store.DialectOf(db)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer conn.Close()
	if err := beginSnapshot(ctx, conn, d); err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	rep, _, err := verifyConn(ctx, conn, o, nil)
	return rep, err
}

// beginSnapshot starts a read transaction and pins its snapshot (SQLite
// takes it at the first read, not at BEGIN) with a read that costs
// O(log n): callers hold headMu, which stalls the writer.
func beginSnapshot(ctx context.Context, conn *sql.Conn, d store.Dialect) error {
	begin := `BEGIN DEFERRED`
	if d == store.Postgres {
		// One snapshot for every statement, taken at the first.
		begin = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit_log`).Scan(&n); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	return nil
}

// verifyConn checks the log as conn sees it; head is the hash of the last
// row that verified.
func verifyConn(ctx context.Context, conn *sql.Conn, o VerifyOptions, cpMissing error) (rep VerifyReport, head []byte, err error) {
	v := newVerifier(o)
	if cpMissing != nil {
		v.noCheckpoints = cpMissing.Error()
	}
	rows, err := conn.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return VerifyReport{}, nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() && !v.done {
		var r row
		if err := r.scan(rows); err != nil {
			// A column changed to a value of the wrong type is tampering too.
			v.rep.Rows++
			v.fail(StatusAltered, r.ID, "row %d cannot be read: %v", r.ID, err)
			break
		}
		v.row(&r)
	}
	if err := rows.Err(); err != nil {
		return VerifyReport{}, nil, fmt.Errorf("audit: verify: %w", err)
	}
	v.end()
	return v.rep, v.prev, nil
}

// verifier checks rows in id order against each other and against a
// checkpoint log, merging the two streams: each checkpoint is compared
// when the row it covers goes by.
type verifier struct {
	key       []byte
	pub       ed25519.PublicKey
	cps       cpStream // nil: no checkpoint log
	shared    bool
	rep       VerifyReport
	keyedFrom int64
	prevID    int64
	prev      []byte
	pending   *Checkpoint // the next checkpoint not yet reached
	last      *Checkpoint // the newest checkpoint reached
	done      bool        // a problem was found: stop
	// noCheckpoints says why there is no checkpoint log, if there is none.
	noCheckpoints string
	// after, if set (an export), is the export's own checkpoint time:
	// checkpoints written later may cover rows written after the export.
	after *time.Time
}

func newVerifier(o VerifyOptions) *verifier {
	v := &verifier{key: o.ChainKey, pub: o.PublicKey, keyedFrom: 1, prev: make([]byte, hashSize), shared: o.Shared}
	v.rep.ChainKeyID = ChainKeyID(o.ChainKey)
	v.rep.PublicKey = PublicKeyText(o.PublicKey)
	switch {
	case len(o.More) > 0:
		v.cps = newCPMerge(o)
	case o.Checkpoints != nil:
		v.cps = newCPReader(o.Checkpoints, o.PublicKey)
	}
	if v.cps != nil {
		v.advance()
		if p := v.pending; p != nil {
			v.keyedFrom = p.KeyedFrom
			if p.ChainKey != v.rep.ChainKeyID {
				v.fail(StatusBadCheckpoint, 0, "the checkpoints were written with chain key %s, but the key given is %s", p.ChainKey, v.rep.ChainKeyID)
			}
		}
		v.reach(0, make([]byte, hashSize))
	}
	return v
}

func (v *verifier) fail(status string, id int64, format string, args ...any) {
	if v.done {
		return
	}
	v.done = true
	v.rep.Status, v.rep.FirstBadID, v.rep.Problem = status, id, fmt.Sprintf(format, args...)
}

func (v *verifier) note(format string, args ...any) {
	v.rep.Notes = append(v.rep.Notes, fmt.Sprintf(format, args...))
}

// advance reads the next checkpoint into pending.
func (v *verifier) advance() {
	v.pending = nil
	if v.cps == nil || v.done {
		return
	}
	cp, err := v.cps.next()
	switch {
	case errors.Is(err, errCPEnd):
	case err != nil:
		v.fail(StatusBadCheckpoint, 0, "checkpoint log: %v", err)
	default:
		v.rep.Checkpoints++
		v.pending = &cp
	}
}

// reach compares every checkpoint of n rows with hash, the n-th row's.
func (v *verifier) reach(n int64, hash []byte) {
	for p := v.pending; p != nil && p.Rows == n && !v.done; p = v.pending {
		if !bytes.Equal(p.hashBytes(), hash) {
			v.fail(StatusCheckpointMismatch, n, "row %d's hash is not the one the checkpoint of %s recorded: the rows up to it were rewritten after that checkpoint",
				n, p.Time.Format(time.RFC3339))
			return
		}
		v.last = p
		v.advance()
	}
}

// row checks the next row.
func (v *verifier) row(r *row) {
	if v.done {
		return
	}
	v.rep.Rows++
	switch {
	case r.ID != v.prevID+1:
		if r.ID > v.prevID+1 {
			v.fail(StatusBrokenLink, r.ID, "row %d follows row %d: rows %d to %d were removed", r.ID, v.prevID, v.prevID+1, r.ID-1)
		} else {
			v.fail(StatusBrokenLink, r.ID, "row %d follows row %d: ids out of order", r.ID, v.prevID)
		}
		return
	case !bytes.Equal(r.PrevHash, v.prev):
		v.fail(StatusBrokenLink, r.ID, "row %d's link to the previous row is broken: a row before it was removed, inserted or rewritten", r.ID)
		return
	case r.ID < v.keyedFrom:
		if r.Outcome != "" || r.Note != "" || r.TargetName != "" || r.Writer != "" || !bytes.Equal(r.legacyHash(), r.Hash) {
			v.fail(StatusAltered, r.ID, "row %d's content does not match its hash: the row was altered", r.ID)
			return
		}
	case !bytes.Equal(r.keyedHash(v.key), r.Hash):
		if bytes.Equal(r.legacyHash(), r.Hash) {
			v.fail(StatusRechained, r.ID, "row %d was re-chained with unkeyed SHA-256: its content was altered and the chain recomputed without the key", r.ID)
		} else {
			v.fail(StatusAltered, r.ID, "row %d's content does not match its keyed hash (HMAC mismatch): the row was altered, or re-chained without the key", r.ID)
		}
		return
	}
	v.prevID, v.prev = r.ID, r.Hash
	v.reach(r.ID, r.Hash)
}

// end checks what is left once every row was read, and fills the report.
func (v *verifier) end() {
	n := v.prevID
	v.rep.LegacyRows = min(v.keyedFrom-1, v.rep.Rows)
	if v.last != nil {
		t := v.last.Time
		v.rep.CheckpointRows, v.rep.CheckpointTime = v.last.Rows, &t
	}
	if !v.done && v.pending != nil {
		// Checkpoints beyond the last row: rows are missing, unless (an
		// export) they were written after the export. Every later line is
		// still checked, and the newest one is reported.
		newest := *v.pending
		later := v.after != nil && newest.Time.After(*v.after)
		for v.pending != nil && !v.done {
			newest = *v.pending
			v.advance()
		}
		switch {
		case v.done:
		case later:
			v.note("the checkpoint log goes on to %d rows at %s, after the export: rows written since", newest.Rows, newest.Time.Format(time.RFC3339))
		case n == 0:
			v.fail(StatusEmptied, 1, "the table is empty, but the checkpoint of %s recorded %d rows", newest.Time.Format(time.RFC3339), newest.Rows)
		default:
			v.fail(StatusMissingRows, n+1, "rows missing after the last checkpoint: the log has %d rows, the checkpoint of %s recorded %d",
				n, newest.Time.Format(time.RFC3339), newest.Rows)
		}
	}
	if v.done {
		return
	}
	switch {
	case v.cps == nil || v.last == nil:
		why := v.noCheckpoints
		switch {
		case why != "":
		case v.cps != nil:
			why = "the checkpoint log is empty"
		default:
			why = "no checkpoint log was given"
		}
		v.fail(StatusNoCheckpoints, 0, "%s: the newest rows, or all of them, could have been removed unnoticed", why)
		return
	case n > v.last.Rows && v.shared:
		v.rep.UncoveredRows = n - v.last.Rows
		v.note("%d rows after the newest checkpoint given (%d rows): on a shared database, other replicas' writes (their own checkpoint logs cover them) or rows written since; they verify under the chain key, but only those logs show whether newer rows were removed",
			n-v.last.Rows, v.last.Rows)
	case n-v.last.Rows > maxUncovered:
		v.rep.UncoveredRows = n - v.last.Rows
		v.fail(StatusUncovered, v.last.Rows+1, "%d rows after the last checkpoint (%d rows): at most %d can be uncovered after a crash; the checkpoint log was cut or rows were added around the writer",
			n-v.last.Rows, v.last.Rows, maxUncovered)
		return
	case n > v.last.Rows:
		v.rep.UncoveredRows = n - v.last.Rows
		v.note("%d rows after the last checkpoint (a crash between commit and checkpoint, or the checkpoint log's newest lines were removed)", n-v.last.Rows)
	}
	if v.rep.LegacyRows > 0 {
		v.note("rows 1 to %d were written before the chain was keyed: checked with unkeyed SHA-256", v.rep.LegacyRows)
	}
	v.rep.OK, v.rep.Status = true, StatusIntact
}

// Summary is the report in one line, for logs and the CLI.
func (r *VerifyReport) Summary() string {
	if r.OK {
		return fmt.Sprintf("intact: %d rows, %d checkpoints", r.Rows, r.Checkpoints)
	}
	return strings.TrimSpace(r.Status + ": " + r.Problem)
}

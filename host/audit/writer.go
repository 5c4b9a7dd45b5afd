package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// request is one queued Start (start set), Finish (outcome set) or
// Record (both: a start row and its finish row, written together).
type request struct {
	start *Event

	finishID int64
	outcome  *Outcome
	at       time.Time // when Finish or Record was called

	// Results, valid once done is closed.
	id   int64
	err  error
	done chan struct{}
}

// writer owns one pinned connection with prepared statements; only the
// Log's writer goroutine uses it. On PostgreSQL a broken connection is
// replaced at the next write.
type writer struct {
	key     []byte // the chain key
	id      string // written on each start row (Log.WriterID)
	h       *store.DB
	conn    *sql.Conn
	last    *sql.Stmt // the newest row's id and hash
	startOf *sql.Stmt // what a Finish refers to (SQLite)
	insert  *sql.Stmt // one row (SQLite)

	// The chain's head after the last commit (this process's or, on a
	// shared database, another replica's it read).
	headID   int64
	headHash []byte
}

const insertSQL = `INSERT INTO audit_log (` + columns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// numColumns is the number of columns in columns.
const numColumns = 22

// pgRowsPerInsert bounds the rows of one multi-row INSERT on PostgreSQL
// (its limit is 65535 parameters; 22 per row).
const pgRowsPerInsert = 1000

func newWriter(ctx context.Context, h *store.DB, key []byte, id string) (*writer, error) {
	w := &writer{key: key, h: h, id: id}
	if err := w.connect(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// connect pins a connection and prepares the statements on it.
func (w *writer) connect(ctx context.Context) error {
	conn, err := w.h.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	w.conn = conn
	// Durability must not depend on how the caller opened db, nor (on
	// PostgreSQL) on the server's default. Custom plans on PostgreSQL: a
	// plan cached while the table was small (a sequential scan) would stay
	// while it grows; these queries are cheap to plan (without it the
	// benchmark fell from 9,500 to 1,300 rows/s as the table grew).
	setting := `PRAGMA synchronous = FULL`
	if w.h.Dialect() == store.Postgres {
		setting = `SET synchronous_commit = on; SET plan_cache_mode = force_custom_plan`
	}
	if _, err := conn.ExecContext(ctx, setting); err != nil {
		w.closeConn()
		return err
	}
	stmts := []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&w.last, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`},
	}
	if w.h.Dialect() == store.SQLite {
		stmts = append(stmts, []struct {
			stmt  **sql.Stmt
			query string
		}{
			{&w.startOf, `SELECT kind, time_ns, EXISTS (SELECT 1 FROM audit_log f WHERE f.ref_id = s.id)
			FROM audit_log s WHERE s.id = ?`},
			{&w.insert, insertSQL},
		}...)
	}
	for _, p := range stmts {
		if *p.stmt, err = conn.PrepareContext(ctx, w.h.Dialect().Rebind(p.query)); err != nil {
			w.closeConn()
			return err
		}
	}
	return nil
}

func (w *writer) closeConn() error {
	for _, s := range []**sql.Stmt{&w.last, &w.startOf, &w.insert} {
		if *s != nil {
			(*s).Close()
			*s = nil
		}
	}
	if w.conn == nil {
		return nil
	}
	err := w.conn.Close()
	w.conn = nil
	return err
}

func (w *writer) close() error { return w.closeConn() }

// rowError is an insert that failed for reasons of its own row.
type rowError struct{ err error }

func (e rowError) Error() string { return e.err.Error() }
func (e rowError) Unwrap() error { return e.err }

// write commits batch and sets each request's result. If one row's insert
// fails, each request is retried in a transaction of its own, so one bad
// write cannot fail the others; if the transaction itself fails (lock,
// disk), every request in it gets the error.
func (w *writer) write(batch []*request) {
	err := w.writeTx(batch)
	if err == nil {
		return
	}
	var re rowError
	if len(batch) > 1 && errors.As(err, &re) {
		for _, r := range batch {
			w.write([]*request{r})
		}
		return
	}
	for _, r := range batch {
		r.id = 0
		r.err = &pluginapi.Error{Code: pluginapi.CodeInternal, Message: "audit write failed: " + err.Error()}
	}
}

// startInfo is what a Finish needs of the start row it refers to.
type startInfo struct {
	kind     string
	timeNS   int64
	finished bool
}

// writeTx writes batch in one transaction. Requests that are rejected
// (unknown or already finished id) get their error without aborting the
// transaction; a returned error means nothing was committed.
func (w *writer) writeTx(batch []*request) (err error) {
	ctx := context.Background()
	if w.conn == nil {
		if err := w.connect(ctx); err != nil {
			return err
		}
	}
	// The audit write lock first (BEGIN IMMEDIATE on SQLite, the audit
	// advisory lock on PostgreSQL), then the chain's head: no other
	// process, replica or not, can append in between.
	if err := w.h.BeginWriteOn(ctx, w.conn); err != nil {
		w.dropBroken()
		return err
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(ctx, `ROLLBACK`); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
			var re rowError
			if !errors.As(err, &re) {
				w.dropBroken()
			}
		}
	}()

	var lastID int64
	prev := make([]byte, hashSize) // the chain starts from zeros
	switch err := w.last.QueryRowContext(ctx).Scan(&lastID, &prev); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	}
	starts, err := w.lookupStarts(ctx, batch, lastID)
	if err != nil {
		return err
	}

	// Starts written in this batch, so a Finish in the same batch can
	// refer to them; finishes written in this batch, to refuse a second.
	var startedHere map[int64]int64 // id → time_ns
	finishedHere := map[int64]bool{}

	// rows are appended to the chain in memory, inserted at the end.
	var rows []row
	insert := func(r *row) int64 {
		if w.h.Dialect() == store.Postgres {
			r.textSafe()
		}
		r.ID = lastID + 1
		r.PrevHash = prev
		r.Hash = r.keyedHash(w.key)
		rows = append(rows, *r)
		lastID, prev = r.ID, r.Hash
		return r.ID
	}

	for _, r := range batch {
		r.id, r.err = 0, nil
		if r.start != nil && r.outcome != nil {
			// Record: the start row, then its finish row.
			s := startRow(r.start, w.id)
			id := insert(&s)
			f := finishRow(id, r.at, s.TimeNS, r.outcome)
			insert(&f)
			r.id = id
			continue
		}
		var row row
		if r.start != nil {
			row = startRow(r.start, w.id)
		} else {
			startNS, ok := startedHere[r.finishID]
			if !ok {
				s, found := starts[r.finishID]
				switch {
				case !found || s.kind != "start":
					r.err = pluginapi.NotFound("audit entry %d not found", r.finishID)
					continue
				case s.finished:
					r.err = pluginapi.Errorf(pluginapi.CodeConflict, "audit entry %d is already finished", r.finishID)
					continue
				}
				startNS = s.timeNS
			}
			if finishedHere[r.finishID] {
				r.err = pluginapi.Errorf(pluginapi.CodeConflict, "audit entry %d is already finished", r.finishID)
				continue
			}
			row = finishRow(r.finishID, r.at, startNS, r.outcome)
		}
		r.id = insert(&row)
		if r.start != nil {
			if startedHere == nil {
				startedHere = map[int64]int64{}
			}
			startedHere[r.id] = row.TimeNS
		} else {
			finishedHere[r.finishID] = true
		}
	}
	if err := w.insertRows(ctx, rows); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	w.headID, w.headHash = lastID, prev
	return nil
}

// lookupStarts reads the committed rows the batch's finishes refer to
// (ids up to the head; a larger one is unknown unless started in this
// batch). SQLite answers a prepared query per id at once; PostgreSQL gets
// one query for all, a round trip per finish would bound the throughput.
func (w *writer) lookupStarts(ctx context.Context, batch []*request, head int64) (map[int64]startInfo, error) {
	var ids []int64
	for _, r := range batch {
		if r.start == nil && r.finishID > 0 && r.finishID <= head {
			ids = append(ids, r.finishID)
		}
	}
	found := make(map[int64]startInfo, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	if w.h.Dialect() == store.SQLite {
		for _, id := range ids {
			var s startInfo
			switch err := w.startOf.QueryRowContext(ctx, id).Scan(&s.kind, &s.timeNS, &s.finished); {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return nil, err
			default:
				found[id] = s
			}
		}
		return found, nil
	}
	rows, err := w.conn.QueryContext(ctx, `SELECT s.id, s.kind, s.time_ns, EXISTS (SELECT 1 FROM audit_log f WHERE f.ref_id = s.id)
		FROM audit_log s WHERE s.id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var s startInfo
		if err := rows.Scan(&id, &s.kind, &s.timeNS, &s.finished); err != nil {
			return nil, err
		}
		found[id] = s
	}
	return found, rows.Err()
}

// insertRows inserts the batch's rows: one prepared INSERT each on SQLite
// (in-process, cheap), multi-row INSERTs on PostgreSQL (one round trip per
// pgRowsPerInsert rows). A failed insert is a rowError: the batch is then
// retried a request at a time, so one bad row fails only its own caller.
func (w *writer) insertRows(ctx context.Context, rows []row) error {
	if w.h.Dialect() == store.SQLite {
		for i := range rows {
			if _, err := w.insert.ExecContext(ctx, rows[i].args()...); err != nil {
				return rowError{fmt.Errorf("insert audit row %d: %w", rows[i].ID, err)}
			}
		}
		return nil
	}
	for len(rows) > 0 {
		n := min(len(rows), pgRowsPerInsert)
		var q strings.Builder
		q.Grow(80 + n*numColumns*6)
		q.WriteString(`INSERT INTO audit_log (` + columns + `) VALUES `)
		args := make([]any, 0, n*numColumns)
		for i := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for c := range numColumns {
				if c > 0 {
					q.WriteByte(',')
				}
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args) + c + 1))
			}
			q.WriteByte(')')
			args = append(args, rows[i].args()...)
		}
		if _, err := w.conn.ExecContext(ctx, q.String(), args...); err != nil {
			return rowError{fmt.Errorf("insert audit rows %d to %d: %w", rows[0].ID, rows[n-1].ID, err)}
		}
		rows = rows[n:]
	}
	return nil
}

// dropBroken forgets the PostgreSQL connection after a failed transaction:
// it may be broken (a server restart, a network cut), and a new one costs
// little. SQLite's in-process connection cannot break.
func (w *writer) dropBroken() {
	if w.h.Dialect() == store.Postgres {
		w.closeConn()
	}
}

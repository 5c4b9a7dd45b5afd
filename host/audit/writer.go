package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
// Log's writer goroutine uses it.
type writer struct {
	key     []byte // the chain key
	conn    *sql.Conn
	last    *sql.Stmt // the newest row's id and hash
	startOf *sql.Stmt // what a Finish refers to
	insert  *sql.Stmt

	// The chain's head after the last commit.
	headID   int64
	headHash []byte
}

const insertSQL = `INSERT INTO audit_log (` + columns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func newWriter(ctx context.Context, db *sql.DB, key []byte) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{key: key, conn: conn}
	// Durability must not depend on how the caller opened db.
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		w.close()
		return nil, err
	}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&w.last, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`},
		{&w.startOf, `SELECT kind, time_ns, EXISTS (SELECT 1 FROM audit_log f WHERE f.ref_id = s.id)
			FROM audit_log s WHERE s.id = ?`},
		{&w.insert, insertSQL},
	} {
		if *p.stmt, err = conn.PrepareContext(ctx, p.query); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// head reads the chain's head from the table (id 0 and zeros when empty)
// and remembers it.
func (w *writer) head(ctx context.Context) (int64, []byte, error) {
	id, hash := int64(0), make([]byte, hashSize)
	switch err := w.last.QueryRowContext(ctx).Scan(&id, &hash); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, nil, err
	}
	w.headID, w.headHash = id, hash
	return id, hash, nil
}

func (w *writer) close() error {
	for _, s := range []*sql.Stmt{w.last, w.startOf, w.insert} {
		if s != nil {
			s.Close()
		}
	}
	return w.conn.Close()
}

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

// writeTx writes batch in one transaction. Requests that are rejected
// (unknown or already finished id) get their error without aborting the
// transaction; a returned error means nothing was committed.
func (w *writer) writeTx(batch []*request) (err error) {
	ctx := context.Background()
	// IMMEDIATE: take the write lock before reading the chain's head, so
	// another process cannot append in between.
	if _, err := w.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(ctx, `ROLLBACK`); rbErr != nil {
				err = errors.Join(err, rbErr)
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

	// Starts written in this batch, so a Finish in the same batch can
	// refer to them; finishes written in this batch, to refuse a second.
	var startedHere map[int64]int64 // id → time_ns
	finishedHere := map[int64]bool{}

	// insert appends row to the chain.
	insert := func(row *row) error {
		row.ID = lastID + 1
		row.PrevHash = prev
		row.Hash = row.keyedHash(w.key)
		if _, err := w.insert.ExecContext(ctx, row.args()...); err != nil {
			return rowError{fmt.Errorf("insert audit row %d: %w", row.ID, err)}
		}
		lastID, prev = row.ID, row.Hash
		return nil
	}

	for _, r := range batch {
		r.id, r.err = 0, nil
		if r.start != nil && r.outcome != nil {
			// Record: the start row, then its finish row.
			s := startRow(r.start)
			if err := insert(&s); err != nil {
				return err
			}
			f := finishRow(s.ID, r.at, s.TimeNS, r.outcome)
			if err := insert(&f); err != nil {
				return err
			}
			r.id = s.ID
			continue
		}
		var row row
		if r.start != nil {
			row = startRow(r.start)
		} else {
			startNS, ok := startedHere[r.finishID]
			if !ok {
				var kind string
				var finished bool
				switch err := w.startOf.QueryRowContext(ctx, r.finishID).Scan(&kind, &startNS, &finished); {
				case errors.Is(err, sql.ErrNoRows) || (err == nil && kind != "start"):
					r.err = pluginapi.NotFound("audit entry %d not found", r.finishID)
					continue
				case err != nil:
					return err
				case finished:
					r.err = pluginapi.Errorf(pluginapi.CodeConflict, "audit entry %d is already finished", r.finishID)
					continue
				}
			}
			if finishedHere[r.finishID] {
				r.err = pluginapi.Errorf(pluginapi.CodeConflict, "audit entry %d is already finished", r.finishID)
				continue
			}
			row = finishRow(r.finishID, r.at, startNS, r.outcome)
		}
		if err := insert(&row); err != nil {
			return err
		}
		r.id = row.ID
		if r.start != nil {
			if startedHere == nil {
				startedHere = map[int64]int64{}
			}
			startedHere[row.ID] = row.TimeNS
		} else {
			finishedHere[r.finishID] = true
		}
	}
	if _, err := w.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	w.headID, w.headHash = lastID, prev
	return nil
}

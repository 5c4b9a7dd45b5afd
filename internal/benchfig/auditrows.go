package benchfig

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/store"
)

// AuditCallers is figure 7's number of concurrent mutating callers.
const AuditCallers = 32

var auditRequest = json.RawMessage(`{"spec":{"name":"web","image":"nginx:1.27","replicas":3},"version":"12"}`)

// AuditResult is one run of figure 7 or its reference.
type AuditResult struct {
	RowsPerSecond float64 // durable rows (events) per second
	OpsPerSecond  float64 // Start+Finish pairs per second
	Written       int64   // rows the callers were told are durable
	Counted       int64   // rows counted in the file afterwards
}

// Lost is how many acknowledged rows are missing from the file.
func (r AuditResult) Lost() int64 { return r.Written - r.Counted }

// runWriters runs AuditCallers goroutines calling op for d; op returns the
// rows it wrote durably.
func runWriters(d time.Duration, op func() (int, error)) (rows, ops int64, el time.Duration, err error) {
	var rs, os atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for c := 0; c < AuditCallers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				n, err := op()
				rs.Add(int64(n))
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				os.Add(1)
			}
		}()
	}
	wg.Wait()
	el = time.Since(start)
	err, _ = first.Load().(error)
	return rs.Load(), os.Load(), el, err
}

// AuditLog is figure 7's work: 32 callers each doing audit.Log Start then
// Finish for d, on a fresh SQLite file from store.Open; rows counted after.
func (e *Env) AuditLog(ctx context.Context, d time.Duration) (AuditResult, error) {
	path := filepath.Join(e.Scratch, fmt.Sprintf("audit-%d.db", time.Now().UnixNano()))
	defer removeDB(path)
	db, err := store.Open(path)
	if err != nil {
		return AuditResult{}, err
	}
	defer db.Close()
	return auditLogOn(ctx, db, path+".keys", d)
}

// auditLogOn runs figure 7's work on db, whichever engine store.Open gave
// it, with the audit keys and checkpoint log in a new folder keys.
func auditLogOn(ctx context.Context, db *sql.DB, keys string, d time.Duration) (AuditResult, error) {
	ao, err := audit.LoadOrCreateOptions(keys)
	if err != nil {
		return AuditResult{}, err
	}
	defer os.RemoveAll(keys)
	l, err := audit.New(db, ao)
	if err != nil {
		return AuditResult{}, err
	}
	rows, ops, el, err := runWriters(d, func() (int, error) {
		id, err := l.Start(ctx, audit.Event{Actor: "bench", ClientAddr: "127.0.0.1:1", RequestID: "req",
			Connection: "bench-swarm", Plugin: "docker", Operation: "service.update", Target: "web", Request: auditRequest})
		if err != nil {
			return 0, err
		}
		if err := l.Finish(ctx, id, audit.Outcome{Duration: time.Millisecond}); err != nil {
			return 1, err
		}
		return 2, nil
	})
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return AuditResult{}, err
	}
	r := AuditResult{RowsPerSecond: float64(rows) / el.Seconds(), OpsPerSecond: float64(ops) / el.Seconds(), Written: rows}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&r.Counted)
	return r, err
}

// PlainInserts is the reference: the same 32 callers, same file settings
// (store.Open), the same two rows per operation, each a single-row INSERT
// in its own autocommit transaction.
func (e *Env) PlainInserts(ctx context.Context, d time.Duration) (AuditResult, error) {
	path := filepath.Join(e.Scratch, fmt.Sprintf("plain-%d.db", time.Now().UnixNano()))
	defer removeDB(path)
	db, err := store.Open(path)
	if err != nil {
		return AuditResult{}, err
	}
	defer db.Close()
	return plainInsertsOn(ctx, db, d)
}

// plainInsertsOn runs the reference on db. On PostgreSQL the id comes
// back by RETURNING (it has no LastInsertId); SQLite keeps the plain
// INSERT it was always measured with.
func plainInsertsOn(ctx context.Context, db *sql.DB, d time.Duration) (AuditResult, error) {
	dialect, err := store.DialectOf(db)
	if err != nil {
		return AuditResult{}, err
	}
	db.SetMaxIdleConns(AuditCallers)
	idCol := "id INTEGER PRIMARY KEY"
	if dialect == store.Postgres {
		idCol = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE plain_log (`+idCol+`, kind TEXT, ref_id BIGINT,
		time_ns BIGINT, actor TEXT, client_addr TEXT, request_id TEXT, connection TEXT, plugin TEXT,
		operation TEXT, target TEXT, request TEXT, error_code TEXT, duration_ns BIGINT)`); err != nil {
		return AuditResult{}, err
	}
	ins := dialect.Rebind(`INSERT INTO plain_log (kind, ref_id, time_ns, actor, client_addr, request_id,
		connection, plugin, operation, target, request, error_code, duration_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	insert := func(args ...any) (int64, error) {
		if dialect == store.Postgres {
			var id int64
			err := db.QueryRowContext(ctx, ins+" RETURNING id", args...).Scan(&id)
			return id, err
		}
		res, err := db.ExecContext(ctx, ins, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	rows, ops, el, err := runWriters(d, func() (int, error) {
		id, err := insert("start", nil, time.Now().UnixNano(), "bench", "127.0.0.1:1", "req",
			"bench-swarm", "docker", "service.update", "web", string(auditRequest), "", 0)
		if err != nil {
			return 0, err
		}
		if _, err := insert("finish", id, time.Now().UnixNano(), "", "", "", "", "", "", "", "", "", int64(time.Millisecond)); err != nil {
			return 1, err
		}
		return 2, nil
	})
	if err != nil {
		return AuditResult{}, err
	}
	r := AuditResult{RowsPerSecond: float64(rows) / el.Seconds(), OpsPerSecond: float64(ops) / el.Seconds(), Written: rows}
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM plain_log`).Scan(&r.Counted)
	return r, err
}

func removeDB(path string) {
	for _, s := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + s)
	}
}

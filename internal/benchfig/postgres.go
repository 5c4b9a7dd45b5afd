package benchfig

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// Postgres returns the env's PostgreSQL cluster, started on first use: a
// durable (fsync on) throwaway cluster on loopback from pgtest, stopped by
// Close. Without PostgreSQL installed the error wraps
// pgtest.ErrNotInstalled.
func (e *Env) Postgres() (*pgtest.Standalone, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pg == nil && e.pgErr == nil {
		// The system's temporary folder: the scratch folder is 0700, which
		// the postgres user the cluster runs as (under root) cannot enter.
		e.pg, e.pgErr = pgtest.StartStandalone("")
	}
	return e.pg, e.pgErr
}

// onPostgres opens a fresh database of the env's cluster the way the host
// opens a postgres:// --database (store.Open: its pool bounds, lock
// timeout and checks), runs f on it, then closes and drops it.
func (e *Env) onPostgres(ctx context.Context, f func(*sql.DB) (AuditResult, error)) (AuditResult, error) {
	pg, err := e.Postgres()
	if err != nil {
		return AuditResult{}, err
	}
	dsn, drop, err := pg.NewDatabase(ctx)
	if err != nil {
		return AuditResult{}, err
	}
	db, err := store.Open(dsn)
	if err != nil {
		return AuditResult{}, errors.Join(err, drop())
	}
	r, err := f(db)
	return r, errors.Join(err, db.Close(), drop())
}

// AuditLogPostgres is figure 9: figure 7's work (32 callers, audit.Log
// Start then Finish, for d) on a fresh PostgreSQL database; rows counted
// in the database after.
func (e *Env) AuditLogPostgres(ctx context.Context, d time.Duration) (AuditResult, error) {
	keys := filepath.Join(e.Scratch, fmt.Sprintf("pg-audit-%d.keys", time.Now().UnixNano()))
	return e.onPostgres(ctx, func(db *sql.DB) (AuditResult, error) { return auditLogOn(ctx, db, keys, d) })
}

// PlainInsertsPostgres is figure 9's reference: PlainInserts' callers and
// rows, each a single-row INSERT in its own autocommit transaction, on a
// fresh PostgreSQL database.
func (e *Env) PlainInsertsPostgres(ctx context.Context, d time.Duration) (AuditResult, error) {
	return e.onPostgres(ctx, func(db *sql.DB) (AuditResult, error) { return plainInsertsOn(ctx, db, d) })
}

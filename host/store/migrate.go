package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Step is one schema version of a component, written for each dialect:
// the types differ (BLOB and BYTEA, INTEGER and BIGINT …), so each engine
// gets its own SQL while version i means the same schema on both. A
// dialect with nothing to do at a version says so with SQL that is only a
// comment ("-- nothing to do"): an empty field is refused, so a forgotten
// translation cannot pass for a deliberate no-op.
type Step struct {
	SQLite   string
	Postgres string
}

func (s Step) sql(d Dialect) string {
	if d == Postgres {
		return s.Postgres
	}
	return s.SQLite
}

// MigrateLockTimeout bounds how long a replica waits for another's
// migrations (PostgreSQL) before it gives up starting.
const MigrateLockTimeout = 5 * time.Minute

// migrateLockKey is the PostgreSQL advisory lock every replica takes
// around each migration step: "wharf migrations" hashed, one key for all
// components (migrations are rare and short).
var migrateLockKey = lockKey("migrations")

// Migrate runs the same SQL on every dialect: for components whose steps
// are portable (or not yet ported: their SQLite SQL then fails on
// PostgreSQL). See MigrateSteps.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
	both := make([]Step, len(steps))
	for i, s := range steps {
		both[i] = Step{SQLite: s, Postgres: s}
	}
	return MigrateSteps(ctx, db, component, both)
}

// MigrateSteps brings component's tables up to date by running, in order,
// the steps that have not run yet, in the SQL of db's dialect. Step i
// (0-based) is schema version i+1 of component; each step runs in its own
// transaction together with its record in the schema_migrations table, so
// a failed step leaves nothing half applied (PostgreSQL's DDL is
// transactional too). Steps must never be edited or reordered once
// released: only appended.
//
// Several processes may migrate at once: on SQLite the step's transaction
// holds the file's write lock, on PostgreSQL an advisory transaction lock
// that every replica takes first (waiting at most MigrateLockTimeout).
// Either way a step is checked again under the lock, so it runs once.
func MigrateSteps(ctx context.Context, db *sql.DB, component string, steps []Step) error {
	if component == "" {
		return errors.New("store: migrate: empty component name")
	}
	d, err := DialectOf(db)
	if err != nil {
		return err
	}
	for i, s := range steps {
		if strings.TrimSpace(s.sql(d)) == "" {
			return fmt.Errorf("store: migrate %s: step %d has no %s SQL (write a comment if it has nothing to do)", component, i+1, d)
		}
	}
	if err := ensureMigrationsTable(ctx, db, d); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	// Versions already applied need no lock: the usual restart of an
	// up-to-date replica takes none.
	done, err := appliedVersions(ctx, db, d, component)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	for i, s := range steps {
		if done[i+1] {
			continue
		}
		if err := migrateStep(ctx, db, d, component, i+1, s.sql(d)); err != nil {
			return fmt.Errorf("store: migrate %s to version %d: %w", component, i+1, err)
		}
	}
	return nil
}

// lockedTx begins a transaction holding the migration lock.
func lockedTx(ctx context.Context, db *sql.DB, d Dialect) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, MigrateLockTimeout.Milliseconds())); err != nil {
			tx.Rollback()
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("wait for other replicas' migrations: %w", err)
		}
	}
	return tx, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	component  TEXT NOT NULL,
	version    INTEGER NOT NULL,
	applied_at TEXT NOT NULL,
	PRIMARY KEY (component, version)
)`

// ensureMigrationsTable creates schema_migrations if it is missing. On
// PostgreSQL it does so under the lock: two CREATE TABLE IF NOT EXISTS at
// once can both try to create the table, and one fails. SQLite serializes
// the statement itself.
func ensureMigrationsTable(ctx context.Context, db *sql.DB, d Dialect) error {
	if d == SQLite {
		_, err := db.ExecContext(ctx, createMigrationsTable)
		return err
	}
	tx, err := lockedTx(ctx, db, d)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return err
	}
	return tx.Commit()
}

func appliedVersions(ctx context.Context, db *sql.DB, d Dialect, component string) (map[int]bool, error) {
	rows, err := db.QueryContext(ctx, d.Rebind(`SELECT version FROM schema_migrations WHERE component = ?`), component)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	return done, rows.Err()
}

func migrateStep(ctx context.Context, db *sql.DB, d Dialect, component string, version int, step string) error {
	tx, err := lockedTx(ctx, db, d)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Checked inside the transaction: another process may have migrated
	// between our start and our lock.
	var done int
	if err := tx.QueryRowContext(ctx,
		d.Rebind(`SELECT count(*) FROM schema_migrations WHERE component = ? AND version = ?`),
		component, version).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, step); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		d.Rebind(`INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)`),
		component, version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	return tx.Commit()
}

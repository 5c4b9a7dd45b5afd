package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
)

// DB is one component's handle on the shared database. Its queries are
// written with ? placeholders and run on either dialect (see Rebind), and
// BeginWrite takes the component's write lock up front, so a
// read-then-write transaction behaves the same on both engines. It does
// not embed *sql.DB on purpose: a method it did not wrap would skip the
// rebinding and fail on PostgreSQL only.
type DB struct {
	db        *sql.DB
	dialect   Dialect
	component string
	lock      int64 // PostgreSQL advisory lock key of the component
}

// For returns component's handle on db (opened by Open). component names
// the write lock and is the name the component migrates under.
func For(db *sql.DB, component string) (*DB, error) {
	if component == "" {
		return nil, errors.New("store: empty component name")
	}
	d, err := DialectOf(db)
	if err != nil {
		return nil, err
	}
	return &DB{db: db, dialect: d, component: component, lock: lockKey(component)}, nil
}

// lockKey maps a name to a PostgreSQL advisory lock key. The "wharf/"
// prefix keeps the keys apart from another application's in a shared
// database, as far as a 64-bit hash can.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("wharf/" + name))
	return int64(h.Sum64())
}

// Dialect is the engine behind the handle.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL is the underlying pool, for what the handle does not wrap; queries
// sent through it are not rebound.
func (db *DB) SQL() *sql.DB { return db.db }

// Migrate runs the component's migration steps (see MigrateSteps).
func (db *DB) Migrate(ctx context.Context, steps []Step) error {
	return MigrateSteps(ctx, db.db, db.component, steps)
}

// ExecContext runs a statement outside any transaction.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryContext runs a query outside any transaction.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryRowContext runs a query expected to return at most one row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}

// BeginWrite begins a transaction that holds the component's write lock
// from its first statement to its end, so that what it reads is still true
// when it writes:
//
//   - SQLite: Open makes every transaction BEGIN IMMEDIATE, which takes the
//     file's single write lock (waiting at most BusyTimeout);
//   - PostgreSQL: the transaction (READ COMMITTED) first takes an advisory
//     transaction lock keyed by the component (waiting at most the
//     session's lock_timeout, BusyTimeout unless the URL set another), so
//     the component's writers run one at a time on every replica, and
//     each statement after the lock sees every earlier writer's commit.
//
// One lock per component, not SERIALIZABLE with retries: the components'
// writes are few and short (sign-ins, token and connection changes) or
// serialized anyway (the audit log's one hash chain), a closure run again
// after a serialization failure would have to be free of side effects, and
// this way both engines keep the same semantics. Statements a component
// runs outside BeginWrite do not take the lock: single-statement
// compare-and-set updates need none on either engine.
func (db *DB) BeginWrite(ctx context.Context) (*Tx, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return db.lockTx(ctx, tx)
}

// BeginWriteOn begins a write transaction, holding the component's lock
// as BeginWrite's does, directly on conn, a connection the caller pinned
// so that statements prepared on it stay usable (a *sql.Tx would prepare
// them again in every transaction: the audit writer's case). The caller
// runs its statements on conn and ends the transaction with COMMIT or
// ROLLBACK on conn. conn must come from this handle's pool.
func (db *DB) BeginWriteOn(ctx context.Context, conn *sql.Conn) error {
	if db.dialect == SQLite {
		_, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
		return err
	}
	// One round trip for both (without arguments pgx sends them as one
	// simple query); the key is a number of ours, not input.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`BEGIN; SELECT pg_advisory_xact_lock(%d)`, db.lock)); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return fmt.Errorf("store: %s write lock: %w", db.component, err)
	}
	return nil
}

// lockTx takes the component's write lock in tx (SQLite's BEGIN IMMEDIATE
// took it already).
func (db *DB) lockTx(ctx context.Context, tx *sql.Tx) (*Tx, error) {
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, db.lock); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("store: %s write lock: %w", db.component, err)
		}
	}
	return &Tx{tx: tx, dialect: db.dialect}, nil
}

// Tx is a write transaction from BeginWrite. Like *sql.Tx it is not safe
// for concurrent use.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
}

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.dialect.Rebind(query), args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.dialect.Rebind(query), args...)
}

// QueryRowContext runs a query expected to return at most one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.dialect.Rebind(query), args...)
}

// Commit commits the transaction and releases the lock.
func (tx *Tx) Commit() error { return tx.tx.Commit() }

// Rollback aborts the transaction and releases the lock; after Commit it
// is a no-op returning sql.ErrTxDone.
func (tx *Tx) Rollback() error { return tx.tx.Rollback() }

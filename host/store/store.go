// Package store opens the host's SQLite database and applies schema
// migrations. Every host component that persists state (the audit log,
// connection storage) shares one *sql.DB opened here.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The driver registers itself as "sqlite3".
	_ "github.com/mattn/go-sqlite3"
)

// BusyTimeout is how long a connection waits for another writer's lock
// before failing with "database is locked".
const BusyTimeout = 10 * time.Second

// Open opens (creating if needed) the SQLite database file at path and its
// parent folder. Every connection of the returned pool uses:
//
//   - WAL journal, so readers never block the writer and vice versa;
//   - synchronous=FULL, so a committed transaction survives a power cut
//     (the audit log acknowledges events only after commit);
//   - a busy timeout of BusyTimeout;
//   - foreign keys enforced;
//   - BEGIN IMMEDIATE for transactions, so a read-then-write transaction
//     takes the write lock up front and waits (busy timeout) instead of
//     failing when another connection writes first.
func Open(path string) (*sql.DB, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: create folder for %s: %w", abs, err)
	}
	db, err := sql.Open("sqlite3", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// Check the settings really took effect on a live connection: WAL can
	// silently fail (for example on some network file systems).
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("store: open %s: journal mode is %q, want wal", abs, mode)
	}
	return db, nil
}

// dsn builds a go-sqlite3 data source name. A file: URI with an escaped
// path keeps a '?' or '#' in the folder name from being read as parameters.
func dsn(abs string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	u.RawQuery = q.Encode()
	// url.URL renders "file:///abs"; SQLite accepts an empty authority.
	return u.String()
}

// Migrate brings component's tables up to date by running the steps that
// have not run yet, in order. Step i (0-based) is schema version i+1 of
// component; each step runs in its own transaction together with its
// record in the schema_migrations table, so a failed step leaves nothing
// half applied. Steps must never be edited or reordered once released:
// only appended.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
	if component == "" {
		return errors.New("store: migrate: empty component name")
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component  TEXT NOT NULL,
		version    INTEGER NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version)
	)`); err != nil {
		return fmt.Errorf("store: migrate %s: %w", component, err)
	}
	for i, step := range steps {
		if err := migrateStep(ctx, db, component, i+1, step); err != nil {
			return fmt.Errorf("store: migrate %s to version %d: %w", component, i+1, err)
		}
	}
	return nil
}

func migrateStep(ctx context.Context, db *sql.DB, component string, version int, step string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Checked inside the transaction: another process may have migrated
	// between our start and our lock.
	var done int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE component = ? AND version = ?`,
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
		`INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)`,
		component, version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	return tx.Commit()
}

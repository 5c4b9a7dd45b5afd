// Package store opens the host's database and applies schema migrations.
// Every host component that persists state (the audit log, connection
// storage, identity) shares one *sql.DB opened here.
//
// Two engines: SQLite, the embedded default (one process on one file), and
// PostgreSQL (several replicas on one database). Open tells them apart by
// the data source name; DialectOf tells a handle's engine; For gives a
// component a handle that rebinds ? placeholders and takes the component's
// write lock at the start of each write transaction on either engine.
package store

import (
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

// Open opens the database dsn names: a postgres:// or postgresql:// URL is
// a PostgreSQL database (see openPostgres); anything else is the path of a
// SQLite file, opened (and created if needed, with its parent folder) with,
// on every connection of the pool:
//
//   - WAL journal, so readers never block the writer and vice versa;
//   - synchronous=FULL, so a committed transaction survives a power cut
//     (the audit log acknowledges events only after commit);
//   - a busy timeout of BusyTimeout;
//   - foreign keys enforced;
//   - BEGIN IMMEDIATE for transactions, so a read-then-write transaction
//     takes the write lock up front and waits (busy timeout) instead of
//     failing when another connection writes first.
func Open(dsn string) (*sql.DB, error) {
	if IsPostgresURL(dsn) {
		return openPostgres(dsn)
	}
	return openSQLite(dsn)
}

func openSQLite(path string) (*sql.DB, error) {
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

package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Bounds of a PostgreSQL pool. Each replica holds at most MaxOpenConns
// connections, so a database's max_connections (100 by default) serves
// several replicas; a caller past the bound waits for a free connection.
const (
	MaxOpenConns    = 16
	maxIdleConns    = 4
	connMaxIdleTime = 5 * time.Minute
	// ConnectTimeout bounds Open's first contact with the server.
	ConnectTimeout = 10 * time.Second
)

// minServerVersion is PostgreSQL 13, the oldest release still supported
// upstream when this was written (server_version_num form).
const minServerVersion = 130000

// IsPostgresURL reports whether dsn names a PostgreSQL database: a
// postgres:// or postgresql:// URL (any case of the scheme).
func IsPostgresURL(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// Redact returns dsn with any password (in the user part or a password
// query parameter) replaced by "xxxxx", for logs and error messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		if IsPostgresURL(dsn) {
			// Unparsable: say only what kind of thing it was.
			scheme, _, _ := strings.Cut(dsn, "://")
			return scheme + "://(unparsable URL)"
		}
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// openPostgres opens a pool on the PostgreSQL database of a URL (libpq's
// form: postgres://user:password@host:port/database?sslmode=…; pgx also
// reads the usual PG* environment variables and ~/.pgpass). Unless the URL
// sets it, every session gets lock_timeout = BusyTimeout, so a write
// transaction waiting for a component's lock fails after as long as a
// SQLite writer waits for the file's. Open checks the server answers
// within ConnectTimeout, is at least PostgreSQL 13, and keeps text in
// UTF-8.
func openPostgres(dsn string) (*sql.DB, error) {
	// pgx knows the URL form by its lowercase scheme.
	scheme, rest, _ := strings.Cut(dsn, "://")
	dsn = strings.ToLower(scheme) + "://" + rest
	shown := Redact(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err) // pgx redacts the password
	}
	if _, set := cfg.RuntimeParams["lock_timeout"]; !set {
		cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(BusyTimeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	var version int
	var encoding string
	err = db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_encoding')`).
		Scan(&version, &encoding)
	switch {
	case err != nil:
		err = fmt.Errorf("store: connect to %s: %w", shown, err)
	case version < minServerVersion:
		err = fmt.Errorf("store: %s is PostgreSQL %d.%d, want 13 or later", shown, version/10000, version%10000)
	case encoding != "UTF8":
		err = fmt.Errorf("store: %s keeps text in %s, want UTF8 (CREATE DATABASE … ENCODING 'UTF8')", shown, encoding)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Package identity is the identity store: users as identity providers
// report them, server-side sessions, managed API tokens and role bindings,
// all in the host's shared database: its SQLite file, or the PostgreSQL
// database every replica shares (the same queries on both, see host/store).
//
// Secrets (session cookies, token secrets) are returned once, when made,
// and stored only as their SHA-256: a copy of the database lets nobody sign
// in. host/auth decides who a caller is and what they may do; this package
// only keeps the records, their bounds and their expiry.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wharfhq/wharf/host/store"
)

// Options tunes a Store. Zero (or negative) fields take their defaults.
type Options struct {
	Now                func() time.Time // default time.Now
	SessionIdle        time.Duration    // default 8h
	SessionAbsolute    time.Duration    // default 7 days
	MaxSessionsPerUser int              // default 20 per Principal: creating one more deletes the oldest
	MaxTokensPerUser   int              // default 100 live (non-revoked, non-expired) tokens per user
	MaxServiceTokens   int              // default 1000 live service-account tokens (UserID "") in all
}

// Defaults of Options.
const (
	DefaultSessionIdle        = 8 * time.Hour
	DefaultSessionAbsolute    = 7 * 24 * time.Hour
	DefaultMaxSessionsPerUser = 20
	DefaultMaxTokensPerUser   = 100
	DefaultMaxServiceTokens   = 1000
)

// Store keeps users, sessions, tokens and bindings. It is safe for
// concurrent use, also by several processes on the same SQLite file or
// several replicas on the same PostgreSQL database.
type Store struct {
	db *store.DB
	o  Options
}

// ErrNotFound is wrapped with what was not found:
// fmt.Errorf("token %s: %w", id, ErrNotFound).
var ErrNotFound = errors.New("not found")

// ErrConflict is a write that contradicts what is stored: a duplicate
// token name or binding, deleting a config binding, a limit reached.
var ErrConflict = errors.New("conflict")

// ErrTokenRevoked and ErrTokenExpired say why a token no longer works.
var (
	ErrTokenRevoked = errors.New("token revoked")
	ErrTokenExpired = errors.New("token expired")
)

// ErrUsernameTaken refuses a sign-in whose username another user of the
// same provider holds: bindings name users by username, so the newcomer
// would inherit the other's rights.
var ErrUsernameTaken = errors.New("username taken")

// ErrUserDisabled refuses a session for a disabled user (CreateSession
// checks inside its transaction, so a sign-in racing SetUserDisabled
// cannot leave a live session behind).
var ErrUserDisabled = errors.New("user disabled")

// InvalidError is bad input: Field is a JSON pointer ("/name",
// "/expires_at", "/grants/0/scope") and Reason says why.
//
// The store returns *InvalidError; errors.As finds it with a target of
// either *InvalidError or **InvalidError.
type InvalidError struct{ Field, Reason string }

// Error is "<field>: <reason>".
func (e InvalidError) Error() string { return e.Field + ": " + e.Reason }

// As lets errors.As fill an InvalidError value as well as a pointer.
func (e *InvalidError) As(target any) bool {
	if t, ok := target.(*InvalidError); ok {
		*t = *e
		return true
	}
	return false
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Bounds of lists. Lists return at most this many rows (newest or first
// in their order); the store refuses to grow past the bounds it can keep.
const (
	MaxUsers    = 100000 // users in all; a sign-in past it is refused (ErrConflict)
	MaxBindings = 10000  // bindings of each source
	MaxListed   = 10000  // rows one Sessions or Tokens call returns
)

// Every table of this package is prefixed identity_ so that it cannot
// collide with another component's in the shared database.
//
// Version i is the same schema on both engines. PostgreSQL's types are
// the exact ones (BIGINT nanoseconds, BYTEA hashes, BOOLEAN flags), and
// its tables have a rowid column like SQLite's implicit one, so that the
// queries that order rows made in the same nanosecond by insertion (and
// migration 2) are the same text on both.
var migrations = []store.Step{{
	SQLite: `CREATE TABLE identity_users (
		id           TEXT PRIMARY KEY,
		provider     TEXT NOT NULL,
		subject      TEXT NOT NULL,
		username     TEXT NOT NULL,
		name         TEXT NOT NULL,
		email        TEXT NOT NULL,
		groups       TEXT NOT NULL, -- JSON array, sorted, unique
		disabled     INTEGER NOT NULL DEFAULT 0,
		created_ns   INTEGER NOT NULL,
		last_seen_ns INTEGER NOT NULL,
		UNIQUE (provider, subject)
	);
	CREATE TABLE identity_sessions (
		id                  TEXT PRIMARY KEY,
		secret_hash         BLOB NOT NULL UNIQUE, -- sha256 of the cookie's secret
		principal           TEXT NOT NULL,
		user_id             TEXT NOT NULL,
		method              TEXT NOT NULL,
		client_addr         TEXT NOT NULL,
		user_agent          TEXT NOT NULL,
		created_ns          INTEGER NOT NULL,
		last_seen_ns        INTEGER NOT NULL,
		idle_expires_ns     INTEGER NOT NULL,
		absolute_expires_ns INTEGER NOT NULL
	);
	CREATE INDEX identity_sessions_principal ON identity_sessions (principal, created_ns);
	CREATE INDEX identity_sessions_user ON identity_sessions (user_id, created_ns);
	CREATE TABLE identity_tokens (
		id             TEXT PRIMARY KEY,
		secret_hash    BLOB NOT NULL UNIQUE, -- sha256 of the secret
		name           TEXT NOT NULL,
		user_id        TEXT NOT NULL, -- '' = a service account
		created_by     TEXT NOT NULL,
		grants         TEXT NOT NULL, -- JSON array of access.Grant
		created_ns     INTEGER NOT NULL,
		expires_ns     INTEGER NOT NULL,
		last_used_ns   INTEGER NOT NULL DEFAULT 0,
		last_used_addr TEXT NOT NULL DEFAULT '',
		revoked_ns     INTEGER NOT NULL DEFAULT 0,
		rotated_ns     INTEGER NOT NULL DEFAULT 0,
		expiry_noted   INTEGER NOT NULL DEFAULT 0 -- NoteTokenExpired answered true
	);
	CREATE INDEX identity_tokens_user ON identity_tokens (user_id, name);
	CREATE TABLE identity_bindings (
		id      TEXT PRIMARY KEY,
		subject TEXT NOT NULL,
		role    TEXT NOT NULL,
		scope   TEXT NOT NULL, -- JSON, as written
		source  TEXT NOT NULL, -- api | config
		key     TEXT NOT NULL, -- subject, role and canonical scope: what makes two bindings the same
		UNIQUE (source, key)
	);
	CREATE TABLE identity_generation (
		one INTEGER PRIMARY KEY CHECK (one = 1),
		gen INTEGER NOT NULL
	);
	INSERT INTO identity_generation (one, gen) VALUES (1, 1);`,
	Postgres: `CREATE TABLE identity_users (
		id           TEXT PRIMARY KEY,
		provider     TEXT NOT NULL,
		subject      TEXT NOT NULL,
		username     TEXT NOT NULL,
		name         TEXT NOT NULL,
		email        TEXT NOT NULL,
		groups       TEXT NOT NULL, -- JSON array, sorted, unique
		disabled     BOOLEAN NOT NULL DEFAULT FALSE,
		created_ns   BIGINT NOT NULL,
		last_seen_ns BIGINT NOT NULL,
		rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
		UNIQUE (provider, subject)
	);
	CREATE TABLE identity_sessions (
		id                  TEXT PRIMARY KEY,
		secret_hash         BYTEA NOT NULL UNIQUE, -- sha256 of the cookie's secret
		principal           TEXT NOT NULL,
		user_id             TEXT NOT NULL,
		method              TEXT NOT NULL,
		client_addr         TEXT NOT NULL,
		user_agent          TEXT NOT NULL,
		created_ns          BIGINT NOT NULL,
		last_seen_ns        BIGINT NOT NULL,
		idle_expires_ns     BIGINT NOT NULL,
		absolute_expires_ns BIGINT NOT NULL,
		rowid               BIGINT GENERATED ALWAYS AS IDENTITY
	);
	CREATE INDEX identity_sessions_principal ON identity_sessions (principal, created_ns);
	CREATE INDEX identity_sessions_user ON identity_sessions (user_id, created_ns);
	CREATE TABLE identity_tokens (
		id             TEXT PRIMARY KEY,
		secret_hash    BYTEA NOT NULL UNIQUE, -- sha256 of the secret
		name           TEXT NOT NULL,
		user_id        TEXT NOT NULL, -- '' = a service account
		created_by     TEXT NOT NULL,
		grants         TEXT NOT NULL, -- JSON array of access.Grant
		created_ns     BIGINT NOT NULL,
		expires_ns     BIGINT NOT NULL,
		last_used_ns   BIGINT NOT NULL DEFAULT 0,
		last_used_addr TEXT NOT NULL DEFAULT '',
		revoked_ns     BIGINT NOT NULL DEFAULT 0,
		rotated_ns     BIGINT NOT NULL DEFAULT 0,
		expiry_noted   BOOLEAN NOT NULL DEFAULT FALSE, -- NoteTokenExpired answered true
		rowid          BIGINT GENERATED ALWAYS AS IDENTITY
	);
	CREATE INDEX identity_tokens_user ON identity_tokens (user_id, name);
	CREATE TABLE identity_bindings (
		id      TEXT PRIMARY KEY,
		subject TEXT NOT NULL,
		role    TEXT NOT NULL,
		scope   TEXT NOT NULL, -- JSON, as written
		source  TEXT NOT NULL, -- api | config
		key     BYTEA NOT NULL, -- see migration 3
		UNIQUE (source, key)
	);
	CREATE TABLE identity_generation (
		one INTEGER PRIMARY KEY CHECK (one = 1),
		gen BIGINT NOT NULL
	);
	INSERT INTO identity_generation (one, gen) VALUES (1, 1);`,
}, {
	// A username is one user's at a provider: bindings name users by it.
	// Duplicates an older version let in lose the name (all but the first
	// user), so no binding is shared by accident.
	SQLite: renameDuplicateUsernames, Postgres: renameDuplicateUsernames,
}, {
	// A binding's key separates its parts with NUL bytes, which
	// PostgreSQL's TEXT cannot hold: the key is bytes on both engines (on
	// SQLite a BLOB in the TEXT column, which compares as bytes).
	SQLite:   `UPDATE identity_bindings SET key = CAST(key AS BLOB);`,
	Postgres: `-- nothing to do: the key column was BYTEA from the start`,
}}

const renameDuplicateUsernames = `UPDATE identity_users SET username = username || '#' || id
		WHERE rowid NOT IN (SELECT min(rowid) FROM identity_users GROUP BY provider, username);
	CREATE UNIQUE INDEX identity_users_username ON identity_users (provider, username);`

// New creates or updates the tables on db (opened by host/store.Open, on
// either engine).
func New(ctx context.Context, db *sql.DB, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionAbsolute <= 0 {
		o.SessionAbsolute = DefaultSessionAbsolute
	}
	if o.MaxSessionsPerUser <= 0 {
		o.MaxSessionsPerUser = DefaultMaxSessionsPerUser
	}
	if o.MaxTokensPerUser <= 0 {
		o.MaxTokensPerUser = DefaultMaxTokensPerUser
	}
	if o.MaxServiceTokens <= 0 {
		o.MaxServiceTokens = DefaultMaxServiceTokens
	}
	h, err := store.For(db, "identity")
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if err := h.Migrate(ctx, migrations); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Store{db: h, o: o}, nil
}

// now is the injected clock's time, rounded to what the database keeps
// (nanoseconds, UTC), so returned times equal the ones read back later.
func (s *Store) now() time.Time { return fromNS(s.o.Now().UnixNano()) }

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// toNS stores the zero time as 0.
func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Generation grows with every binding change, user group (or username)
// change and disable: host/auth caches what it derives from bindings and
// users by it.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var g int64
	if err := s.db.QueryRowContext(ctx, `SELECT gen FROM identity_generation`).Scan(&g); err != nil {
		return 0, fmt.Errorf("identity: generation: %w", err)
	}
	return g, nil
}

func bump(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE identity_generation SET gen = gen + 1`)
	return err
}

// inTx runs f in a transaction holding the identity write lock
// (store.DB.BeginWrite) and commits if f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *store.Tx) error) error {
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}

// storable reports whether every s can be compared with stored text.
// PostgreSQL refuses text holding a NUL byte or invalid UTF-8 with an
// error where SQLite simply finds nothing, so a lookup by such an id (from
// a URL, say) is answered "not found" without asking, on both engines.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// b32 is lowercase base32 without padding: ids readable in URLs and logs.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID is prefix + 16 random base32 characters (80 bits).
func newID(prefix string) string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return prefix + b32.EncodeToString(b[:])
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// checkText refuses text that is not valid UTF-8, holds control
// characters, or has fewer than min or more than max characters.
func checkText(field, what, v string, min, max int) error {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		return invalid(field, "%s is not valid UTF-8", what)
	case strings.ContainsFunc(v, unicode.IsControl):
		return invalid(field, "%s holds control characters", what)
	case n < min && min == 1:
		return invalid(field, "%s is required", what)
	case n < min || n > max:
		return invalid(field, "%s must have %d to %d characters, not %d", what, min, max, n)
	}
	return nil
}

// truncate cuts s to at most max bytes on a character boundary, for
// informational text (user agents, addresses) that must not fail a request.
func truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

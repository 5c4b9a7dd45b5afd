// Package connstore stores connections: named, configured instances of a
// plugin (for example "local-swarm" = the docker plugin + its config).
//
// A connection's config holds secrets (tokens, keys), so it is encrypted
// at rest with AES-256-GCM; the connection's name is the additional
// authenticated data, so a ciphertext copied onto another row does not
// decrypt. Updates use optimistic concurrency: every change bumps Version
// and Update refuses a stale one.
package connstore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// Connection is a named, configured instance of a plugin.
type Connection struct {
	Name   string `json:"name"`   // lowercase letters, digits, dashes; 1–63 chars
	Plugin string `json:"plugin"` // the plugin's name
	// Config is the full connection config, secrets included: never
	// return it to users or plugins unredacted.
	Config json.RawMessage `json:"config"`
	// ApprovedHosts are the host patterns of the plugin's describe that an
	// administrator allowed this connection's plugin to reach (without
	// credentials). Not secret, so stored in the clear.
	ApprovedHosts []string `json:"approved_hosts"`
	// Labels (team=payments, env=prod) let role bindings select
	// connections; Kubernetes' rules (see CheckLabels). Not secret, so
	// stored in the clear. Never nil when read.
	Labels map[string]string `json:"labels"`
	// Version starts at 1 and grows by one with every change.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// KeySize is the length of the encryption key: AES-256.
const KeySize = 32

// Store keeps connections in the host's database (SQLite or PostgreSQL,
// see host/store). It is safe for concurrent use, also by several
// processes or replicas on one database: every write is one conditional
// statement.
type Store struct {
	db   *store.DB
	aead cipher.AEAD
}

// Version i is the same schema on both engines; PostgreSQL gets BYTEA and
// BIGINT nanoseconds.
var migrations = []store.Step{{
	SQLite: `CREATE TABLE connections (
		name       TEXT PRIMARY KEY,
		plugin     TEXT NOT NULL,
		config     BLOB NOT NULL, -- format byte, nonce, AES-256-GCM sealed config
		version    INTEGER NOT NULL,
		created_ns INTEGER NOT NULL,
		updated_ns INTEGER NOT NULL
	)`,
	Postgres: `CREATE TABLE connections (
		name       TEXT PRIMARY KEY,
		plugin     TEXT NOT NULL,
		config     BYTEA NOT NULL, -- format byte, nonce, AES-256-GCM sealed config
		version    BIGINT NOT NULL,
		created_ns BIGINT NOT NULL,
		updated_ns BIGINT NOT NULL
	)`,
}, {
	// A JSON array of host patterns; existing connections approve none.
	SQLite:   addApprovedHosts,
	Postgres: addApprovedHosts,
}, {
	// A JSON object of label key to value; existing connections have none.
	SQLite:   addLabels,
	Postgres: addLabels,
}, {
	// Replicas learn of each other's changes (see watch.go).
	SQLite:   "-- nothing to do: one process",
	Postgres: pgChangeTrigger,
}}

const (
	addApprovedHosts = `ALTER TABLE connections ADD COLUMN approved_hosts TEXT NOT NULL DEFAULT '[]'`
	addLabels        = `ALTER TABLE connections ADD COLUMN labels TEXT NOT NULL DEFAULT '{}'`
)

// sealV1 marks the ciphertext format: 12-byte nonce, then GCM output.
const sealV1 = 1

// New creates the connections table if needed. key must be KeySize bytes
// (see LoadOrCreateKey).
func New(db *sql.DB, key []byte) (*Store, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("connstore: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("connstore: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("connstore: %w", err)
	}
	h, err := store.For(db, "connstore")
	if err != nil {
		return nil, fmt.Errorf("connstore: %w", err)
	}
	if err := h.Migrate(context.Background(), migrations); err != nil {
		return nil, fmt.Errorf("connstore: %w", err)
	}
	return &Store{db: h, aead: aead}, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)

// ValidName reports whether name is a valid connection name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Limits of ApprovedHosts and the plugin name.
const (
	maxPluginLen      = 255
	MaxApprovedHosts  = 64
	maxHostPatternLen = 255
)

// hostsJSON encodes c.ApprovedHosts for the approved_hosts column.
func hostsJSON(c Connection) (string, error) {
	if len(c.ApprovedHosts) > MaxApprovedHosts {
		return "", pluginapi.Invalid("/approved_hosts", "connection %s: at most %d approved hosts, not %d", c.Name, MaxApprovedHosts, len(c.ApprovedHosts))
	}
	for i, h := range c.ApprovedHosts {
		if h == "" || len(h) > maxHostPatternLen {
			return "", pluginapi.Invalid(fmt.Sprintf("/approved_hosts/%d", i), "connection %s: an approved host must have 1 to %d characters", c.Name, maxHostPatternLen)
		}
	}
	hosts := c.ApprovedHosts
	if hosts == nil {
		hosts = []string{}
	}
	b, err := json.Marshal(hosts)
	return string(b), err
}

// check validates c for writing and returns its config compacted.
func check(c Connection) (json.RawMessage, error) {
	if !ValidName(c.Name) {
		return nil, pluginapi.Invalid("/name",
			"connection name %q is not valid: use 1 to 63 lowercase letters, digits and dashes", c.Name)
	}
	if c.Plugin == "" {
		return nil, pluginapi.Invalid("/plugin", "connection %s needs a plugin", c.Name)
	}
	// No plugin is called so, and PostgreSQL's text could not hold it.
	if len(c.Plugin) > maxPluginLen || !utf8.ValidString(c.Plugin) || strings.ContainsFunc(c.Plugin, unicode.IsControl) {
		return nil, pluginapi.Invalid("/plugin", "connection %s: a plugin name is at most %d bytes of text without control characters", c.Name, maxPluginLen)
	}
	if len(c.Config) == 0 {
		return json.RawMessage(`{}`), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c.Config, &obj); err != nil || obj == nil {
		return nil, pluginapi.Invalid("/config", "connection %s: config must be a JSON object", c.Name)
	}
	return c.Config, nil
}

// Get returns the connection called name, or a not_found error.
func (s *Store) Get(ctx context.Context, name string) (Connection, error) {
	if !ValidName(name) { // cannot exist
		return Connection{}, notFound(name)
	}
	row := s.db.QueryRowContext(ctx, `SELECT name, plugin, config, approved_hosts, labels, version, created_ns, updated_ns
		FROM connections WHERE name = ?`, name)
	c, err := s.scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Connection{}, notFound(name)
	}
	return c, err
}

// List returns every connection, by name.
func (s *Store) List(ctx context.Context) ([]Connection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, plugin, config, approved_hosts, labels, version, created_ns, updated_ns
		FROM connections ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("connstore: list: %w", err)
	}
	defer rows.Close()
	out := []Connection{}
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("connstore: list: %w", err)
	}
	return out, nil
}

// Create stores a new connection with Version 1 (c.Version and the times
// are ignored). A taken name is a conflict.
func (s *Store) Create(ctx context.Context, c Connection) (Connection, error) {
	cfg, err := check(c)
	if err != nil {
		return Connection{}, err
	}
	hosts, err := hostsJSON(c)
	if err != nil {
		return Connection{}, err
	}
	labels, err := labelsJSON(c)
	if err != nil {
		return Connection{}, err
	}
	now := time.Now().UTC()
	sealed, err := s.seal(c.Name, cfg)
	if err != nil {
		return Connection{}, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO connections (name, plugin, config, approved_hosts, labels, version, created_ns, updated_ns)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING`, c.Name, c.Plugin, sealed, hosts, labels, now.UnixNano(), now.UnixNano())
	if err != nil {
		return Connection{}, fmt.Errorf("connstore: create %s: %w", c.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Connection{}, &pluginapi.Error{Code: pluginapi.CodeConflict, Field: "/name", Message: fmt.Sprintf("connection %s already exists", c.Name)}
	}
	return Connection{Name: c.Name, Plugin: c.Plugin, Config: cfg, ApprovedHosts: cloneHosts(c.ApprovedHosts),
		Labels: CloneLabels(c.Labels), Version: 1, CreatedAt: now, UpdatedAt: now}, nil
}

// Update replaces the plugin, config, approved hosts and labels of an
// existing connection. c.Version
// must be the version the caller read; otherwise someone else changed the
// connection meanwhile and Update is a conflict. Unknown names are not_found.
func (s *Store) Update(ctx context.Context, c Connection) (Connection, error) {
	cfg, err := check(c)
	if err != nil {
		return Connection{}, err
	}
	return s.update(ctx, c, cfg, c.Version)
}

func (s *Store) update(ctx context.Context, c Connection, cfg json.RawMessage, version int64) (Connection, error) {
	name, plugin := c.Name, c.Plugin
	hosts, err := hostsJSON(c)
	if err != nil {
		return Connection{}, err
	}
	labels, err := labelsJSON(c)
	if err != nil {
		return Connection{}, err
	}
	sealed, err := s.seal(name, cfg)
	if err != nil {
		return Connection{}, err
	}
	now := time.Now().UTC()
	// One conditional statement: atomic without holding a transaction.
	row := s.db.QueryRowContext(ctx, `UPDATE connections SET plugin = ?, config = ?, approved_hosts = ?, labels = ?, version = version + 1, updated_ns = ?
		WHERE name = ? AND version = ? RETURNING version, created_ns`, plugin, sealed, hosts, labels, now.UnixNano(), name, version)
	var created int64
	var newVersion int64
	switch err := row.Scan(&newVersion, &created); {
	case err == nil:
		return Connection{Name: name, Plugin: plugin, Config: cfg, ApprovedHosts: cloneHosts(c.ApprovedHosts),
			Labels: CloneLabels(c.Labels), Version: newVersion,
			CreatedAt: time.Unix(0, created).UTC(), UpdatedAt: now}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Connection{}, fmt.Errorf("connstore: update %s: %w", name, err)
	}
	// Nothing matched: tell a missing connection from a stale version.
	var current int64
	err = s.db.QueryRowContext(ctx, `SELECT version FROM connections WHERE name = ?`, name).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Connection{}, notFound(name)
	case err != nil:
		return Connection{}, fmt.Errorf("connstore: update %s: %w", name, err)
	}
	return Connection{}, pluginapi.Errorf(pluginapi.CodeConflict,
		"connection %s was changed by someone else (version %d, you had %d)", name, current, version)
}

// Put creates the connection or makes the stored one equal to c, whatever
// its version (used to apply the config file at start). Version is bumped
// only when the plugin, the config, the approved hosts or the labels
// actually changed (JSON compared by value, so formatting and key order do
// not count).
func (s *Store) Put(ctx context.Context, c Connection) (Connection, error) {
	cfg, err := check(c)
	if err != nil {
		return Connection{}, err
	}
	// Optimistic loop: another writer may get in between our read and write.
	for attempt := 0; ; attempt++ {
		cur, err := s.Get(ctx, c.Name)
		switch {
		case pluginapi.CodeOf(err) == pluginapi.CodeNotFound:
			created, err := s.Create(ctx, c)
			if pluginapi.CodeOf(err) == pluginapi.CodeConflict && attempt < 10 {
				continue
			}
			return created, err
		case err != nil:
			return Connection{}, err
		}
		if cur.Plugin == c.Plugin && sameJSON(cur.Config, cfg) && slices.Equal(cur.ApprovedHosts, cloneHosts(c.ApprovedHosts)) &&
			maps.Equal(cur.Labels, c.Labels) {
			return cur, nil
		}
		updated, err := s.update(ctx, c, cfg, cur.Version)
		if code := pluginapi.CodeOf(err); (code == pluginapi.CodeConflict || code == pluginapi.CodeNotFound) && attempt < 10 {
			continue
		}
		return updated, err
	}
}

// Delete removes the connection called name; unknown names are not_found.
func (s *Store) Delete(ctx context.Context, name string) error {
	if !ValidName(name) {
		return notFound(name)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM connections WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("connstore: delete %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(name)
	}
	return nil
}

func notFound(name string) error {
	return pluginapi.NotFound("connection %s not found", name)
}

// scan reads one row and decrypts its config.
func (s *Store) scan(row interface{ Scan(...any) error }) (Connection, error) {
	var c Connection
	var sealed []byte
	var hosts, labels string
	var created, updated int64
	if err := row.Scan(&c.Name, &c.Plugin, &sealed, &hosts, &labels, &c.Version, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("connstore: read: %w", err)
	}
	cfg, err := s.open(c.Name, sealed)
	if err != nil {
		return Connection{}, err
	}
	c.Config = cfg
	if err := json.Unmarshal([]byte(hosts), &c.ApprovedHosts); err != nil || c.ApprovedHosts == nil {
		// Unreadable approvals approve nothing.
		c.ApprovedHosts = []string{}
	}
	if c.Labels, err = decodeLabels(c.Name, labels); err != nil {
		return Connection{}, err
	}
	c.CreatedAt, c.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return c, nil
}

// seal encrypts config for the row called name.
func (s *Store) seal(name string, config []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(config)+s.aead.Overhead())
	out[0] = sealV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("connstore: %w", err)
	}
	return s.aead.Seal(out, out[1:], config, []byte(name)), nil
}

// open decrypts the config of the row called name.
func (s *Store) open(name string, sealed []byte) (json.RawMessage, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns || sealed[0] != sealV1 {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("connection %s: stored config is not in a known format", name)}
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(name))
	if err != nil {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("connection %s: cannot decrypt its config: wrong key, or the row was tampered with", name)}
	}
	return plain, nil
}

// cloneHosts copies hosts, nil as empty.
func cloneHosts(hosts []string) []string {
	return append([]string{}, hosts...)
}

// sameJSON reports whether a and b hold equal JSON values. Numbers are
// compared by their text (so no precision is lost on big integers).
func sameJSON(a, b []byte) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

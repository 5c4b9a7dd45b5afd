package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

// SessionInput describes a new session.
type SessionInput struct {
	// Principal is who the session acts as: a user id ("usr_…"), a managed
	// token id ("tok_…") or a bootstrap key ("cfg:…").
	Principal string
	// UserID is the user the session belongs to ("" for bootstrap-token
	// sessions), for listing and ending a user's sessions.
	UserID     string
	Method     string // "oidc:<provider>", "token", "bootstrap-token"
	ClientAddr string // cut to 256 bytes
	UserAgent  string // cut to 256 bytes
}

// Session is a signed-in browser, kept on the server; the cookie holds
// only its secret.
type Session struct {
	ID         string `json:"id"` // "ses_" + random: shown to admins, never the secret
	Principal  string `json:"principal"`
	UserID     string `json:"user_id"`
	Method     string `json:"method"`
	ClientAddr string `json:"client_addr"`
	UserAgent  string `json:"user_agent"`

	CreatedAt       time.Time `json:"created_at"`
	LastSeen        time.Time `json:"last_seen"`
	IdleExpires     time.Time `json:"idle_expires"`     // never after AbsoluteExpires
	AbsoluteExpires time.Time `json:"absolute_expires"` // CreatedAt + Options.SessionAbsolute
}

// TouchEvery is how often SessionBySecret writes a session's last use:
// idle expiry is precise to it, and a busy page costs one write a minute.
const TouchEvery = time.Minute

const (
	maxPrincipalLen = 320
	maxMethodLen    = 128
	maxAddrLen      = 256
	maxUserAgentLen = 256
	maxIDLen        = 64
	// A session secret is 32 bytes in unpadded base64url.
	sessionSecretLen = 43
)

const sessionColumns = `id, principal, user_id, method, client_addr, user_agent, created_ns, last_seen_ns, idle_expires_ns, absolute_expires_ns`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var ss Session
	var created, seen, idle, abs int64
	if err := row.Scan(&ss.ID, &ss.Principal, &ss.UserID, &ss.Method, &ss.ClientAddr, &ss.UserAgent,
		&created, &seen, &idle, &abs); err != nil {
		return Session{}, err
	}
	ss.CreatedAt, ss.LastSeen, ss.IdleExpires, ss.AbsoluteExpires = fromNS(created), fromNS(seen), fromNS(idle), fromNS(abs)
	return ss, nil
}

// live reports whether ss has expired neither way at now.
func (ss Session) live(now time.Time) bool {
	return now.Before(ss.IdleExpires) && now.Before(ss.AbsoluteExpires)
}

// CreateSession starts a session and returns its secret (32 random bytes,
// unpadded base64url), stored only as its SHA-256. Beyond
// Options.MaxSessionsPerUser sessions of the same principal, the oldest
// are deleted. A session for a disabled user is ErrUserDisabled.
func (s *Store) CreateSession(ctx context.Context, in SessionInput) (secret string, _ Session, err error) {
	if err := checkText("/principal", "principal", in.Principal, 1, maxPrincipalLen); err != nil {
		return "", Session{}, err
	}
	if err := checkText("/user_id", "user id", in.UserID, 0, maxIDLen); err != nil {
		return "", Session{}, err
	}
	if err := checkText("/method", "method", in.Method, 1, maxMethodLen); err != nil {
		return "", Session{}, err
	}
	var raw [32]byte
	rand.Read(raw[:]) // never fails
	secret = base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	ss := Session{
		ID: newID("ses_"), Principal: in.Principal, UserID: in.UserID, Method: in.Method,
		ClientAddr: truncate(in.ClientAddr, maxAddrLen), UserAgent: truncate(in.UserAgent, maxUserAgentLen),
		CreatedAt: now, LastSeen: now, AbsoluteExpires: now.Add(s.o.SessionAbsolute),
	}
	ss.IdleExpires = earliest(now.Add(s.o.SessionIdle), ss.AbsoluteExpires)
	err = s.inTx(ctx, func(tx *store.Tx) error {
		if in.UserID != "" {
			var disabled bool
			err := tx.QueryRowContext(ctx, `SELECT disabled FROM identity_users WHERE id = ?`, in.UserID).Scan(&disabled)
			switch {
			case err == nil && disabled:
				return fmt.Errorf("user %s: %w", in.UserID, ErrUserDisabled)
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("identity: create session: %w", err)
			}
		}
		// Expired sessions do not count against the limit.
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE principal = ? AND (idle_expires_ns <= ? OR absolute_expires_ns <= ?)`,
			in.Principal, toNS(now), toNS(now)); err != nil {
			return fmt.Errorf("identity: create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_sessions (secret_hash, `+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			hashSecret(secret), ss.ID, ss.Principal, ss.UserID, ss.Method, ss.ClientAddr, ss.UserAgent,
			toNS(ss.CreatedAt), toNS(ss.LastSeen), toNS(ss.IdleExpires), toNS(ss.AbsoluteExpires)); err != nil {
			return fmt.Errorf("identity: create session: %w", err)
		}
		// rowid orders sessions made at the same instant.
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE principal = ? AND id NOT IN (
			SELECT id FROM identity_sessions WHERE principal = ? ORDER BY created_ns DESC, rowid DESC LIMIT ?)`,
			in.Principal, in.Principal, s.o.MaxSessionsPerUser); err != nil {
			return fmt.Errorf("identity: create session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", Session{}, err
	}
	return secret, ss, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// SessionBySecret returns the session of a cookie's secret. An unknown
// secret, or a session past its idle or absolute expiry, is ErrNotFound
// (an expired row is deleted). A live session's last use is written at
// most once every TouchEvery, moving its idle expiry on, never past the
// absolute one; the returned Session shows what is stored.
func (s *Store) SessionBySecret(ctx context.Context, secret string) (Session, error) {
	notFound := fmt.Errorf("session: %w", ErrNotFound) // never echo a secret
	if len(secret) != sessionSecretLen {
		return Session{}, notFound
	}
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM identity_sessions WHERE secret_hash = ?`, hashSecret(secret)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Session{}, notFound
	case err != nil:
		return Session{}, fmt.Errorf("identity: session: %w", err)
	}
	now := s.now()
	if !ss.live(now) {
		// Conditional: a request that touched it meanwhile keeps it.
		if _, err := s.db.ExecContext(ctx, `DELETE FROM identity_sessions WHERE id = ? AND (idle_expires_ns <= ? OR absolute_expires_ns <= ?)`,
			ss.ID, toNS(now), toNS(now)); err != nil {
			return Session{}, fmt.Errorf("identity: session %s: %w", ss.ID, err)
		}
		return Session{}, fmt.Errorf("session %s expired: %w", ss.ID, ErrNotFound)
	}
	if now.Sub(ss.LastSeen) < TouchEvery {
		return ss, nil
	}
	idle := earliest(now.Add(s.o.SessionIdle), ss.AbsoluteExpires)
	res, err := s.db.ExecContext(ctx, `UPDATE identity_sessions SET last_seen_ns = ?, idle_expires_ns = ? WHERE id = ? AND last_seen_ns = ?`,
		toNS(now), toNS(idle), ss.ID, toNS(ss.LastSeen))
	if err != nil {
		return Session{}, fmt.Errorf("identity: touch session %s: %w", ss.ID, err)
	}
	// Zero rows: another request touched (or someone deleted) it first;
	// this request was still made inside a live session.
	if n, _ := res.RowsAffected(); n == 1 {
		ss.LastSeen, ss.IdleExpires = now, idle
	}
	return ss, nil
}

// Session returns the live session with id (for admins; it does not count
// as a use).
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	if !storable(id) {
		return Session{}, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM identity_sessions WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Session{}, fmt.Errorf("session %s: %w", id, ErrNotFound)
	case err != nil:
		return Session{}, fmt.Errorf("identity: session %s: %w", id, err)
	case !ss.live(s.now()):
		return Session{}, fmt.Errorf("session %s expired: %w", id, ErrNotFound)
	}
	return ss, nil
}

// DeleteSession ends a session; ErrNotFound if there is none with id.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if !storable(id) {
		return fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM identity_sessions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("identity: delete session %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return nil
}

// Sessions lists the live sessions of a user ("" = every live session),
// newest first, at most MaxListed.
func (s *Store) Sessions(ctx context.Context, userID string) ([]Session, error) {
	if !storable(userID) {
		return []Session{}, nil
	}
	now := toNS(s.now())
	q := `SELECT ` + sessionColumns + ` FROM identity_sessions WHERE idle_expires_ns > ? AND absolute_expires_ns > ?`
	args := []any{now, now}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY created_ns DESC, rowid DESC LIMIT ?`
	args = append(args, MaxListed)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("identity: sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("identity: sessions: %w", err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity: sessions: %w", err)
	}
	return out, nil
}

// DeleteUserSessions ends every session of a user and returns how many
// there were. An empty userID is an InvalidError (it would mean every
// bootstrap-token session).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, invalid("/user_id", "user id is required")
	}
	return s.deleteSessions(ctx, `user_id = ?`, userID)
}

// DeletePrincipalSessions ends every session acting as principal (a token
// revoked or rotated, a bootstrap key removed) and returns how many.
func (s *Store) DeletePrincipalSessions(ctx context.Context, principal string) (int, error) {
	if principal == "" {
		return 0, invalid("/principal", "principal is required")
	}
	return s.deleteSessions(ctx, `principal = ?`, principal)
}

func (s *Store) deleteSessions(ctx context.Context, where, arg string) (int, error) {
	if !storable(arg) {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM identity_sessions WHERE `+where, arg)
	if err != nil {
		return 0, fmt.Errorf("identity: delete sessions of %s: %w", arg, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

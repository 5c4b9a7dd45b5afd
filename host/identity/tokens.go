package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/store"
)

// TokenPrefix starts every managed token's secret, so secret scanners can
// find leaked ones.
const TokenPrefix = "wharf_pat_"

// A secret is TokenPrefix, tokenRandLen base62 characters from
// crypto/rand (238 bits) and tokenSumLen base62 characters of the CRC-32
// of those: a typo is refused without a database lookup.
const (
	tokenRandLen   = 40
	tokenSumLen    = 6 // 62^6 > 2^32
	tokenSecretLen = len(TokenPrefix) + tokenRandLen + tokenSumLen
	base62         = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// LooksLikeToken reports whether s has a managed token's form: prefix,
// length, alphabet and checksum. Any one-character change fails it.
func LooksLikeToken(s string) bool {
	if len(s) != tokenSecretLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	body := s[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	random, sum := body[:tokenRandLen], body[tokenRandLen:]
	return sum == checksum(random)
}

// checksum is the CRC-32 (IEEE) of random in tokenSumLen base62 digits.
func checksum(random string) string {
	n := crc32.ChecksumIEEE([]byte(random))
	var out [tokenSumLen]byte
	for i := tokenSumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out[:])
}

func newTokenSecret() string {
	var b strings.Builder
	b.WriteString(TokenPrefix)
	var buf [64]byte
	for b.Len() < len(TokenPrefix)+tokenRandLen {
		rand.Read(buf[:]) // never fails
		for _, c := range buf {
			// 248 = 4×62: rejecting the rest keeps every character equally likely.
			if c < 248 && b.Len() < len(TokenPrefix)+tokenRandLen {
				b.WriteByte(base62[c%62])
			}
		}
	}
	random := b.String()[len(TokenPrefix):]
	b.WriteString(checksum(random))
	return b.String()
}

// TokenInput describes a new managed API token.
type TokenInput struct {
	// Name is 1–64 letters, digits, '.', '_', '-' and spaces (spaces at the
	// ends are trimmed), unique among the owner's live tokens.
	Name string
	// UserID is the owning user, who must exist and not be disabled; ""
	// is a service account.
	UserID string
	// Grants are 1–MaxTokenGrants grants, each Check()ed. The caller
	// checks they are no wider than the creator's rights.
	Grants access.Grants
	// ExpiresAt is required and must be in the future (the caller checks
	// the longest lifetime allowed).
	ExpiresAt time.Time
	CreatedBy string // actor text for display, cut to 320 bytes
}

// Token is a managed API token, without its secret.
type Token struct {
	ID        string        `json:"id"` // "tok_" + random; not secret
	Name      string        `json:"name"`
	UserID    string        `json:"user_id"` // "" = a service account
	CreatedBy string        `json:"created_by"`
	Grants    access.Grants `json:"grants"`

	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	LastUsedAt   time.Time `json:"last_used_at,omitzero"` // zero = never
	LastUsedAddr string    `json:"last_used_addr,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"` // zero = not revoked
	RotatedAt    time.Time `json:"rotated_at,omitzero"` // zero = never rotated
}

// State is "active", "revoked" or "expired" (at now), for listings.
func (t Token) State(now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Bounds of tokens.
const (
	MaxTokenGrants  = 32
	maxTokenNameLen = 64
	maxCreatedByLen = 320
)

// TokenRetention is how long a revoked or expired token stays listed
// before Prune deletes it.
const TokenRetention = 30 * 24 * time.Hour

// latest is the last time stored as nanoseconds in an int64.
var latest = time.Unix(0, math.MaxInt64).UTC()

func checkToken(in TokenInput, now time.Time) (string, error) {
	name := strings.Trim(in.Name, " ")
	if n := utf8.RuneCountInString(name); n == 0 || n > maxTokenNameLen {
		return "", invalid("/name", "a token name must have 1 to %d characters, not %d", maxTokenNameLen, n)
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._- ", r)
	}) {
		return "", invalid("/name", "a token name may hold only letters, digits, '.', '_', '-' and spaces")
	}
	if err := checkText("/user_id", "user id", in.UserID, 0, maxIDLen); err != nil {
		return "", err
	}
	if err := checkGrants(in.Grants); err != nil {
		return "", err
	}
	switch {
	case in.ExpiresAt.IsZero():
		return "", invalid("/expires_at", "an expiry is required")
	case !in.ExpiresAt.After(now):
		return "", invalid("/expires_at", "the expiry %s is not in the future", in.ExpiresAt.UTC().Format(time.RFC3339))
	case in.ExpiresAt.After(latest):
		return "", invalid("/expires_at", "the expiry %s is later than the store can keep (%s)", in.ExpiresAt.UTC().Format(time.RFC3339), latest.Format(time.RFC3339))
	}
	return name, nil
}

func checkGrants(gs access.Grants) error {
	if len(gs) == 0 || len(gs) > MaxTokenGrants {
		return invalid("/grants", "a token needs 1 to %d grants, not %d", MaxTokenGrants, len(gs))
	}
	for i, g := range gs {
		if err := checkGrant(fmt.Sprintf("/grants/%d", i), g); err != nil {
			return err
		}
	}
	return nil
}

// checkGrant runs g.Check, naming the field at fault under prefix.
func checkGrant(prefix string, g access.Grant) error {
	if !g.Role.Valid() {
		return invalid(prefix+"/role", "role %q is not one of viewer, operator, admin, owner", g.Role)
	}
	if err := g.Check(); err != nil {
		return invalid(prefix+"/scope", "%v", err)
	}
	return nil
}

const tokenColumns = `id, name, user_id, created_by, grants, created_ns, expires_ns, last_used_ns, last_used_addr, revoked_ns, rotated_ns`

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var grants string
	var created, expires, used, revoked, rotated int64
	if err := row.Scan(&t.ID, &t.Name, &t.UserID, &t.CreatedBy, &grants, &created, &expires, &used, &t.LastUsedAddr, &revoked, &rotated); err != nil {
		return Token{}, err
	}
	if err := json.Unmarshal([]byte(grants), &t.Grants); err != nil {
		return Token{}, fmt.Errorf("identity: token %s: unreadable grants: %w", t.ID, err)
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = fromNS(created), fromNS(expires), fromNS(used)
	t.RevokedAt, t.RotatedAt = fromNS(revoked), fromNS(rotated)
	return t, nil
}

func (s *Store) tokenTx(ctx context.Context, tx *store.Tx, id string) (Token, error) {
	if !storable(id) {
		return Token{}, fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM identity_tokens WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Token{}, fmt.Errorf("token %s: %w", id, ErrNotFound)
	case err != nil:
		return Token{}, fmt.Errorf("identity: token %s: %w", id, err)
	}
	return t, nil
}

// CreateToken makes a token and returns its secret, shown once: the store
// keeps only its SHA-256. A name taken by a live token of the same owner,
// or an owner at their limit of live tokens (Options.MaxTokensPerUser,
// Options.MaxServiceTokens), is ErrConflict.
func (s *Store) CreateToken(ctx context.Context, in TokenInput) (secret string, _ Token, err error) {
	now := s.now()
	name, err := checkToken(in, now)
	if err != nil {
		return "", Token{}, err
	}
	grants, err := json.Marshal(in.Grants)
	if err != nil {
		return "", Token{}, fmt.Errorf("identity: create token: %w", err)
	}
	t := Token{ID: newID("tok_"), Name: name, UserID: in.UserID, CreatedBy: truncate(in.CreatedBy, maxCreatedByLen),
		Grants: append(access.Grants{}, in.Grants...), CreatedAt: now, ExpiresAt: fromNS(in.ExpiresAt.UnixNano())}
	secret = newTokenSecret()
	limit, owner := s.o.MaxTokensPerUser, "user "+in.UserID+" already has"
	if in.UserID == "" {
		limit, owner = s.o.MaxServiceTokens, "service accounts already have"
	}
	err = s.inTx(ctx, func(tx *store.Tx) error {
		if in.UserID != "" {
			var disabled bool
			err := tx.QueryRowContext(ctx, `SELECT disabled FROM identity_users WHERE id = ?`, in.UserID).Scan(&disabled)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("user %s: %w", in.UserID, ErrNotFound)
			case err != nil:
				return fmt.Errorf("identity: create token: %w", err)
			case disabled:
				return fmt.Errorf("user %s: %w", in.UserID, ErrUserDisabled)
			}
		}
		var live, named int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), count(CASE WHEN name = ? THEN 1 END) FROM identity_tokens
			WHERE user_id = ? AND revoked_ns = 0 AND expires_ns > ?`, name, in.UserID, toNS(now)).Scan(&live, &named); err != nil {
			return fmt.Errorf("identity: create token: %w", err)
		}
		if named > 0 {
			return fmt.Errorf("%s a live token named %q: %w", owner, name, ErrConflict)
		}
		if live >= limit {
			return fmt.Errorf("%s %d live tokens, the limit: revoke one first: %w", owner, live, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_tokens (secret_hash, id, name, user_id, created_by, grants, created_ns, expires_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, hashSecret(secret), t.ID, t.Name, t.UserID, t.CreatedBy, string(grants),
			toNS(t.CreatedAt), toNS(t.ExpiresAt)); err != nil {
			return fmt.Errorf("identity: create token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// TokenBySecret returns the token of a secret. A secret that does not
// LooksLikeToken, or is unknown (also the old secret of a rotated token),
// is ErrNotFound; a revoked token is returned with ErrTokenRevoked, an
// expired one with ErrTokenExpired, so the caller can say which.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (Token, error) {
	notFound := fmt.Errorf("token: %w", ErrNotFound) // never echo a secret
	if !LooksLikeToken(secret) {
		return Token{}, notFound
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM identity_tokens WHERE secret_hash = ?`, hashSecret(secret)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Token{}, notFound
	case err != nil:
		return Token{}, fmt.Errorf("identity: token: %w", err)
	}
	return t, t.state(s.now())
}

// state is nil for a live token, else why it is not.
func (t Token) state(now time.Time) error {
	switch {
	case !t.RevokedAt.IsZero():
		return fmt.Errorf("token %s (%s): %w", t.ID, t.Name, ErrTokenRevoked)
	case !now.Before(t.ExpiresAt):
		return fmt.Errorf("token %s (%s): %w", t.ID, t.Name, ErrTokenExpired)
	}
	return nil
}

// Token returns the token with id, whatever its state.
func (s *Store) Token(ctx context.Context, id string) (Token, error) {
	if !storable(id) {
		return Token{}, fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM identity_tokens WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Token{}, fmt.Errorf("token %s: %w", id, ErrNotFound)
	case err != nil:
		return Token{}, fmt.Errorf("identity: token %s: %w", id, err)
	}
	return t, nil
}

// endedNS is when a token stopped working: its revocation if that came
// before its expiry, else its expiry. Lists and Prune use it.
const endedNS = `(CASE WHEN revoked_ns != 0 AND revoked_ns < expires_ns THEN revoked_ns ELSE expires_ns END)`

// Tokens lists tokens, newest first, at most MaxListed: with all false
// those of userID ("" = service accounts), with all true everyone's.
// Revoked and expired tokens are listed for TokenRetention after they
// ended.
func (s *Store) Tokens(ctx context.Context, userID string, all bool) ([]Token, error) {
	if !all && !storable(userID) {
		return []Token{}, nil
	}
	q := `SELECT ` + tokenColumns + ` FROM identity_tokens WHERE ` + endedNS + ` > ?`
	args := []any{toNS(s.now().Add(-TokenRetention))}
	if !all {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY created_ns DESC, rowid DESC LIMIT ?`
	args = append(args, MaxListed)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("identity: tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("identity: tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity: tokens: %w", err)
	}
	return out, nil
}

// MarkTokenUsed records a use of the token from addr (cut to 256 bytes).
// first reports that it had never been used (audited as "first use"). It
// writes at most once every TouchEvery, except for the first use.
func (s *Store) MarkTokenUsed(ctx context.Context, id, addr string) (first bool, err error) {
	if !storable(id) {
		return false, fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	var last int64
	err = s.db.QueryRowContext(ctx, `SELECT last_used_ns FROM identity_tokens WHERE id = ?`, id).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("token %s: %w", id, ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("identity: token %s: %w", id, err)
	}
	now := s.now()
	if last != 0 && now.Sub(fromNS(last)) < TouchEvery {
		return false, nil
	}
	// Compare-and-set on the old value: of two first uses at once, one
	// reports first.
	res, err := s.db.ExecContext(ctx, `UPDATE identity_tokens SET last_used_ns = ?, last_used_addr = ? WHERE id = ? AND last_used_ns = ?`,
		toNS(now), truncate(addr, maxAddrLen), id, last)
	if err != nil {
		return false, fmt.Errorf("identity: token %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return last == 0 && n == 1, nil
}

// NoteTokenExpired reports true exactly once for an expired token, so
// that its expiry is audited once; false while it has not expired.
func (s *Store) NoteTokenExpired(ctx context.Context, id string) (first bool, err error) {
	if !storable(id) {
		return false, fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE identity_tokens SET expiry_noted = TRUE WHERE id = ? AND expiry_noted = FALSE AND expires_ns <= ?`,
		id, toNS(s.now()))
	if err != nil {
		return false, fmt.Errorf("identity: token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if _, err := s.Token(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// RevokeToken stops a token at once and ends the sessions made with it.
// An unknown id is ErrNotFound; a token already revoked is returned with
// ErrTokenRevoked. An expired token can still be revoked.
func (s *Store) RevokeToken(ctx context.Context, id string) (Token, error) {
	var t Token
	err := s.inTx(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = s.tokenTx(ctx, tx, id); err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return fmt.Errorf("token %s (%s): %w", t.ID, t.Name, ErrTokenRevoked)
		}
		t.RevokedAt = s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE identity_tokens SET revoked_ns = ? WHERE id = ?`, toNS(t.RevokedAt), id); err != nil {
			return fmt.Errorf("identity: revoke token %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE principal = ?`, id); err != nil {
			return fmt.Errorf("identity: revoke token %s: %w", id, err)
		}
		return nil
	})
	return t, err
}

// RotateToken gives a live token a new secret, keeping its id, name,
// grants and expiry; the old secret stops working at once, and the
// sessions made with it end. A revoked or expired token cannot rotate: it
// is returned with ErrTokenRevoked or ErrTokenExpired.
func (s *Store) RotateToken(ctx context.Context, id string) (secret string, _ Token, err error) {
	var t Token
	secret = newTokenSecret()
	err = s.inTx(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = s.tokenTx(ctx, tx, id); err != nil {
			return err
		}
		now := s.now()
		if err := t.state(now); err != nil {
			return err
		}
		t.RotatedAt = now
		if _, err := tx.ExecContext(ctx, `UPDATE identity_tokens SET secret_hash = ?, rotated_ns = ? WHERE id = ?`,
			hashSecret(secret), toNS(now), id); err != nil {
			return fmt.Errorf("identity: rotate token %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE principal = ?`, id); err != nil {
			return fmt.Errorf("identity: rotate token %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return "", t, err
	}
	return secret, t, nil
}

// Prune deletes expired sessions, and tokens that ended (were revoked or
// expired) more than TokenRetention ago together with their sessions. It
// returns how many sessions and tokens it deleted.
func (s *Store) Prune(ctx context.Context) (sessions, tokens int, err error) {
	now := s.now()
	cutoff := toNS(now.Add(-TokenRetention))
	err = s.inTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE idle_expires_ns <= ? OR absolute_expires_ns <= ?
			OR principal IN (SELECT id FROM identity_tokens WHERE `+endedNS+` <= ?)`, toNS(now), toNS(now), cutoff)
		if err != nil {
			return fmt.Errorf("identity: prune sessions: %w", err)
		}
		n, _ := res.RowsAffected()
		sessions = int(n)
		if res, err = tx.ExecContext(ctx, `DELETE FROM identity_tokens WHERE `+endedNS+` <= ?`, cutoff); err != nil {
			return fmt.Errorf("identity: prune tokens: %w", err)
		}
		n, _ = res.RowsAffected()
		tokens = int(n)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return sessions, tokens, nil
}

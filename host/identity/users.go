package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

// UserInput is what an identity provider reports at sign-in.
type UserInput struct {
	Provider string // the provider's name in the config ("corp", "proxy"): no "/"
	Subject  string // the provider's stable id of the user (OIDC "sub")
	Username string // shown, and used in binding subjects user:<provider>/<username>
	Name     string
	Email    string
	Groups   []string // empty names are dropped
}

// User is one person as one identity provider knows them.
type User struct {
	ID       string   `json:"id"` // "usr_" + 16 random base32 characters
	Provider string   `json:"provider"`
	Subject  string   `json:"subject"`
	Username string   `json:"username"`
	Name     string   `json:"name"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"` // as the provider last reported them, sorted, deduplicated; never nil
	Disabled bool     `json:"disabled"`

	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// Bounds of a user's fields. They keep user:<provider>/<username> and
// group:<provider>/<group> within access's subject length.
const (
	MaxGroups      = 256 // more groups in one sign-in is an InvalidError at /groups
	maxProviderLen = 64
	maxOIDCSubLen  = 255 // OpenID Connect Core 1.0 §2: sub is at most 255 ASCII characters
	maxUsernameLen = 200
	maxGroupLen    = 200
	maxNameLen     = 256
	maxEmailLen    = 320
)

func checkUser(in UserInput) ([]string, error) {
	if err := checkText("/provider", "provider", in.Provider, 1, maxProviderLen); err != nil {
		return nil, err
	}
	if strings.Contains(in.Provider, "/") {
		return nil, invalid("/provider", "provider %q holds a \"/\"", in.Provider)
	}
	for _, f := range []struct {
		field, what, v string
		min, max       int
	}{
		{"/subject", "subject", in.Subject, 1, maxOIDCSubLen},
		{"/username", "username", in.Username, 1, maxUsernameLen},
		{"/name", "name", in.Name, 0, maxNameLen},
		{"/email", "email", in.Email, 0, maxEmailLen},
	} {
		if err := checkText(f.field, f.what, f.v, f.min, f.max); err != nil {
			return nil, err
		}
	}
	if len(in.Groups) > MaxGroups {
		return nil, invalid("/groups", "at most %d groups, not %d", MaxGroups, len(in.Groups))
	}
	groups := make([]string, 0, len(in.Groups))
	for i, g := range in.Groups {
		if g == "" {
			continue
		}
		if err := checkText(fmt.Sprintf("/groups/%d", i), "group", g, 1, maxGroupLen); err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

const userColumns = `id, provider, subject, username, name, email, groups, disabled, created_ns, last_seen_ns`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var groups string
	var created, seen int64
	if err := row.Scan(&u.ID, &u.Provider, &u.Subject, &u.Username, &u.Name, &u.Email, &groups, &u.Disabled, &created, &seen); err != nil {
		return User{}, err
	}
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return User{}, fmt.Errorf("identity: user %s: unreadable groups: %w", u.ID, err)
	}
	if u.Groups == nil {
		u.Groups = []string{}
	}
	u.CreatedAt, u.LastSeen = fromNS(created), fromNS(seen)
	return u, nil
}

// UpsertUser records a sign-in: it creates the user of (Provider, Subject)
// the first time, and otherwise updates the username, name, email, groups
// and last-seen time. A disabled user stays disabled (the caller refuses
// the sign-in). A username another subject of the provider holds is
// ErrUsernameTaken. A new user, a username change or a group change bumps
// the Generation.
func (s *Store) UpsertUser(ctx context.Context, in UserInput) (u User, created bool, err error) {
	groups, err := checkUser(in)
	if err != nil {
		return User{}, false, err
	}
	groupsJSON, err := json.Marshal(groups)
	if err != nil {
		return User{}, false, fmt.Errorf("identity: %w", err)
	}
	now := s.now()
	err = s.inTx(ctx, func(tx *store.Tx) error {
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT id FROM identity_users WHERE provider = ? AND username = ? AND subject <> ?`,
			in.Provider, in.Username, in.Subject).Scan(&holder)
		switch {
		case err == nil:
			return fmt.Errorf("username %s/%s is user %s's, whose identity-provider subject differs: %w", in.Provider, in.Username, holder, ErrUsernameTaken)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("identity: upsert user: %w", err)
		}
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM identity_users WHERE provider = ? AND subject = ?`,
			in.Provider, in.Subject))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identity_users`).Scan(&n); err != nil {
				return fmt.Errorf("identity: upsert user: %w", err)
			}
			if n >= MaxUsers {
				return fmt.Errorf("identity: the store holds %d users, its limit: %w", n, ErrConflict)
			}
			u = User{ID: newID("usr_"), Provider: in.Provider, Subject: in.Subject, CreatedAt: now}
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?)`,
				u.ID, in.Provider, in.Subject, in.Username, in.Name, in.Email, string(groupsJSON), toNS(now), toNS(now)); err != nil {
				return fmt.Errorf("identity: create user: %w", err)
			}
		case err != nil:
			return fmt.Errorf("identity: upsert user: %w", err)
		default:
			u = old
			if _, err := tx.ExecContext(ctx, `UPDATE identity_users SET username = ?, name = ?, email = ?, groups = ?, last_seen_ns = ? WHERE id = ?`,
				in.Username, in.Name, in.Email, string(groupsJSON), toNS(now), old.ID); err != nil {
				return fmt.Errorf("identity: update user %s: %w", old.ID, err)
			}
		}
		if created || old.Username != in.Username || !slices.Equal(old.Groups, groups) {
			if err := bump(ctx, tx); err != nil {
				return fmt.Errorf("identity: upsert user: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return User{}, false, err
	}
	u.Username, u.Name, u.Email, u.Groups, u.LastSeen = in.Username, in.Name, in.Email, groups, now
	return u, created, nil
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	if !storable(id) {
		return User{}, fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM identity_users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return u, err
}

// UserBy returns the user of an identity provider's subject.
func (s *Store) UserBy(ctx context.Context, provider, subject string) (User, error) {
	if !storable(provider, subject) {
		return User{}, fmt.Errorf("user %s/%s: %w", provider, subject, ErrNotFound)
	}
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM identity_users WHERE provider = ? AND subject = ?`,
		provider, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s/%s: %w", provider, subject, ErrNotFound)
	}
	return u, err
}

// Users returns every user (at most MaxUsers), sorted by provider, then
// username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM identity_users
		ORDER BY provider, username, id LIMIT ?`, MaxUsers)
	if err != nil {
		return nil, fmt.Errorf("identity: users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("identity: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity: users: %w", err)
	}
	return out, nil
}

// SetUserDisabled disables or enables a user. Disabling also deletes every
// session of the user (their own and their tokens'). A change bumps the
// Generation.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	if !storable(id) {
		return fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return s.inTx(ctx, func(tx *store.Tx) error {
		var was bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM identity_users WHERE id = ?`, id).Scan(&was)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("user %s: %w", id, ErrNotFound)
		case err != nil:
			return fmt.Errorf("identity: disable user %s: %w", id, err)
		}
		if was != disabled {
			if _, err := tx.ExecContext(ctx, `UPDATE identity_users SET disabled = ? WHERE id = ?`, disabled, id); err != nil {
				return fmt.Errorf("identity: disable user %s: %w", id, err)
			}
			if err := bump(ctx, tx); err != nil {
				return fmt.Errorf("identity: disable user %s: %w", id, err)
			}
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM identity_sessions WHERE user_id = ? OR principal = ?`, id, id); err != nil {
				return fmt.Errorf("identity: disable user %s: %w", id, err)
			}
		}
		return nil
	})
}

package identity

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/store"
)

// Binding sources.
const (
	SourceAPI    = "api"    // made through the API, CLI or portal
	SourceConfig = "config" // seeded from the config file by ReplaceConfigBindings
)

// checkBinding runs b.Check, naming the field at fault under prefix.
func checkBinding(prefix string, b access.Binding) error {
	if _, err := access.ParseSubject(string(b.Subject)); err != nil {
		return invalid(prefix+"/subject", "%v", err)
	}
	return checkGrant(prefix, b.Grant)
}

// bindingKey is what makes two bindings the same: subject, role and scope,
// the scope in a canonical form (names sorted, selector requirements
// sorted), so "b,a" and "a,b" are one binding.
func bindingKey(b access.Binding) (string, error) {
	var sc string
	switch {
	case b.Scope.IsAll():
		sc = "all"
	case b.Scope.Selector() != "":
		sel, err := labels.Parse(b.Scope.Selector())
		if err != nil { // Check passed, so this cannot happen
			return "", fmt.Errorf("identity: binding scope: %w", err)
		}
		sc = "selector:" + sel.String()
	default:
		names, err := json.Marshal(b.Scope.Connections())
		if err != nil {
			return "", fmt.Errorf("identity: binding scope: %w", err)
		}
		sc = "connections:" + string(names)
	}
	return string(b.Subject) + "\x00" + string(b.Role) + "\x00" + sc, nil
}

func scanBinding(row interface{ Scan(...any) error }) (access.Binding, error) {
	var b access.Binding
	var scope string
	if err := row.Scan(&b.ID, &b.Subject, &b.Role, &scope, &b.Source); err != nil {
		return access.Binding{}, err
	}
	if err := json.Unmarshal([]byte(scope), &b.Scope); err != nil {
		return access.Binding{}, fmt.Errorf("identity: binding %s: unreadable scope: %w", b.ID, err)
	}
	return b, nil
}

const bindingColumns = `id, subject, role, scope, source`

// Bindings returns every binding, sorted by subject, then id.
func (s *Store) Bindings(ctx context.Context) ([]access.Binding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+bindingColumns+` FROM identity_bindings ORDER BY subject, id LIMIT ?`, 2*MaxBindings)
	if err != nil {
		return nil, fmt.Errorf("identity: bindings: %w", err)
	}
	defer rows.Close()
	out := []access.Binding{}
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, fmt.Errorf("identity: bindings: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity: bindings: %w", err)
	}
	return out, nil
}

// CreateBinding stores b (its ID and Source are ignored) with a new ID
// ("bnd_" + random) and Source "api". A bad subject, role or scope is an
// InvalidError at /subject, /role or /scope; an api binding with the same
// subject, role and scope, or MaxBindings api bindings, is ErrConflict.
func (s *Store) CreateBinding(ctx context.Context, b access.Binding) (access.Binding, error) {
	if err := checkBinding("", b); err != nil {
		return access.Binding{}, err
	}
	key, err := bindingKey(b)
	if err != nil {
		return access.Binding{}, err
	}
	scope, err := json.Marshal(b.Scope)
	if err != nil {
		return access.Binding{}, fmt.Errorf("identity: create binding: %w", err)
	}
	b.ID, b.Source = newID("bnd_"), SourceAPI
	err = s.inTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identity_bindings WHERE source = ?`, SourceAPI).Scan(&n); err != nil {
			return fmt.Errorf("identity: create binding: %w", err)
		}
		if n >= MaxBindings {
			return fmt.Errorf("there are %d bindings, the limit: delete one first: %w", n, ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO identity_bindings (`+bindingColumns+`, key) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, b.ID, b.Subject, b.Role, string(scope), b.Source, []byte(key))
		if err != nil {
			return fmt.Errorf("identity: create binding: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s already has %s: %w", b.Subject, b.Grant, ErrConflict)
		}
		return bump(ctx, tx)
	})
	if err != nil {
		return access.Binding{}, err
	}
	return b, nil
}

// DeleteBinding deletes the binding with id and returns it. An unknown id
// is ErrNotFound; a binding from the config file is ErrConflict (it would
// come back at the next start: edit the file instead).
func (s *Store) DeleteBinding(ctx context.Context, id string) (access.Binding, error) {
	if !storable(id) {
		return access.Binding{}, fmt.Errorf("binding %s: %w", id, ErrNotFound)
	}
	var b access.Binding
	err := s.inTx(ctx, func(tx *store.Tx) error {
		var err error
		b, err = scanBinding(tx.QueryRowContext(ctx, `SELECT `+bindingColumns+` FROM identity_bindings WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("binding %s: %w", id, ErrNotFound)
		case err != nil:
			return fmt.Errorf("identity: delete binding %s: %w", id, err)
		case b.Source == SourceConfig:
			return fmt.Errorf("binding %s is from the config file: edit it there: %w", id, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_bindings WHERE id = ?`, id); err != nil {
			return fmt.Errorf("identity: delete binding %s: %w", id, err)
		}
		return bump(ctx, tx)
	})
	if err != nil {
		return access.Binding{}, err
	}
	return b, nil
}

// ReplaceConfigBindings makes the config file's bindings exactly bs, in
// one transaction: readers see the old set or the new one, never a mix.
// Each gets Source "config" and a stable ID, "bnd_cfg_" + a hash of its
// subject, role and scope, so it keeps its ID across restarts; duplicates
// are stored once. A bad binding is an InvalidError at
// /bindings/<index>/subject (or role, scope) and changes nothing. The
// Generation grows only if the set changed.
func (s *Store) ReplaceConfigBindings(ctx context.Context, bs []access.Binding) error {
	if len(bs) > MaxBindings {
		return invalid("/bindings", "at most %d bindings, not %d", MaxBindings, len(bs))
	}
	type row struct {
		b          access.Binding
		scope, key string
	}
	want := map[string]row{} // by ID
	for i, b := range bs {
		if err := checkBinding(fmt.Sprintf("/bindings/%d", i), b); err != nil {
			return err
		}
		key, err := bindingKey(b)
		if err != nil {
			return err
		}
		scope, err := json.Marshal(b.Scope)
		if err != nil {
			return fmt.Errorf("identity: config bindings: %w", err)
		}
		h := sha256.Sum256([]byte(key))
		b.ID, b.Source = "bnd_cfg_"+hex.EncodeToString(h[:8]), SourceConfig
		if _, dup := want[b.ID]; !dup {
			want[b.ID] = row{b, string(scope), key}
		}
	}
	return s.inTx(ctx, func(tx *store.Tx) error {
		had, err := configBindings(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_bindings WHERE source = ?`, SourceConfig); err != nil {
			return fmt.Errorf("identity: config bindings: %w", err)
		}
		now := map[string]string{}
		for id, r := range want {
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_bindings (`+bindingColumns+`, key) VALUES (?, ?, ?, ?, ?, ?)`,
				id, r.b.Subject, r.b.Role, r.scope, SourceConfig, []byte(r.key)); err != nil {
				return fmt.Errorf("identity: config binding %s: %w", r.b.Subject, err)
			}
			now[id] = r.scope
		}
		if maps.Equal(had, now) {
			return nil
		}
		return bump(ctx, tx)
	})
}

// configBindings maps the stored config bindings' IDs to their scope text.
func configBindings(ctx context.Context, tx *store.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, scope FROM identity_bindings WHERE source = ?`, SourceConfig)
	if err != nil {
		return nil, fmt.Errorf("identity: config bindings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, scope string
		if err := rows.Scan(&id, &scope); err != nil {
			return nil, fmt.Errorf("identity: config bindings: %w", err)
		}
		out[id] = scope
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity: config bindings: %w", err)
	}
	return out, nil
}

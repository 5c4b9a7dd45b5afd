package connstore

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

func TestApprovedHosts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		c, err := s.Create(ctx, Connection{Name: "c1", Plugin: "p", Config: json.RawMessage(`{}`), ApprovedHosts: []string{"logs.*.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, "c1")
		if !slices.Equal(got.ApprovedHosts, []string{"logs.*.example.com"}) || !slices.Equal(c.ApprovedHosts, got.ApprovedHosts) {
			t.Fatalf("approved hosts %v / %v", c.ApprovedHosts, got.ApprovedHosts)
		}
		got.ApprovedHosts = nil
		if _, err := s.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Get(ctx, "c1"); got.ApprovedHosts == nil || len(got.ApprovedHosts) != 0 {
			t.Fatalf("after clearing: %#v", got.ApprovedHosts)
		}
		// Put notices a change of approvals alone.
		put, err := s.Put(ctx, Connection{Name: "c1", Plugin: "p", Config: json.RawMessage(`{}`), ApprovedHosts: []string{"a.example.com"}})
		if err != nil || put.Version != got.Version+1 {
			t.Fatalf("put: %+v %v", put, err)
		}
		// Bounded.
		many := make([]string, MaxApprovedHosts+1)
		for i := range many {
			many[i] = "h.example.com"
		}
		_, err = s.Create(ctx, Connection{Name: "c2", Plugin: "p", ApprovedHosts: many})
		wantCode(t, "too many", err, pluginapi.CodeInvalid)
		_, err = s.Create(ctx, Connection{Name: "c2", Plugin: "p", ApprovedHosts: []string{""}})
		wantCode(t, "empty", err, pluginapi.CodeInvalid)
	})
}

// TestMigrationKeepsConnections opens a database made by the first schema
// version and checks its rows survive with no approved hosts.
func TestMigrationKeepsConnections(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		path := e.newDSN(t)
		sqlDB, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.For(sqlDB, "connstore")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, migrations[:1]); err != nil {
			t.Fatal(err)
		}
		// A row as the first version wrote it (sealed with the same key).
		sealer, err := New(sqlDB, testKey(7))
		if err != nil {
			t.Fatal(err)
		}
		sealed, _ := sealer.seal("legacy", []byte(`{"a":1}`))
		if _, err := db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE component = 'connstore' AND version = 2`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE connections DROP COLUMN approved_hosts`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO connections (name, plugin, config, version, created_ns, updated_ns) VALUES ('legacy', 'p', ?, 1, 1, 1)`, sealed); err != nil {
			t.Fatal(err)
		}
		db.SQL().Close()
		s2, _ := openStore(t, path, testKey(7))
		c, err := s2.Get(ctx, "legacy")
		if err != nil || string(c.Config) != `{"a":1}` || c.ApprovedHosts == nil || len(c.ApprovedHosts) != 0 {
			t.Fatalf("legacy row after migration: %+v %v", c, err)
		}
	})
}

package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenSettingsOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	// A folder name with characters that are special in URIs.
	path := filepath.Join(t.TempDir(), "a dir?x=1#y", "sub", "wharf.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %s: %v", path, err)
	}
	// Hold several connections at once so each is a different one.
	for i := 0; i < 3; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, tc := range []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, tc.pragma, got, tc.want)
			}
		}
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(" "); err == nil {
		t.Fatal("Open accepted an empty path")
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	steps := []string{
		`CREATE TABLE a (x INTEGER)`,
		`INSERT INTO a VALUES (1)`,
	}
	for i := 0; i < 2; i++ { // the second run must be a no-op
		if err := Migrate(ctx, db, "comp", steps); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in a = %d (%v), want 1: a step ran twice or not at all", n, err)
	}

	// A failing step leaves neither its changes nor its record behind;
	// a fixed step then applies.
	bad := append(steps, `INSERT INTO a VALUES (2); INSERT INTO nosuch VALUES (1)`)
	if err := Migrate(ctx, db, "comp", bad); err == nil {
		t.Fatal("failing step reported success")
	}
	if err := db.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in a after failed step = %d (%v), want 1", n, err)
	}
	good := append(steps, `INSERT INTO a VALUES (2)`)
	if err := Migrate(ctx, db, "comp", good); err != nil {
		t.Fatal(err)
	}
	// Another component's versions are independent.
	if err := Migrate(ctx, db, "other", []string{`CREATE TABLE b (y)`}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT component, version FROM schema_migrations ORDER BY component, version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var c string
		var v int
		if err := rows.Scan(&c, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, c+":"+string(rune('0'+v)))
	}
	want := []string{"comp:1", "comp:2", "comp:3", "other:1"}
	if len(got) != len(want) {
		t.Fatalf("schema_migrations = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("schema_migrations = %v, want %v", got, want)
		}
	}
}

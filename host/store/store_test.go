package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/pgtest"
)

// TestMain stops the test PostgreSQL cluster, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

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

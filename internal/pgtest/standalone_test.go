package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A standalone cluster is durable (fsync on, unlike the tests' cluster),
// gives fresh databases that drop cleanly, and leaves nothing after Stop.
func TestStandaloneIsDurableAndStopsClean(t *testing.T) {
	ensure(t) // skips or fails like New when PostgreSQL is missing
	ctx := context.Background()
	s, err := StartStandalone("")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	for _, name := range []string{"fsync", "full_page_writes"} {
		if v, err := s.Setting(ctx, name); err != nil || v != "on" {
			t.Errorf("%s = %q, %v; want on", name, v, err)
		}
	}
	a, dropA, err := s.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, dropB, err := s.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two databases share a URL: %s", a)
	}
	if u, err := url.Parse(a); err != nil || u.Hostname() != "127.0.0.1" {
		t.Errorf("URL %s (%v): want a loopback address", a, err)
	}
	db := connect(t, a)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	// Dropping works with a connection still open on the database.
	if err := dropA(); err != nil {
		t.Fatal(err)
	}
	if err := dropB(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'bench_%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d databases left after their drops (%v)", n, err)
	}
	dir := s.c.dir
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder %s is still there: %v", dir, err)
	}
	if conn, err := pgx.Connect(ctx, a); err == nil {
		conn.Close(ctx)
		t.Error("the stopped cluster still accepts connections")
	}
}

// As root, a folder the postgres user cannot enter is refused up front,
// naming it, instead of failing inside initdb.
func TestStandaloneRefusesAFolderPostgresCannotReach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the cluster as another user")
	}
	ensure(t)
	closed := filepath.Join(t.TempDir(), "closed") // t.TempDir's own folder is 0700
	if err := os.Mkdir(closed, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := StartStandalone(closed)
	if err == nil {
		s.Stop()
		t.Fatal("started in a folder the postgres user cannot reach")
	}
	if !strings.Contains(err.Error(), closed) || !strings.Contains(err.Error(), "not searchable") {
		t.Errorf("error %q does not name the folder and the reason", err)
	}
}

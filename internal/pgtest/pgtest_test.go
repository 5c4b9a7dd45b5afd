package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func connect(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestNewGivesFreshEmptyDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := New(t), New(t)
	if a == b {
		t.Fatalf("two calls gave one database: %s", a)
	}
	for _, dsn := range []string{a, b} {
		u, err := url.Parse(dsn)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("URL %s (%v): want a loopback address", dsn, err)
		}
	}
	da, db := connect(t, a), connect(t, b)
	var tables int
	var encoding string
	if err := da.QueryRowContext(ctx, `SELECT count(*), current_setting('server_encoding') FROM information_schema.tables
		WHERE table_schema = 'public'`).Scan(&tables, &encoding); err != nil {
		t.Fatal(err)
	}
	if tables != 0 || encoding != "UTF8" {
		t.Errorf("a new database has %d tables and encoding %s, want 0 and UTF8", tables, encoding)
	}
	if _, err := da.ExecContext(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `SELECT * FROM only_in_a`); err == nil {
		t.Error("a table made in one database is seen in the other")
	}
}

func TestDatabasesAreDroppedWhenTheTestEnds(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("user", func(t *testing.T) {
		db := connect(t, New(t))
		if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		// A connection left open does not keep the database alive.
		if _, err := db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
	})
	var n int
	if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Errorf("database %q still there after its test (%d)", name, n)
	}
}

// A second cluster, started and stopped like the shared one: nothing of
// it is left, not its process, its port nor its folder.
func TestStopLeavesNothing(t *testing.T) {
	ensure(t) // skips or fails like New when PostgreSQL is missing
	bin, err := findBinaries()
	if err != nil {
		t.Fatal(err)
	}
	c, err := startCluster(bin)
	if err != nil {
		t.Fatal(err)
	}
	if c.dir == shared.dir || c.port == shared.port {
		t.Fatalf("the second cluster shares the first's folder or port: %s %d", c.dir, c.port)
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	default:
		t.Error("the postmaster still runs after stop")
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder %s is still there: %v", c.dir, err)
	}
	conn, err := pgx.Connect(context.Background(), c.url("postgres"))
	if err == nil {
		conn.Close(context.Background())
		t.Error("the stopped cluster still accepts connections")
	}
}

func TestFindBinariesPrefersTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(BinEnv, dir)
	b, err := findBinaries()
	if err != nil || b.initdb != filepath.Join(dir, "initdb") || b.postgres != filepath.Join(dir, "postgres") {
		t.Errorf("findBinaries = %+v, %v; want the ones in %s", b, err, dir)
	}
	// A folder with only one of them is passed over.
	os.Remove(filepath.Join(dir, "postgres"))
	if b, err := findBinaries(); err == nil && filepath.Dir(b.initdb) == dir {
		t.Errorf("findBinaries took %s without a postgres binary", dir)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"TestX/sqlite":                                      "testx_sqlite",
		"TestÄ#01 weird--name":                              "test_01_weird_name",
		"TestAVeryLongNameThatGoesOnAndOnAndOn":             "testaverylongnamethatgoesonandonandon",
		"TestAVeryLongNameThatGoesOnAndOnAndOnAndOnForever": "testaverylongnamethatgoesonandonandonand",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

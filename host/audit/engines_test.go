package audit

import (
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// forEachEngine runs f as the subtests sqlite and postgres. Inside them
// the helpers (openLog, newLog, dropTriggers, sqlExec) use that engine:
// they read it from the test's name, so a test body written once runs on
// both without passing the engine around.
func forEachEngine(t *testing.T, f func(t *testing.T)) {
	t.Run("sqlite", f)
	t.Run("postgres", f)
}

// onPostgres reports whether t runs inside forEachEngine's postgres subtest.
func onPostgres(t testing.TB) bool {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == "postgres" {
			return true
		}
	}
	return false
}

// pgDatabases maps a test's SQLite path to the PostgreSQL database that
// stands for it, so a test that opens the same path twice (a restart, a
// second replica) gets the same database.
var pgDatabases sync.Map

// dsnFor is the database a test's path names on its engine.
func dsnFor(t testing.TB, path string) string {
	if !onPostgres(t) {
		return path
	}
	if dsn, ok := pgDatabases.Load(path); ok {
		return dsn.(string)
	}
	dsn := pgtest.New(t)
	pgDatabases.Store(path, dsn)
	t.Cleanup(func() { pgDatabases.Delete(path) })
	return dsn
}

// rebind turns a test's ? query into db's dialect.
func rebind(t testing.TB, db *sql.DB, q string) string {
	t.Helper()
	d, err := store.DialectOf(db)
	if err != nil {
		t.Fatal(err)
	}
	return d.Rebind(q)
}

func isPostgres(t testing.TB, db *sql.DB) bool {
	t.Helper()
	d, err := store.DialectOf(db)
	if err != nil {
		t.Fatal(err)
	}
	return d == store.Postgres
}

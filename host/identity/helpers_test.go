package identity

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// TestMain stops the test PostgreSQL cluster, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engine is the database a test runs on.
type engine string

const (
	sqliteEngine   engine = "sqlite"
	postgresEngine engine = "postgres"
)

// forEachEngine runs f as the subtests sqlite (a file in a test folder)
// and postgres (a database on the test cluster, see internal/pgtest:
// skipped when PostgreSQL is not installed, unless
// WHARF_REQUIRE_POSTGRES=1).
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range []engine{sqliteEngine, postgresEngine} {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}

// newDSN names a new, empty database of the engine.
func (e engine) newDSN(t *testing.T) string {
	t.Helper()
	if e == postgresEngine {
		return pgtest.New(t)
	}
	return filepath.Join(t.TempDir(), "wharf.db")
}

// clock is the store's injected time: tests move it by hand, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fixture is a store on a new database of an engine: a real SQLite file
// in a test folder, or a real PostgreSQL database.
type fixture struct {
	*Store
	db     *sql.DB
	engine engine
	dsn    string
	clock  *clock
	opts   Options
}

func newFixture(t *testing.T, e engine, o Options) *fixture {
	t.Helper()
	f := &fixture{engine: e, dsn: e.newDSN(t), clock: newClock(), opts: o}
	f.open(t)
	return f
}

// open (re)opens the store on the fixture's database, as a restarted host
// (or another replica) does.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := store.Open(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := f.opts
	o.Now = f.clock.Now
	s, err := New(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	f.Store, f.db = s, db
}

// replica opens another store on the fixture's database, with a pool of
// its own, as a second process on the file or a second replica on the
// PostgreSQL database does. It shares the fixture's clock.
func (f *fixture) replica(t *testing.T) *fixture {
	t.Helper()
	r := &fixture{engine: f.engine, dsn: f.dsn, clock: f.clock, opts: f.opts}
	r.open(t)
	return r
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// wantInvalid checks err is an InvalidError naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: error %v, want an InvalidError at %s", what, err, field)
	}
	if ie.Field != field {
		t.Fatalf("%s: InvalidError at %s (%s), want at %s", what, ie.Field, ie.Reason, field)
	}
}

func gen(t *testing.T, f *fixture) int64 {
	t.Helper()
	g, err := f.Generation(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// rawRows reads every value of every row of table, as text.
func rawRows(t *testing.T, f *fixture, table string) []string {
	t.Helper()
	rows, err := f.db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			out = append(out, fmt.Sprintf("%s", v))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantNowhere fails if secret appears in any row of the tables or in the
// database's files: SQLite's main file and write-ahead log, or every file
// of the PostgreSQL cluster (its write-ahead log gets every committed row
// at once).
func wantNowhere(t *testing.T, f *fixture, secret string, tables ...string) {
	t.Helper()
	for _, table := range tables {
		for _, v := range rawRows(t, f, table) {
			if strings.Contains(v, secret) {
				t.Fatalf("secret %s stored in %s: %q", secret, table, v)
			}
		}
	}
	files := []string{f.dsn, f.dsn + "-wal"}
	if f.engine == postgresEngine {
		files = nil
		err := filepath.WalkDir(pgtest.DataDir(t), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("secret %s found in the file %s", secret, p)
		}
	}
}

func count(t *testing.T, f *fixture, table string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

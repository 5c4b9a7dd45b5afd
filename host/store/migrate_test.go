package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/pgtest"
)

// forEachEngine runs f as the subtests sqlite and postgres; newDSN names a
// new, empty database of the engine (a file in a test folder, a database
// on the test cluster) that f may open several times, as replicas do.
func forEachEngine(t *testing.T, f func(t *testing.T, newDSN func() string)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func() string { return filepath.Join(t.TempDir(), "wharf.db") })
	})
	t.Run("postgres", func(t *testing.T) {
		f(t, func() string { return pgtest.New(t) })
	})
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func migrations(t *testing.T, db *sql.DB) []string {
	t.Helper()
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
		got = append(got, fmt.Sprintf("%s:%d", c, v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		db := open(t, newDSN())
		steps := []string{
			`CREATE TABLE a (x INTEGER)`,
			`INSERT INTO a VALUES (1)`,
		}
		for i := 0; i < 2; i++ { // the second run must be a no-op
			if err := Migrate(ctx, db, "comp", steps); err != nil {
				t.Fatal(err)
			}
		}
		if n := countRows(t, db, "a"); n != 1 {
			t.Fatalf("rows in a = %d, want 1: a step ran twice or not at all", n)
		}

		// A failing step leaves neither its changes nor its record behind;
		// a fixed step then applies.
		bad := append(steps, `INSERT INTO a VALUES (2); INSERT INTO nosuch VALUES (1)`)
		if err := Migrate(ctx, db, "comp", bad); err == nil || !strings.Contains(err.Error(), "comp to version 3") {
			t.Fatalf("failing step: %v, want an error naming comp's version 3", err)
		}
		if n := countRows(t, db, "a"); n != 1 {
			t.Fatalf("rows in a after failed step = %d, want 1", n)
		}
		good := append(steps, `INSERT INTO a VALUES (2)`)
		if err := Migrate(ctx, db, "comp", good); err != nil {
			t.Fatal(err)
		}
		// Another component's versions are independent.
		if err := Migrate(ctx, db, "other", []string{`CREATE TABLE b (y INTEGER)`}); err != nil {
			t.Fatal(err)
		}
		want := []string{"comp:1", "comp:2", "comp:3", "other:1"}
		if got := migrations(t, db); !slices.Equal(got, want) {
			t.Fatalf("schema_migrations = %v, want %v", got, want)
		}
		if err := Migrate(ctx, db, "", steps); err == nil {
			t.Error("an empty component name was accepted")
		}
	})
}

func TestMigrateStepsPerDialect(t *testing.T) {
	forEachEngine(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		db := open(t, newDSN())
		d, err := DialectOf(db)
		if err != nil {
			t.Fatal(err)
		}
		steps := []Step{
			{SQLite: `CREATE TABLE x (b BLOB NOT NULL, n INTEGER NOT NULL)`,
				Postgres: `CREATE TABLE x (b BYTEA NOT NULL, n BIGINT NOT NULL)`},
			{SQLite: `-- nothing to do on SQLite`, Postgres: `CREATE INDEX x_n ON x (n)`},
		}
		if err := MigrateSteps(ctx, db, "x", steps); err != nil {
			t.Fatal(err)
		}
		// Each engine got its own SQL.
		typeQuery := `SELECT type FROM pragma_table_info('x') WHERE name = 'b'`
		wantType := "BLOB"
		if d == Postgres {
			typeQuery = `SELECT data_type FROM information_schema.columns WHERE table_name = 'x' AND column_name = 'b'`
			wantType = "bytea"
		}
		var typ string
		if err := db.QueryRow(typeQuery).Scan(&typ); err != nil || typ != wantType {
			t.Errorf("column b is %q (%v), want %q", typ, err, wantType)
		}
		// Nanosecond times and bytes round-trip.
		h, err := For(db, "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ExecContext(ctx, `INSERT INTO x (b, n) VALUES (?, ?)`, []byte{0, 1, 0xff}, int64(math.MaxInt64)); err != nil {
			t.Fatal(err)
		}
		var b []byte
		var n int64
		if err := h.QueryRowContext(ctx, `SELECT b, n FROM x WHERE n = ?`, int64(math.MaxInt64)).Scan(&b, &n); err != nil ||
			string(b) != "\x00\x01\xff" || n != math.MaxInt64 {
			t.Errorf("read back %q %d (%v)", b, n, err)
		}
		// The comment-only step is recorded like any other.
		if got := migrations(t, db); !slices.Equal(got, []string{"x:1", "x:2"}) {
			t.Errorf("schema_migrations = %v", got)
		}
		// A step without SQL for the engine is refused before anything runs.
		missing := append(steps, Step{SQLite: `CREATE TABLE y (z INTEGER)`, Postgres: `CREATE TABLE y (z INTEGER)`}, Step{SQLite: " "})
		err = MigrateSteps(ctx, db, "x", missing)
		if err == nil || !strings.Contains(err.Error(), "step 4 has no") {
			t.Fatalf("a step without SQL: %v", err)
		}
		if got := migrations(t, db); !slices.Equal(got, []string{"x:1", "x:2"}) {
			t.Errorf("schema_migrations after the refusal = %v", got)
		}
	})
}

// Replicas starting at once on one database migrate it once: each step
// runs exactly one time and none of them fails.
func TestMigrateConcurrentReplicas(t *testing.T) {
	forEachEngine(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		dsn := newDSN()
		const replicas = 4
		dbs := make([]*sql.DB, replicas)
		for i := range dbs {
			dbs[i] = open(t, dsn)
		}
		steps := []string{
			`CREATE TABLE runs (step INTEGER NOT NULL)`,
			`INSERT INTO runs VALUES (2)`,
			`CREATE TABLE later (x INTEGER); INSERT INTO runs VALUES (3)`,
		}
		start := make(chan struct{})
		errs := make(chan error, replicas)
		var wg sync.WaitGroup
		for _, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- Migrate(ctx, db, "race", steps)
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("a replica's migration: %v", err)
			}
		}
		if n := countRows(t, dbs[0], "runs"); n != 2 {
			t.Errorf("%d step runs recorded, want 2 (steps 2 and 3 once each)", n)
		}
		if got := migrations(t, dbs[0]); !slices.Equal(got, []string{"race:1", "race:2", "race:3"}) {
			t.Errorf("schema_migrations = %v", got)
		}
	})
}

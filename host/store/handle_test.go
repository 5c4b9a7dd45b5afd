package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/pgtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`INSERT INTO t VALUES (?,?)`, `INSERT INTO t VALUES ($1,$2)`},
		// Quoted text, identifiers and comments keep their question marks.
		{`SELECT '?', 'it''s ?', ? FROM "odd?name" -- why?
		WHERE x = ? /* and ? here */ AND y = ?`, `SELECT '?', 'it''s ?', $1 FROM "odd?name" -- why?
		WHERE x = $2 /* and ? here */ AND y = $3`},
		{`SELECT ? -- unterminated comment ?`, `SELECT $1 -- unterminated comment ?`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SELECT ? /* unterminated ?`, `SELECT $1 /* unterminated ?`},
		{`SELECT "a""?" , ?`, `SELECT "a""?" , $1`},
		{`SELECT 5-?-2`, `SELECT 5-$1-2`},
	} {
		if got := Postgres.Rebind(tc.in); got != tc.want {
			t.Errorf("Postgres.Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := SQLite.Rebind(tc.in); got != tc.in {
			t.Errorf("SQLite.Rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

// A driver that is neither engine's.
type otherDriver struct{}

func (otherDriver) Open(string) (driver.Conn, error) { return nil, errors.New("no") }

func init() { sql.Register("store-test-other", otherDriver{}) }

func TestDialectOf(t *testing.T) {
	forEachEngine(t, func(t *testing.T, newDSN func() string) {
		dsn := newDSN()
		want := SQLite
		if IsPostgresURL(dsn) {
			want = Postgres
		}
		db := open(t, dsn)
		d, err := DialectOf(db)
		if err != nil || d != want {
			t.Errorf("DialectOf = %v, %v; want %v", d, err, want)
		}
		h, err := For(db, "c")
		if err != nil || h.Dialect() != d || h.SQL() != db {
			t.Errorf("For = %+v, %v", h, err)
		}
		if _, err := For(db, ""); err == nil {
			t.Error("For accepted an empty component name")
		}
	})
	other, err := sql.Open("store-test-other", "")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := DialectOf(other); err == nil {
		t.Error("DialectOf named a dialect for an unknown driver")
	}
	if _, err := For(other, "c"); err == nil {
		t.Error("For accepted an unknown driver")
	}
}

// Writers on several pools (as on several replicas) each read a counter
// and write it back plus one inside BeginWrite: with the write lock taken
// up front no increment is lost. Without it, PostgreSQL's READ COMMITTED
// lets two writers read the same value.
func TestBeginWriteSerializesReadThenWrite(t *testing.T) {
	forEachEngine(t, func(t *testing.T, newDSN func() string) {
		ctx := context.Background()
		dsn := newDSN()
		const pools, writers, increments = 3, 4, 10
		var hs []*DB
		for range pools {
			h, err := For(open(t, dsn), "counter")
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		if err := hs[0].Migrate(ctx, []Step{{
			SQLite:   `CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)`,
			Postgres: `CREATE TABLE counter (n BIGINT NOT NULL); INSERT INTO counter VALUES (0)`,
		}}); err != nil {
			t.Fatal(err)
		}
		increment := func(h *DB) error {
			tx, err := h.BeginWrite(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			var n int64
			if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = ?`, n+1); err != nil {
				return err
			}
			return tx.Commit()
		}
		var wg sync.WaitGroup
		errs := make(chan error, pools*writers*increments)
		for _, h := range hs {
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range increments {
						if err := increment(h); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("an increment failed: %v", err)
		}
		var n int64
		if err := hs[0].QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != pools*writers*increments {
			t.Errorf("counter = %d after %d increments: some were lost", n, pools*writers*increments)
		}
	})
}

// On PostgreSQL each component has its own write lock: a long write of
// one does not hold up another's. (SQLite has one lock for the file.)
func TestWriteLocksArePerComponentOnPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	a, err := For(open(t, dsn), "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := For(open(t, dsn), "b")
	if err != nil {
		t.Fatal(err)
	}
	held, err := a.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback()
	// Bounded well below the lock timeout only so a regression fails
	// with a clear message rather than lock_timeout's.
	bctx, cancel := context.WithTimeout(ctx, BusyTimeout/2)
	defer cancel()
	tx, err := b.BeginWrite(bctx)
	if err != nil {
		t.Fatalf("b's write waited for a's lock: %v", err)
	}
	tx.Rollback()
	// The same component's second writer does wait, until lock_timeout.
	a2, err := For(open(t, dsn+"&lock_timeout=100"), "a")
	if err != nil {
		t.Fatal(err)
	}
	if tx, err := a2.BeginWrite(ctx); err == nil {
		tx.Rollback()
		t.Fatal("a second writer of a got the lock a's first writer holds")
	}
}

// Package pgtest gives tests a real PostgreSQL: one throwaway cluster per
// test binary (Debian's postgresql package, run as the postgres user when
// the test runs as root), started on first use in a temporary folder on a
// free loopback port, and a fresh empty database for each New.
//
// A test package that uses it calls Main from its TestMain, which stops
// the cluster and removes its folder when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without PostgreSQL installed, New skips the test and says why, unless
// WHARF_REQUIRE_POSTGRES=1, when it fails it instead (CI sets it, so a
// missing install cannot pass as green).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// RequireEnv names the variable that turns a missing PostgreSQL from a
// skip into a failure.
const RequireEnv = "WHARF_REQUIRE_POSTGRES"

var (
	mainRan atomic.Bool
	once    sync.Once
	shared  *cluster
	admin   *sql.DB // to the cluster's postgres database, for CREATE DATABASE
	failure error   // why the cluster could not start
	missing bool    // failure is "not installed"
	dbSeq   atomic.Int64
)

// Main runs the tests and then stops the cluster, if one was started.
// Its result is m.Run's, or 1 when stopping the cluster failed.
func Main(m *testing.M) int {
	mainRan.Store(true)
	code := m.Run()
	if shared != nil {
		admin.Close()
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// New returns the URL of a new, empty database on the shared cluster
// (UTF-8, owned by the superuser "postgres", trust authentication on
// loopback). The database is dropped when t ends, after t's own cleanups
// (so pools a test closes in a Cleanup are closed first).
func New(t testing.TB) string {
	t.Helper()
	ensure(t)
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), safeName(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: a connection the test leaked must not keep its data.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return shared.url(name)
}

// DataDir is the cluster's data folder, for tests that look for what must
// never reach the disk (its write-ahead log is in pg_wal). Like New, it
// may skip or fail t when there is no cluster.
func DataDir(t testing.TB) string {
	t.Helper()
	ensure(t)
	return shared.data
}

// ensure starts the cluster on first use, and skips or fails t if there
// is none.
func ensure(t testing.TB) {
	t.Helper()
	if !mainRan.Load() {
		t.Fatal("pgtest: the test package's TestMain must call pgtest.Main (it stops the cluster)")
	}
	once.Do(start)
	if failure != nil {
		if missing && os.Getenv(RequireEnv) != "1" {
			t.Skipf("PostgreSQL is not installed (%v); set %s=1 to fail instead", failure, RequireEnv)
		}
		t.Fatalf("pgtest: %v", failure)
	}
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// safeName turns a test name into a short identifier part.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(strings.ToLower(s), "_")
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Trim(s, "_")
}

func start() {
	bin, err := findBinaries()
	if err != nil {
		failure, missing = err, true
		return
	}
	c, err := startCluster(bin)
	if err != nil {
		failure = err
		return
	}
	cfg, err := pgx.ParseConfig(c.url("postgres"))
	if err != nil {
		c.stop()
		failure = err
		return
	}
	admin = stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(2)
	shared = c
}

// ErrNotInstalled is wrapped by the error of a start that found no
// PostgreSQL binaries (StartStandalone's; New skips on it).
var ErrNotInstalled = errors.New("no initdb and postgres binaries")

// Durable turns fsync (and full-page writes) on for the whole cluster
// until t ends, for benchmarks whose figure must be of durable commits:
// the cluster runs without them for speed otherwise. Tests running at the
// same time share the setting; a benchmark binary runs one at a time.
func Durable(t testing.TB) {
	t.Helper()
	ensure(t)
	set := func(v string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, q := range []string{`ALTER SYSTEM SET fsync = ` + v, `ALTER SYSTEM SET full_page_writes = ` + v, `SELECT pg_reload_conf()`} {
			if _, err := admin.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("pgtest: %s: %w", q, err)
			}
		}
		return nil
	}
	if err := set("on"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set("off"); err != nil {
			t.Error(err)
		}
	})
}

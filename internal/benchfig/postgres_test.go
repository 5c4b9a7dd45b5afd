package benchfig

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pgtest"
)

// needPostgres skips t without PostgreSQL installed, unless
// WHARF_REQUIRE_POSTGRES=1.
func needPostgres(t testing.TB) {
	t.Helper()
	if _, err := env.Postgres(); err != nil {
		if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv(pgtest.RequireEnv) != "1" {
			t.Skipf("PostgreSQL is not installed: %v", err)
		}
		t.Fatal(err)
	}
}

// Figure 9's two sides write on PostgreSQL, on a durable cluster, and
// count every acknowledged row there.
func TestFig9WritesAndCountsOnPostgres(t *testing.T) {
	needPostgres(t)
	pg, _ := env.Postgres()
	if v, err := pg.Setting(context.Background(), "fsync"); err != nil || v != "on" {
		t.Fatalf("fsync = %q, %v: figure 9 must be of durable commits", v, err)
	}
	for name, run := range map[string]func(context.Context, time.Duration) (AuditResult, error){
		"audit-log": env.AuditLogPostgres, "autocommit": env.PlainInsertsPostgres,
	} {
		r, err := run(context.Background(), 200*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Written == 0 || r.Counted != r.Written || r.RowsPerSecond <= 0 {
			t.Errorf("%s: %d written, %d counted, %.0f rows/s", name, r.Written, r.Counted, r.RowsPerSecond)
		}
	}
}

// Figure 10's replicas start on one database with the keys they must
// share, and each serves the get through the connection the first made.
func TestFig10ReplicasServeTheGet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wharf serve twice")
	}
	needPostgres(t)
	ctx := context.Background()
	r, err := env.NewReplicaEnv(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range r.Procs {
		if err := r.Get(i); err != nil {
			t.Error(err)
		}
	}
	if tp := RunConcurrent(ctx, 4, 200*time.Millisecond, r.SpreadGet); tp.Errors != 0 || tp.OK < 2 {
		t.Errorf("spread gets: %d ok, %d errors, first %v", tp.OK, tp.Errors, tp.FirstErr)
	}
}

package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/benchfig"
)

// fig9 is figure 7's work on PostgreSQL, with figure 7 itself (SQLite)
// and single-row autocommit inserts on PostgreSQL in the same rounds.
func fig9(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	pg, err := env.Postgres()
	if err != nil {
		return nil, err
	}
	var pgR, liteR, refR, vsLite, vsRef []float64
	var lost, liteLost int64
	for i := 0; i < p.rounds; i++ {
		l, err := env.AuditLog(ctx, p.auditWindow)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		a, err := env.AuditLogPostgres(ctx, p.auditWindow)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		r, err := env.PlainInsertsPostgres(ctx, p.auditWindow)
		if err != nil {
			return nil, fmt.Errorf("postgres autocommit: %w", err)
		}
		lost += a.Lost() + r.Lost()
		liteLost += l.Lost()
		pgR, liteR, refR = append(pgR, a.RowsPerSecond), append(liteR, l.RowsPerSecond), append(refR, r.RowsPerSecond)
		// Per-round ratios: the sides of one round share the machine's
		// moment (its load, its disk's fsync speed).
		if l.RowsPerSecond > 0 && r.RowsPerSecond > 0 {
			vsLite, vsRef = append(vsLite, a.RowsPerSecond/l.RowsPerSecond), append(vsRef, a.RowsPerSecond/r.RowsPerSecond)
		}
		detail(9, "round %d: PostgreSQL audit.Log %.0f rows/s (%.0f Start+Finish pairs/s), %d acknowledged, %d counted; SQLite (figure 7) %.0f rows/s, %d lost; PostgreSQL autocommit %.0f rows/s, %d lost",
			i+1, a.RowsPerSecond, a.OpsPerSecond, a.Written, a.Counted, l.RowsPerSecond, l.Lost(), r.RowsPerSecond, r.Lost())
	}
	var set []string
	for _, name := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "commit_delay"} {
		v, err := pg.Setting(ctx, name)
		if err != nil {
			return nil, err
		}
		set = append(set, name+"="+v)
	}
	detail(9, "%d rounds of %s each, in this order per round: SQLite, PostgreSQL, PostgreSQL autocommit; a fresh database (file) each; the cluster: %s; the host's pool bounds (store.Open: at most %d connections)",
		p.rounds, p.auditWindow, strings.Join(set, ", "), store.MaxOpenConns)
	a, l, r := benchfig.Summarize(pgR), benchfig.Summarize(liteR), benchfig.Summarize(refR)
	vl, vr := benchfig.Summarize(vsLite), benchfig.Summarize(vsRef)
	return []row{{fig: "9", name: "durable audit events (rows)/s on PostgreSQL (loopback, fsync on), 32 callers doing Start+Finish",
		measured: spread(a, "%.0f", "/s") + fmt.Sprintf(", %d lost", lost),
		ref:      fmt.Sprintf("SQLite, figure 7's work beside it: %.0f /s (%d lost); single-row autocommit inserts on PostgreSQL: %.0f /s", l.Median, liteLost, r.Median),
		ratio:    fmt.Sprintf("%s SQLite, %s autocommit (median of per-round ratios)", spread(vl, "%.2f", "×"), spread(vr, "%.2f", "×")),
		target:   "≥ 20,000/s, none lost", met: yes(a.Median >= 20000 && lost == 0)}}, nil
}

// replicaCallers is figure 10's number of concurrent REST callers.
const replicaCallers = 16

// fig10 is REST get throughput with the callers spread over two replicas
// against all of them on one, alternating.
func fig10(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	r, err := env.NewReplicaEnv(ctx, 2)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Warm both replicas' pools and connections before the first window.
	benchfig.RunConcurrent(ctx, replicaCallers, p.replicaWin/4, r.SpreadGet)
	var oneR, twoR, ratios []float64
	var errs int64
	var firstErr error
	for i := 0; i < p.rounds; i++ {
		measure := func(f func(context.Context) error) float64 {
			t := benchfig.RunConcurrent(ctx, replicaCallers, p.replicaWin, f)
			errs += t.Errors
			if firstErr == nil {
				firstErr = t.FirstErr
			}
			return t.PerSecond
		}
		var one, two float64
		if i%2 == 0 { // alternate which side goes first
			one, two = measure(r.OneGet), measure(r.SpreadGet)
		} else {
			two, one = measure(r.SpreadGet), measure(r.OneGet)
		}
		oneR, twoR = append(oneR, one), append(twoR, two)
		if one > 0 {
			ratios = append(ratios, two/one)
		}
		detail(10, "round %d: two replicas %.0f gets/s, one replica %.0f gets/s (ratio %.2f)", i+1, two, one, two/one)
	}
	if errs > 0 {
		detail(10, "%d errors, first: %v", errs, firstErr)
	}
	detail(10, "%d rounds of %s per side, the sides alternating which goes first; %d callers, GET /api/v1/connections/%s/services/%s, answer decoded and checked running; two real `wharf serve` processes (--database on one PostgreSQL database of the bench's cluster, the same --connections-key-file and audit-chain.key, their own data folders), each with the docker plugin and the same connection to one Docker emulator; two replicas = requests round-robin over both, one replica = every request to the first while the second idles",
		p.rounds, p.replicaWin, replicaCallers, r.Conn, r.ID)
	detail(10, "this machine has %d cores (GOMAXPROCS %d) shared by everything in the run: both replicas, PostgreSQL, the emulator and the callers. A second replica adds no CPU here, so the ratio shows the cost of sharing (a second process, its pool, its connections), not the scale-out a second machine would give",
		runtime.NumCPU(), runtime.GOMAXPROCS(0))
	one, two, rt := benchfig.Summarize(oneR), benchfig.Summarize(twoR), benchfig.Summarize(ratios)
	return []row{{fig: "10", name: fmt.Sprintf("REST get throughput, %d callers spread over two replicas on one PostgreSQL (real processes, %d cores shared)", replicaCallers, runtime.NumCPU()),
		measured: spread(two, "%.0f", "/s") + fmt.Sprintf(", %d errors", errs),
		ref:      fmt.Sprintf("all %d callers on one of the replicas: %.0f /s", replicaCallers, one.Median),
		ratio:    spread(rt, "%.2f", "×"),
		target:   "0 errors (ratio reported, not a target on 2 shared cores)", met: yes(errs == 0)}}, nil
}

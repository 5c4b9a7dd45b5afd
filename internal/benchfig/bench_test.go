package benchfig

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pgtest"
	"github.com/wharfhq/wharf/plugins/examples/rust"
)

var env *Env

func TestMain(m *testing.M) {
	var err error
	if env, err = NewEnv(nil); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = env.Close()
	os.Exit(code)
}

func benchCalls(b *testing.B, f func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := f(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFig1PluginCall is figure 1: one runtime.Plugin.Call with a small
// JSON request and answer, call timeout on, beside its two references.
func BenchmarkFig1PluginCall(b *testing.B) {
	f, err := env.NewFig1(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.Run("wharf", func(b *testing.B) { benchCalls(b, f.Wharf) })
	b.Run("extism-default", func(b *testing.B) { benchCalls(b, f.Extism) })
	b.Run("native-json", func(b *testing.B) { benchCalls(b, NativeJSON) })
}

// BenchmarkFig2Get is figure 2: one get through ops.Host.GetService against
// a Docker emulator on loopback, beside a native client replaying the same
// HTTP exchange.
func BenchmarkFig2Get(b *testing.B) {
	g, err := env.NewGetEnv(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	b.Run("ops", func(b *testing.B) { benchCalls(b, g.OpsGet) })
	b.Run("native", func(b *testing.B) { benchCalls(b, g.NativeGet) })
}

// BenchmarkFig7Audit is figure 7: durable audit rows per second with 32
// concurrent callers (Start+Finish), beside single-row autocommit inserts.
// Each iteration is a one-second run; see the rows/s metric.
func BenchmarkFig7Audit(b *testing.B) {
	benchRows(b, []auditRun{{"audit-log", env.AuditLog}, {"autocommit", env.PlainInserts}})
}

// auditRun is one side of figure 7 or 9.
type auditRun struct {
	name string
	run  func(context.Context, time.Duration) (AuditResult, error)
}

// benchRows runs each side for one second per iteration, failing on a
// lost row, and reports the mean rows/s.
func benchRows(b *testing.B, runs []auditRun) {
	for _, c := range runs {
		b.Run(c.name, func(b *testing.B) {
			var rows float64
			for b.Loop() {
				r, err := c.run(context.Background(), time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if r.Lost() != 0 {
					b.Fatalf("%d acknowledged rows lost", r.Lost())
				}
				rows += r.RowsPerSecond
			}
			b.ReportMetric(rows/float64(b.N), "rows/s")
		})
	}
}

// BenchmarkFig9AuditPostgres is figure 9: figure 7's work on a durable
// PostgreSQL cluster on loopback, beside single-row autocommit inserts
// there. It skips without PostgreSQL installed (unless
// WHARF_REQUIRE_POSTGRES=1).
func BenchmarkFig9AuditPostgres(b *testing.B) {
	if _, err := env.Postgres(); err != nil {
		if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv(pgtest.RequireEnv) != "1" {
			b.Skipf("PostgreSQL is not installed: %v", err)
		}
		b.Fatal(err)
	}
	benchRows(b, []auditRun{{"audit-log", env.AuditLogPostgres}, {"autocommit", env.PlainInsertsPostgres}})
}

// BenchmarkFig8ListAll is figure 8: the first page of the cross-platform
// list with 10,000 services over five connections.
func BenchmarkFig8ListAll(b *testing.B) {
	l, err := env.NewListEnv(context.Background(), 2000)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.Run("ops", func(b *testing.B) { benchCalls(b, l.OpsFirstPage) })
	b.Run("api", func(b *testing.B) { benchCalls(b, l.APIFirstPage) })
}

// BenchmarkFig11RustGet is figure 11: one get of the Rust example plugin
// beside the Go build of the same provider, through ops.Host.GetService
// against the runq emulator, and as a bare runtime.Plugin.Call with the
// platform's answer from memory.
func BenchmarkFig11RustGet(b *testing.B) {
	if err := rust.Available(); err != nil {
		b.Skip(err)
	}
	r, err := env.NewRustEnv(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for _, p := range RustPlugins {
		b.Run("ops-"+p, func(b *testing.B) { benchCalls(b, func(ctx context.Context) error { return r.OpsGet(ctx, p) }) })
		b.Run("call-"+p, func(b *testing.B) { benchCalls(b, func(ctx context.Context) error { return r.Call(ctx, p) }) })
	}
}

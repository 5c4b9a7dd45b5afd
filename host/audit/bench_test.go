package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// benchCallers is the number of concurrent callers in both benchmarks.
const benchCallers = 32

var benchRequest = json.RawMessage(`{"name":"web","spec":{"image":"nginx:1.27","replicas":3},"config":{"token":"********"}}`)

// runCallers runs b.N operations spread over benchCallers goroutines and
// reports operations (Start+Finish pairs) and durable rows per second.
func runCallers(b *testing.B, op func() error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < benchCallers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(2*float64(b.N)/elapsed.Seconds(), "rows/s")
}

// BenchmarkAuditGroupCommit measures Log: 32 callers, each op a durable
// Start and a durable Finish (two rows, each committed before returning).
// On PostgreSQL (a loopback cluster, fsync on for the run) every group
// commit is one transaction under the audit advisory lock with one
// multi-row INSERT.
func BenchmarkAuditGroupCommit(b *testing.B) {
	b.Run("sqlite", benchGroupCommit)
	b.Run("postgres", func(b *testing.B) {
		pgtest.Durable(b)
		benchGroupCommit(b)
	})
}

func benchGroupCommit(b *testing.B) {
	l, _ := newLog(b)
	ctx := context.Background()
	runCallers(b, func() error {
		id, err := l.Start(ctx, Event{Actor: "bench", ClientAddr: "127.0.0.1:1", RequestID: "req",
			Connection: "local-swarm", Plugin: "docker", Operation: "update", Target: "web", Request: benchRequest})
		if err != nil {
			return err
		}
		return l.Finish(ctx, id, Outcome{Duration: time.Millisecond})
	})
	b.ReportMetric(float64(l.batched.Load())/float64(l.batches.Load()), "rows/commit")
}

// BenchmarkSingleRowAutocommit is the reference: the same 32 callers and
// file settings (store.Open), but each row a plain INSERT in its own
// autocommit transaction, as a naive audit log would do it.
func BenchmarkSingleRowAutocommit(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "plain.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxIdleConns(benchCallers)
	if _, err := db.Exec(`CREATE TABLE plain_log (id INTEGER PRIMARY KEY, kind TEXT, ref_id INTEGER,
		time_ns INTEGER, actor TEXT, client_addr TEXT, request_id TEXT, connection TEXT, plugin TEXT,
		operation TEXT, target TEXT, request TEXT, error_code TEXT, duration_ns INTEGER)`); err != nil {
		b.Fatal(err)
	}
	ins := func(db *sql.DB, args ...any) (sql.Result, error) {
		return db.Exec(`INSERT INTO plain_log (kind, ref_id, time_ns, actor, client_addr, request_id,
			connection, plugin, operation, target, request, error_code, duration_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	}
	runCallers(b, func() error {
		res, err := ins(db, "start", nil, time.Now().UnixNano(), "bench", "127.0.0.1:1", "req",
			"local-swarm", "docker", "update", "web", string(benchRequest), "", 0)
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		_, err = ins(db, "finish", id, time.Now().UnixNano(), "", "", "", "", "", "", "", "", "", int64(time.Millisecond))
		return err
	})
}

// BenchmarkAuditSerial is one caller: every Start and Finish is a commit
// of its own, so it shows the full cost of each commit's checkpoint (one
// signature and one more fsync).
func BenchmarkAuditSerial(b *testing.B) {
	l, _ := newLog(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		id, err := l.Start(ctx, Event{Actor: "bench", Operation: "update", Target: "web", Request: benchRequest})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Finish(ctx, id, Outcome{Duration: time.Millisecond}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpoint is what each commit adds: sign the head and append
// it to the checkpoint log with an fsync.
func BenchmarkCheckpoint(b *testing.B) {
	l, _ := newLog(b)
	l.headMu.Lock()
	defer l.headMu.Unlock()
	hash := make([]byte, hashSize)
	b.ResetTimer()
	for i := range b.N {
		if err := l.checkpoint(int64(i)+1, hash); err != nil {
			b.Fatal(err)
		}
	}
}

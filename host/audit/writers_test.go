package audit

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

const testWriterTimeout = 400 * time.Millisecond

// replicaIn opens a Log on dsn with its data folder dir, as one replica
// (re)starts on its folder.
func replicaIn(t *testing.T, dsn, dir string, chainKey []byte) *Log {
	t.Helper()
	o, err := LoadOrCreateOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	o.ChainKey, o.WriterTimeout = chainKey, testWriterTimeout
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(db, o)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return l
}

// kill stops l as kill -9 would leave its heartbeat: not marked stopped.
func kill(l *Log) {
	close(l.hbStop)
	<-l.hbDone
	l.hbStop = nil
	l.Close()
}

func orphanIDs(t *testing.T, l *Log) []int64 {
	t.Helper()
	es, more, err := l.Orphans(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if more {
		t.Fatal("more orphans than expected")
	}
	var ids []int64
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func start(t *testing.T, l *Log, target string) int64 {
	t.Helper()
	id, err := l.Start(context.Background(), Event{Actor: "alice", Operation: "update", Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// On one database shared by replicas, recovery takes only what a replica
// that is gone left unfinished: never an operation another replica is
// still running (before writers were recorded, a replica starting up
// marked every unfinished operation of the others interrupted, and their
// own finishes then failed as "already finished").
func TestOrphansAreOnlyWhatAGoneWriterLeft(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	key := bytes.Repeat([]byte{9}, MinChainKeySize)
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	a := replicaIn(t, dsn, dirA, key)
	b := replicaIn(t, dsn, dirB, key)
	running := start(t, a, "running-on-a")
	leftByB := start(t, b, "left-by-b")
	kill(b)

	// A replica starting now sees neither: a is alive, b may be too (its
	// heartbeat is fresh).
	c := replicaIn(t, dsn, dirC, key)
	if got := orphanIDs(t, c); len(got) != 0 {
		t.Fatalf("orphans right after b stopped: %v, want none (a's %d is running, b's heartbeat is fresh)", got, running)
	}
	// b restarting on its folder takes its own previous run's operation at
	// once, and nothing of a's.
	b2 := replicaIn(t, dsn, dirB, key)
	if b2.WriterID() != b.WriterID() {
		t.Fatalf("a restarted replica is writer %s, was %s", b2.WriterID(), b.WriterID())
	}
	if got := orphanIDs(t, b2); !slices.Equal(got, []int64{leftByB}) {
		t.Fatalf("restarted b's orphans: %v, want [%d]", got, leftByB)
	}
	mine := start(t, b2, "running-on-b2")
	if got := orphanIDs(t, b2); slices.Contains(got, mine) {
		t.Fatalf("b2 lists its own running operation %d as an orphan", mine)
	}
	if err := b2.Finish(ctx, leftByB, Outcome{Interrupted: true, Note: "recovered"}); err != nil {
		t.Fatal(err)
	}

	// Long past the timeout, a (beating all along) still owns its
	// operation, and finishes it.
	time.Sleep(3 * testWriterTimeout)
	if got := orphanIDs(t, c); len(got) != 0 {
		t.Fatalf("orphans with every writer alive: %v", got)
	}
	if err := a.Finish(ctx, running, Outcome{}); err != nil {
		t.Fatalf("a's own finish after others started: %v", err)
	}

	// b2 killed: once its heartbeat times out, another replica finds its
	// running operation and its writer timed out.
	kill(b2)
	if w, _ := c.TimedOutWriters(ctx); len(w) != 0 {
		t.Fatalf("timed out writers before the timeout: %v", w)
	}
	time.Sleep(testWriterTimeout + 100*time.Millisecond)
	if got := orphanIDs(t, c); !slices.Equal(got, []int64{mine}) {
		t.Fatalf("orphans after b2's heartbeat timed out: %v, want [%d]", got, mine)
	}
	w, err := c.TimedOutWriters(ctx)
	if err != nil || !slices.Equal(w, []string{b.WriterID()}) {
		t.Fatalf("timed out writers: %v %v, want [%s]", w, err, b.WriterID())
	}
	if err := c.ForgetWriters(ctx, w); err != nil {
		t.Fatal(err)
	}
	if w, _ := c.TimedOutWriters(ctx); len(w) != 0 {
		t.Fatalf("timed out writers after ForgetWriters: %v", w)
	}
	// A forgotten writer's leftovers are still orphans (no heartbeat).
	if got := orphanIDs(t, c); !slices.Equal(got, []int64{mine}) {
		t.Fatalf("orphans after forgetting b: %v, want [%d]", got, mine)
	}

	// A clean stop marks the writer stopped: what it left is recoverable
	// at once. The chain, writers included, verifies.
	late := start(t, a, "left-at-clean-stop")
	a.Close()
	if got := orphanIDs(t, c); !slices.Equal(got, []int64{mine, late}) {
		t.Fatalf("orphans after a's clean stop: %v, want [%d %d]", got, mine, late)
	}
	rep, err := c.Verify(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// The writer is inside the chain: changing it in the database is seen.
func TestWriterIsChained(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := LoadOrCreateOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id := start(t, l, "web")
	var writer string
	if err := db.QueryRowContext(ctx, `SELECT writer FROM audit_log WHERE id = ?`, id).Scan(&writer); err != nil || writer != l.WriterID() {
		t.Fatalf("start row's writer %q (%v), want %q", writer, err, l.WriterID())
	}
	if rep, err := l.Verify(ctx); err != nil || !rep.OK {
		t.Fatalf("verify before: %+v %v", rep, err)
	}
	if _, err := db.ExecContext(ctx, `DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit_log SET writer = 'someone-else' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Status != StatusAltered {
		t.Fatalf("verify after changing the writer: %+v, want %s", rep, StatusAltered)
	}
}

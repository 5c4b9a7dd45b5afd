package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// replica opens a Log on dsn as one replica does: its own pool, and its
// own data folder (its signing key and checkpoint log) holding the chain
// key every replica shares.
func replica(t *testing.T, dsn string, chainKey []byte) *Log {
	t.Helper()
	l, err := openReplica(t, dsn, chainKey)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// openReplica is replica for goroutines, which must not call t.Fatal.
func openReplica(t *testing.T, dsn string, chainKey []byte) (*Log, error) {
	o, err := LoadOrCreateOptions(t.TempDir())
	if err != nil {
		return nil, err
	}
	o.ChainKey = chainKey
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	l, err := New(db, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	t.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return l, nil
}

// Two replicas append at once to one PostgreSQL log: every acknowledged
// write is stored exactly once, in one chain that verifies from either
// replica and against both checkpoint logs together.
func TestReplicasShareOneChain(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	key := bytes.Repeat([]byte{7}, MinChainKeySize)
	a, b := replica(t, dsn, key), replica(t, dsn, key)
	const callers, perCaller = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*callers)
	for r, l := range []*Log{a, b} {
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perCaller {
					id, err := l.Start(ctx, Event{Actor: fmt.Sprintf("r%d-c%d", r, c), Operation: "update", Target: fmt.Sprint(i)})
					if err != nil {
						errs <- err
						return
					}
					if err := l.Finish(ctx, id, Outcome{}); err != nil {
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
		t.Fatal(err)
	}
	// Every caller's entries, once each, complete, seen from either replica.
	for r := range 2 {
		for c := range callers {
			es, err := b.Query(ctx, Filter{Actor: fmt.Sprintf("r%d-c%d", r, c), Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, e := range es {
				if e.Outcome != OutcomeOK || seen[e.Target] {
					t.Fatalf("r%d-c%d: entry %+v (incomplete or twice)", r, c, e)
				}
				seen[e.Target] = true
			}
			if len(seen) != perCaller {
				t.Fatalf("r%d-c%d has %d entries, want %d", r, c, len(seen), perCaller)
			}
		}
	}
	const total = 2 * 2 * callers * perCaller
	for name, l := range map[string]*Log{"a": a, "b": b} {
		rep, err := l.Verify(ctx)
		if err != nil || !rep.OK || rep.Rows != total {
			t.Fatalf("Verify on replica %s = %+v, %v", name, rep, err)
		}
	}
	// Offline, with both replicas' checkpoint logs (each its own key):
	// every row up to the newest head is covered, nothing is uncovered.
	cpa, _ := os.ReadFile(a.opts.CheckpointPath)
	cpb, _ := os.ReadFile(b.opts.CheckpointPath)
	o := VerifyOptions{ChainKey: key, PublicKey: a.pub, Checkpoints: bytes.NewReader(cpa),
		More: []CheckpointLog{{Name: "b", Log: bytes.NewReader(cpb), PublicKey: b.pub}}}
	rep, err := VerifyDatabase(ctx, a.db, o)
	if err != nil || !rep.OK || rep.Rows != total || rep.UncoveredRows != 0 || rep.CheckpointRows != total {
		t.Fatalf("VerifyDatabase with both logs = %+v, %v", rep, err)
	}

	// Rows removed from the end show in the checkpoint logs together,
	// whichever replica wrote them.
	dropTriggers(t, a.db)
	sqlExec(t, a.db, `DELETE FROM audit_log WHERE id > ?`, total-3)
	o.Checkpoints, o.More[0].Log = bytes.NewReader(cpa), bytes.NewReader(cpb)
	rep, err = VerifyDatabase(ctx, a.db, o)
	if err != nil {
		t.Fatal(err)
	}
	wantBad(t, rep, StatusMissingRows, total-2)
	// A log of another key's checkpoints is refused as out of place.
	o.Checkpoints, o.More[0].Log, o.More[0].PublicKey = bytes.NewReader(cpa), bytes.NewReader(cpb), a.pub
	if rep, _ := VerifyDatabase(ctx, a.db, o); rep.OK || !strings.Contains(rep.Problem, "b: line 1") {
		t.Fatalf("a log checked with the wrong key = %+v", rep)
	}
}

// A new replica joins a keyed shared log with a checkpoint of its head;
// a replica whose checkpoint log is gone, or which has another chain key,
// is refused.
func TestReplicaJoinsAndIsRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.New(t)
	key := bytes.Repeat([]byte{7}, MinChainKeySize)
	a := replica(t, dsn, key)
	fill(t, a, 3)

	b := replica(t, dsn, key) // a new data folder: a new signer
	fill(t, b, 1)
	for _, l := range []*Log{a, b} {
		if rep, err := l.Verify(ctx); err != nil || !rep.OK || rep.Rows != 8 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	}

	// b's folder again, its checkpoint log removed: refused, as on SQLite.
	bdir := filepath.Dir(b.opts.CheckpointPath)
	b.Close()
	if err := os.Remove(b.opts.CheckpointPath); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := testOptions(t, bdir)
	o.ChainKey = key
	if l, err := New(db, o); err == nil || !strings.Contains(err.Error(), "missing or empty") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("a replica without its checkpoint log: %v", err)
	}
	// Another chain key: refused, naming the file to copy.
	o = testOptions(t, t.TempDir())
	if l, err := New(db, o); err == nil || !strings.Contains(err.Error(), "every replica must use the same "+ChainKeyFile) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("a replica with another chain key: %v", err)
	}
}

// Replicas starting at once on a new database key it once.
func TestReplicasStartTogether(t *testing.T) {
	dsn := pgtest.New(t)
	key := bytes.Repeat([]byte{9}, MinChainKeySize)
	var wg sync.WaitGroup
	logs := make([]*Log, 4)
	errs := make([]error, 4)
	for i := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i], errs[i] = openReplica(t, dsn, key)
		}()
	}
	wg.Wait()
	for i, l := range logs {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		fill(t, l, 1)
	}
	var signers int
	if err := logs[0].db.QueryRow(`SELECT count(*) FROM audit_signers`).Scan(&signers); err != nil || signers != 4 {
		t.Fatalf("%d signers registered (%v), want 4", signers, err)
	}
	for _, l := range logs {
		if rep, err := l.Verify(context.Background()); err != nil || !rep.OK || rep.Rows != 8 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	}
}

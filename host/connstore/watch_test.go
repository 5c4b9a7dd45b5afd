package connstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pgtest"
)

// watchWait bounds every wait for a notice in these tests.
const watchWait = 20 * time.Second

// startWatch runs Watch on s and returns the names it reports.
func startWatch(t *testing.T, s *Store, poll time.Duration) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	names := make(chan string, 100)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, poll, func(n string) { names <- n }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch: %v", err)
			}
		case <-time.After(watchWait):
			t.Error("Watch did not end with its context")
		}
	})
	return names
}

// waitFor reads names until want (or "", any connection, when anyOK)
// arrives, failing after watchWait.
func waitFor(t *testing.T, names <-chan string, want string, anyOK bool) {
	t.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case n := <-names:
			if n == want || (anyOK && n == "") {
				return
			}
		case <-deadline:
			t.Fatalf("no notice of %q within %v", want, watchWait)
		}
	}
}

// warmUp touches through a until names reports it: Watch is then
// listening (before that it may not be), and names is drained.
func warmUp(t *testing.T, a *Store, names <-chan string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if err := a.Touch(ctx, "warmup"); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-names:
			if n != "warmup" && n != "" {
				t.Fatalf("notice %q, want warmup", n)
			}
		case <-time.After(100 * time.Millisecond):
			if i < 200 {
				continue
			}
			t.Fatal("Watch never started listening")
		}
		break
	}
	for len(names) > 0 {
		<-names
	}
}

// A change through one replica's store reaches another's Watch, named;
// so does a Touch.
func TestWatchSeesOtherReplicasChanges(t *testing.T) {
	dsn := pgtest.New(t)
	ctx := context.Background()
	a, _ := openStore(t, dsn, testKey(7))
	b, _ := openStore(t, dsn, testKey(7))
	// A long poll: what arrives here came as a notice.
	names := startWatch(t, b, time.Hour)
	warmUp(t, a, names)
	c, err := a.Create(ctx, Connection{Name: "x", Plugin: "docker"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, names, "x", false)
	c.Config = json.RawMessage(`{"a":1}`)
	if _, err := a.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, names, "x", false)
	if err := a.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, names, "x", false)
	if err := a.Touch(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, names, "y", false)
	if err := a.Touch(ctx, "Not A Name"); err == nil {
		t.Error("Touch took an invalid name")
	}
}

// A missed notice (a generation moved without one) is caught by the
// poll; a listener whose connection is killed comes back.
func TestWatchCatchesMissedNotices(t *testing.T) {
	dsn := pgtest.New(t)
	ctx := context.Background()
	a, raw := openStore(t, dsn, testKey(7))
	b, _ := openStore(t, dsn, testKey(7))
	names := startWatch(t, b, 50*time.Millisecond)
	warmUp(t, a, names)
	if _, err := raw.ExecContext(ctx, `UPDATE connections_generation SET gen = gen + 1`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, names, "", false)

	if _, err := raw.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	// The listener reconnects: later changes are named again (a change
	// made while it was away is reported as "" by the catch-up).
	deadline := time.After(watchWait)
	for {
		if err := a.Touch(ctx, "back"); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-names:
			if n == "back" {
				return
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("the listener did not come back")
		}
	}
}

// On SQLite there is one process: Watch returns at once.
func TestWatchOnSQLite(t *testing.T) {
	s, _ := newStore(t, "sqlite")
	if err := s.Watch(context.Background(), time.Second, func(string) { t.Error("a change reported on SQLite") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

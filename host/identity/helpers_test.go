package identity

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

// clock is the store's injected time: tests move it by hand, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fixture is a store on a real SQLite file in a test folder.
type fixture struct {
	*Store
	db    *sql.DB
	path  string
	clock *clock
	opts  Options
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "wharf.db"), clock: newClock(), opts: o}
	f.open(t)
	return f
}

// open (re)opens the store on the fixture's file, as a restarted host does.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := store.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := f.opts
	o.Now = f.clock.Now
	s, err := New(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	f.Store, f.db = s, db
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// wantInvalid checks err is an InvalidError naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: error %v, want an InvalidError at %s", what, err, field)
	}
	if ie.Field != field {
		t.Fatalf("%s: InvalidError at %s (%s), want at %s", what, ie.Field, ie.Reason, field)
	}
}

func gen(t *testing.T, f *fixture) int64 {
	t.Helper()
	g, err := f.Generation(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

package connstore

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/internal/pgtest"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestMain stops the test PostgreSQL cluster, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engine is the database a test runs on.
type engine string

// forEachEngine runs f as the subtests sqlite (a file in a test folder)
// and postgres (a database on the test cluster, see internal/pgtest).
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range []engine{"sqlite", "postgres"} {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}

// newDSN names a new, empty database of the engine.
func (e engine) newDSN(t *testing.T) string {
	t.Helper()
	if e == "postgres" {
		return pgtest.New(t)
	}
	return filepath.Join(t.TempDir(), "wharf.db")
}

// diskFiles are the files that hold the database of dsn: SQLite's file
// and write-ahead log, or every file of the PostgreSQL test cluster.
func (e engine) diskFiles(t *testing.T, dsn string) []string {
	t.Helper()
	if e != "postgres" {
		return []string{dsn, dsn + "-wal"}
	}
	var files []string
	err := filepath.WalkDir(pgtest.DataDir(t), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

// openStore opens the store on dsn, and a handle for the tests' own SQL
// (written with ?, like the store's).
func openStore(t *testing.T, dsn string, key []byte) (*Store, *store.DB) {
	t.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(db, key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := store.For(db, "connstore-test")
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func newStore(t *testing.T, e engine) (*Store, *store.DB) {
	return openStore(t, e.newDSN(t), testKey(7))
}

func wantCode(t *testing.T, what string, err error, code pluginapi.Code) {
	t.Helper()
	if pluginapi.CodeOf(err) != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

const secretConfig = `{"endpoint":"https://swarm.example:2376","token":"s3cr3t-t0ken"}`

func TestLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)

		c, err := s.Create(ctx, Connection{Name: "local-swarm", Plugin: "docker", Config: json.RawMessage(secretConfig), Version: 99})
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != 1 || c.CreatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) {
			t.Fatalf("created %+v", c)
		}
		got, err := s.Get(ctx, "local-swarm")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "local-swarm" || got.Plugin != "docker" || string(got.Config) != secretConfig || got.Version != 1 ||
			!got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("Get = %+v", got)
		}

		_, err = s.Create(ctx, Connection{Name: "local-swarm", Plugin: "ecs"})
		wantCode(t, "Create duplicate", err, pluginapi.CodeConflict)

		got.Config = json.RawMessage(`{"endpoint":"unix:///var/run/docker.sock"}`)
		upd, err := s.Update(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Version != 2 || !upd.CreatedAt.Equal(c.CreatedAt) || !upd.UpdatedAt.After(c.UpdatedAt) {
			t.Fatalf("updated %+v", upd)
		}
		_, err = s.Update(ctx, got) // still version 1
		wantCode(t, "stale Update", err, pluginapi.CodeConflict)
		if want := "connection local-swarm was changed by someone else (version 2, you had 1)"; pluginapi.AsError(err).Message != want {
			t.Fatalf("stale Update message %q, want %q", pluginapi.AsError(err).Message, want)
		}
		_, err = s.Update(ctx, Connection{Name: "nope", Plugin: "docker", Version: 1})
		wantCode(t, "Update unknown", err, pluginapi.CodeNotFound)

		if _, err := s.Create(ctx, Connection{Name: "a-first", Plugin: "ecs"}); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "a-first" || string(list[0].Config) != "{}" ||
			list[1].Name != "local-swarm" || list[1].Version != 2 {
			t.Fatalf("List = %+v", list)
		}

		if err := s.Delete(ctx, "local-swarm"); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, "local-swarm")
		wantCode(t, "Get deleted", err, pluginapi.CodeNotFound)
		wantCode(t, "Delete again", s.Delete(ctx, "local-swarm"), pluginapi.CodeNotFound)
		wantCode(t, "Delete bad name", s.Delete(ctx, "Bad Name"), pluginapi.CodeNotFound)
		_, err = s.Get(ctx, "Bad Name")
		wantCode(t, "Get bad name", err, pluginapi.CodeNotFound)

		if err := s.Delete(ctx, "a-first"); err != nil {
			t.Fatal(err)
		}
		if list, err := s.List(ctx); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("empty List = %#v, %v; want an empty, non-nil slice", list, err)
		}
	})
}

func TestValidation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		for _, tc := range []struct {
			c     Connection
			field string // "" = valid
		}{
			{Connection{Name: "a", Plugin: "p"}, ""},
			{Connection{Name: "prod-ecs-2", Plugin: "p"}, ""},
			{Connection{Name: strings.Repeat("x", 63), Plugin: "p"}, ""},
			{Connection{Name: strings.Repeat("x", 64), Plugin: "p"}, "/name"},
			{Connection{Name: "", Plugin: "p"}, "/name"},
			{Connection{Name: "Prod", Plugin: "p"}, "/name"},
			{Connection{Name: "a_b", Plugin: "p"}, "/name"},
			{Connection{Name: "a b", Plugin: "p"}, "/name"},
			{Connection{Name: "é", Plugin: "p"}, "/name"},
			{Connection{Name: "no-plugin"}, "/plugin"},
			{Connection{Name: "nul-plugin", Plugin: "p\x00"}, "/plugin"},
			{Connection{Name: "bad-plugin", Plugin: "p\xff"}, "/plugin"},
			{Connection{Name: "long-plugin", Plugin: strings.Repeat("p", 256)}, "/plugin"},
			{Connection{Name: "arr", Plugin: "p", Config: json.RawMessage(`[1]`)}, "/config"},
			{Connection{Name: "null", Plugin: "p", Config: json.RawMessage(`null`)}, "/config"},
			{Connection{Name: "broken", Plugin: "p", Config: json.RawMessage(`{"a":`)}, "/config"},
		} {
			for _, op := range []struct {
				name string
				fn   func(context.Context, Connection) (Connection, error)
			}{{"Create", s.Create}, {"Put", s.Put}, {"Update", s.Update}} {
				_, err := op.fn(ctx, tc.c)
				if tc.field == "" {
					if op.name != "Update" && err != nil {
						t.Errorf("%s(%q): %v", op.name, tc.c.Name, err)
					}
					continue
				}
				pe := pluginapi.AsError(err)
				if pe == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
					t.Errorf("%s(%+v) error %v, want invalid at %s", op.name, tc.c, err, tc.field)
				}
			}
		}
		if _, err := New(nil, []byte("short")); err == nil {
			t.Error("New accepted a short key")
		}
	})
}

func TestEncryptedAtRest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		path := e.newDSN(t)
		s, db := openStore(t, path, testKey(1))
		for _, name := range []string{"one", "two"} {
			if _, err := s.Create(ctx, Connection{Name: name, Plugin: "docker", Config: json.RawMessage(secretConfig)}); err != nil {
				t.Fatal(err)
			}
		}
		db.SQL().Close()

		// Nowhere on disk (the file or its WAL, the cluster's files) is
		// the secret in clear.
		for _, f := range e.diskFiles(t, path) {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("s3cr3t-t0ken")) {
				t.Fatalf("%s holds the secret in clear", f)
			}
		}

		// The right key reads it back after reopening.
		s, db = openStore(t, path, testKey(1))
		if c, err := s.Get(ctx, "one"); err != nil || string(c.Config) != secretConfig {
			t.Fatalf("Get after reopen = %+v, %v", c, err)
		}
		// Two rows with the same config do not share a ciphertext (fresh nonces).
		var a, b []byte
		db.QueryRowContext(ctx, `SELECT config FROM connections WHERE name = 'one'`).Scan(&a)
		db.QueryRowContext(ctx, `SELECT config FROM connections WHERE name = 'two'`).Scan(&b)
		if len(a) == 0 || bytes.Equal(a, b) {
			t.Fatal("identical ciphertexts for identical configs")
		}
		// A ciphertext copied to another row does not decrypt there.
		if _, err := db.ExecContext(ctx, `UPDATE connections SET config = ? WHERE name = 'two'`, a); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(ctx, "two")
		wantCode(t, "Get swapped ciphertext", err, pluginapi.CodeInternal)
		_, err = s.List(ctx)
		wantCode(t, "List with a bad row", err, pluginapi.CodeInternal)

		// A wrong key cannot read it.
		db.SQL().Close()
		s, _ = openStore(t, path, testKey(2))
		_, err = s.Get(ctx, "one")
		wantCode(t, "Get with the wrong key", err, pluginapi.CodeInternal)
		if !strings.Contains(err.Error(), "wrong key") {
			t.Errorf("wrong-key error %q does not say so", err)
		}
	})
}

func TestPut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		c, err := s.Put(ctx, Connection{Name: "cfg", Plugin: "docker", Config: json.RawMessage(`{"a":1,"b":[true,"x"],"n":12345678901234567890}`)})
		if err != nil || c.Version != 1 {
			t.Fatalf("Put new = %+v, %v", c, err)
		}
		for _, tc := range []struct {
			name    string
			plugin  string
			config  string
			version int64
		}{
			{"same, reformatted and reordered", "docker", `{ "n": 12345678901234567890, "b": [true, "x"], "a": 1 }`, 1},
			{"big number changed in its last digit", "docker", `{"a":1,"b":[true,"x"],"n":12345678901234567891}`, 2},
			{"same again", "docker", `{"a":1,"b":[true,"x"],"n":12345678901234567891}`, 2},
			{"config changed", "docker", `{"a":2}`, 3},
			{"plugin changed", "ecs", `{"a":2}`, 4},
		} {
			got, err := s.Put(ctx, Connection{Name: "cfg", Plugin: tc.plugin, Config: json.RawMessage(tc.config), Version: 1})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			stored, err := s.Get(ctx, "cfg")
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tc.version || stored.Version != tc.version || stored.Plugin != tc.plugin || !sameJSON(stored.Config, []byte(tc.config)) {
				t.Fatalf("%s: Put = v%d, stored = %+v; want version %d", tc.name, got.Version, stored, tc.version)
			}
		}
	})
}

// TestConcurrentUpdates: of many writers holding the same version, exactly
// one wins; the others get a conflict.
func TestConcurrentUpdates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		c, err := s.Create(ctx, Connection{Name: "race", Plugin: "docker"})
		if err != nil {
			t.Fatal(err)
		}
		const writers = 12
		var wg sync.WaitGroup
		results := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := c
				u.Config = json.RawMessage(`{"writer":"` + string(rune('a'+i)) + `"}`)
				_, err := s.Update(ctx, u)
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		wins := 0
		for err := range results {
			switch pluginapi.CodeOf(err) {
			case "":
				wins++
			case pluginapi.CodeConflict:
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		got, _ := s.Get(ctx, "race")
		if wins != 1 || got.Version != 2 {
			t.Fatalf("%d winners, version %d; want 1 winner, version 2", wins, got.Version)
		}
	})
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets", "wharf.key")

	// Concurrent first calls all end up with the same key.
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != KeySize || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ or have the wrong size: %x vs %x", k, keys[0])
		}
	}
	if bytes.Equal(keys[0], make([]byte, KeySize)) {
		t.Fatal("key is all zeros")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("second load = %x, %v", again, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("key folder holds %d files, want only the key (temporary files left behind)", len(entries))
	}

	raw := filepath.Join(dir, "raw.key")
	os.WriteFile(raw, testKey(9), 0o600)
	if k, err := LoadOrCreateKey(raw); err != nil || !bytes.Equal(k, testKey(9)) {
		t.Fatalf("raw key file: %x, %v", k, err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	if _, err := LoadOrCreateKey(bad); err == nil {
		t.Fatal("malformed key file accepted")
	}
	if b, _ := os.ReadFile(bad); string(b) != "not a key\n" {
		t.Fatal("malformed key file was overwritten")
	}
}

package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/host/server"
)

func TestDataFolderAndFilesArePrivate(t *testing.T) {
	check := func(t *testing.T, dir string) {
		t.Helper()
		for path, want := range map[string]os.FileMode{
			dir: 0o700, filepath.Join(dir, "wharf.db"): 0o600, filepath.Join(dir, "wharf.db-wal"): 0o600,
			filepath.Join(dir, "wharf.db-shm"): 0o600, filepath.Join(dir, "connections.key"): 0o600,
		} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s: mode %o, want %o", filepath.Base(path), got, want)
			}
		}
	}
	t.Run("new", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		h := newHost(t, server.Config{DataDir: dir})
		h.do("GET", "/api/v1/connections", "") // the database is in use: -wal and -shm exist
		check(t, dir)
	})
	t.Run("existing, world-readable", func(t *testing.T) {
		// What an older version, a restored backup or a careless copy leaves.
		dir := filepath.Join(t.TempDir(), "data")
		h := newHost(t, server.Config{DataDir: dir})
		_ = h.srv.Close(t.Context())
		os.Chmod(dir, 0o755)
		for _, f := range []string{"wharf.db", "wharf.db-wal", "wharf.db-shm", "connections.key"} {
			os.Chmod(filepath.Join(dir, f), 0o644)
		}
		h = newHost(t, server.Config{DataDir: dir})
		h.do("GET", "/api/v1/connections", "")
		check(t, dir)
	})
}

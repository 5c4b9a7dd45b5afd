package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateDataDir makes the data folder 0700 and the database file 0600
// before SQLite opens it, whatever existed before: the database holds the
// audit log and encrypted connection configs, and SQLite gives its -wal and
// -shm files the database file's mode. A missing database file is created
// empty with 0600 (SQLite takes an empty file as a new database).
func privateDataDir(dir, dbPath string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	if dbPath == "" { // the database is not a file here (PostgreSQL)
		return nil
	}
	f, err := os.OpenFile(dbPath, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("database %s: %w", dbPath, err)
	}
	_ = f.Close()
	return privateFiles(dbPath, dbPath+"-wal", dbPath+"-shm")
}

// privateFiles makes each existing file owner-only (0600).
func privateFiles(paths ...string) error {
	for _, p := range paths {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// Package keyfile keeps secret keys in files outside the database: the key
// that encrypts connection configs and the audit log's chain and signing
// keys. A key file holds the key hex-encoded on one line (mode 0600); a file
// of exactly the key's size in raw bytes is accepted too.
package keyfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Read returns the size-byte key in the file at path. A missing file is an
// error wrapping fs.ErrNotExist.
func Read(path string, size int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) == size {
		return b, nil
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != size {
		return nil, fmt.Errorf("key file %s must hold %d hex-encoded bytes (%d hex digits)", path, size, 2*size)
	}
	return key, nil
}

// LoadOrCreate returns the size-byte key at path, creating the file (mode
// 0600, its folder 0700) with a random key if there is none. The file is
// written in full under a temporary name and then linked into place, so it
// appears whole or not at all; when another process created it meanwhile,
// the link fails and theirs is used.
func LoadOrCreate(path string, size int) ([]byte, error) {
	key, err := Read(path, size)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key = make([]byte, size)
	rand.Read(key)
	tmp, err := os.CreateTemp(dir, ".key-*") // CreateTemp makes it 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return Read(path, size)
	case err != nil:
		return nil, err
	}
	SyncDir(dir)
	return key, nil
}

// SyncDir makes new entries of dir durable; best effort.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

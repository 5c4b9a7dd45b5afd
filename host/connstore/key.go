package connstore

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

// LoadOrCreateKey returns the KeySize-byte key stored at path, creating
// the file (mode 0600, parent folders 0700) with a random key if it does
// not exist. The file holds the key hex-encoded on one line; a file of
// exactly KeySize raw bytes is accepted too. Losing the file makes stored
// connection configs unreadable: back it up with the database.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("connstore: key folder: %w", err)
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	// Write a temporary file in full, then link it into place: the key file
	// appears whole or not at all, and if another process created one
	// meanwhile, the link fails and we use theirs.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path)
		}
		return nil, fmt.Errorf("connstore: create key: %w", err)
	}
	syncDir(filepath.Dir(path))
	return key, nil
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("connstore: read key: %w", err)
	}
	if len(b) == KeySize {
		return b, nil
	}
	text := strings.TrimSpace(string(b))
	key, err := hex.DecodeString(text)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("connstore: key file %s must hold %d hex-encoded bytes (%d hex digits)", path, KeySize, 2*KeySize)
	}
	return key, nil
}

// syncDir makes a new directory entry durable; best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

package connstore

import (
	"fmt"

	"github.com/wharfhq/wharf/internal/keyfile"
)

// LoadOrCreateKey returns the KeySize-byte key stored at path, creating
// the file (mode 0600, parent folders 0700) with a random key if it does
// not exist. The file holds the key hex-encoded on one line; a file of
// exactly KeySize raw bytes is accepted too. Losing the file makes stored
// connection configs unreadable: back it up with the database.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := keyfile.LoadOrCreate(path, KeySize)
	if err != nil {
		return nil, fmt.Errorf("connstore: key: %w", err)
	}
	return key, nil
}

package audit

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/keyfile"
)

// Files in a data folder, as LoadOrCreateOptions names them.
const (
	ChainKeyFile    = "audit-chain.key"   // HMAC key of the chain, hex
	SigningKeyFile  = "audit-signing.key" // ed25519 seed that signs checkpoints, hex
	CheckpointsFile = "audit.checkpoints" // the checkpoint log, JSON lines
)

// MinChainKeySize is the shortest accepted chain key, in bytes.
const MinChainKeySize = 32

// Options configure a Log's tamper evidence. Every field is required;
// New checks them once.
type Options struct {
	// ChainKey keys the HMAC-SHA256 hash chain: at least MinChainKeySize
	// bytes, kept outside the database (whoever holds it can re-chain
	// altered rows).
	ChainKey []byte
	// Signer signs each checkpoint of the chain's head.
	Signer ed25519.PrivateKey
	// CheckpointPath is the append-only checkpoint log, outside the
	// database file. Copy it (or ship its lines) elsewhere as it grows:
	// removing the newest rows and the newest checkpoints together cannot
	// be detected from this machine alone.
	CheckpointPath string
	// WriterTimeout is how long a writer (a replica) may go without a
	// heartbeat before the operations it left unfinished are another's to
	// recover; 0 means DefaultWriterTimeout. Replicas' clocks must agree
	// to well within it.
	WriterTimeout time.Duration
}

// DefaultWriterTimeout is Options.WriterTimeout's default; a writer beats
// three times within it.
const DefaultWriterTimeout = 30 * time.Second

func (o Options) check() error {
	switch {
	case len(o.ChainKey) < MinChainKeySize:
		return fmt.Errorf("options: ChainKey must be at least %d bytes, got %d", MinChainKeySize, len(o.ChainKey))
	case len(o.Signer) != ed25519.PrivateKeySize:
		return fmt.Errorf("options: Signer must be an ed25519 private key (%d bytes), got %d bytes", ed25519.PrivateKeySize, len(o.Signer))
	case strings.TrimSpace(o.CheckpointPath) == "":
		return errors.New("options: CheckpointPath is required")
	case o.WriterTimeout < 0:
		return fmt.Errorf("options: WriterTimeout must not be negative, got %s", o.WriterTimeout)
	}
	return nil
}

// LoadOrCreateOptions returns Options kept in the folder dir: the chain key
// (ChainKeyFile) and signing key (SigningKeyFile), each created with 32
// random bytes (mode 0600) if missing, and the checkpoint log
// CheckpointsFile. Back the keys up apart from the database, and keep the
// public key (PublicKeyText) somewhere an attacker of this machine cannot
// change it.
func LoadOrCreateOptions(dir string) (Options, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Options{}, fmt.Errorf("audit: key folder: %w", err)
	}
	chain, err := loadOrCreateSecret(filepath.Join(dir, ChainKeyFile))
	if err != nil {
		return Options{}, err
	}
	seed, err := loadOrCreateSecret(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return Options{}, err
	}
	return Options{ChainKey: chain, Signer: ed25519.NewKeyFromSeed(seed),
		CheckpointPath: filepath.Join(dir, CheckpointsFile)}, nil
}

// ReadKeyFile reads a 32-byte key file as LoadOrCreateOptions writes it
// (hex on one line; 32 raw bytes are accepted too).
func ReadKeyFile(path string) ([]byte, error) {
	key, err := keyfile.Read(path, secretSize)
	if err != nil {
		return nil, fmt.Errorf("audit: key file: %w", err)
	}
	return key, nil
}

// SignerFromSeed turns the contents of SigningKeyFile into a private key.
func SignerFromSeed(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit: signing key seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

const secretSize = 32

func loadOrCreateSecret(path string) ([]byte, error) {
	key, err := keyfile.LoadOrCreate(path, secretSize)
	if err != nil {
		return nil, fmt.Errorf("audit: key %s: %w", path, err)
	}
	return key, nil
}

// ChainKeyID names a chain key without revealing it: checkpoints record
// it, so a log opened with the wrong key is refused rather than extended
// with rows no single key verifies.
func ChainKeyID(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("wharf-audit-chain-key-id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// SigningKeyID names a checkpoint signing key by its public key.
func SigningKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Checkpoint is a signed record of the chain's head: how many rows the log
// held and the hash of the last one. The writer appends one to the
// checkpoint log after every group commit, before acknowledging any caller
// in it, so every acknowledged row is covered: rows deleted from the end of
// the table, or the whole table emptied, no longer match the checkpoint.
type Checkpoint struct {
	// Rows is the number of rows, which is also the last row's id.
	Rows int64 `json:"rows"`
	// Hash is the last row's chain hash, hex (64 zeros for an empty log).
	Hash string `json:"hash"`
	// KeyedFrom is the first row chained with the keyed hash; rows before
	// it were written before the upgrade and use the unkeyed SHA-256 chain.
	KeyedFrom int64 `json:"keyed_from"`
	// ChainKey is ChainKeyID of the chain key.
	ChainKey string `json:"chain_key"`
	// Time is when the checkpoint was written (UTC).
	Time time.Time `json:"time"`
	// Key is SigningKeyID of the key that signed it.
	Key string `json:"key"`
	// Sig is the ed25519 signature of signedText, base64.
	Sig string `json:"sig"`
}

// maxCheckpointLine bounds a checkpoint log line (they are ~300 bytes).
const maxCheckpointLine = 1024

// signedText is what the signature covers: every field but Sig, in a
// fixed text form, so JSON spelling cannot matter.
func (c *Checkpoint) signedText() []byte {
	return fmt.Appendf(nil, "wharf-audit-checkpoint-v1\nrows=%d\nhash=%s\nkeyed_from=%d\nchain_key=%s\ntime=%d\nkey=%s\n",
		c.Rows, c.Hash, c.KeyedFrom, c.ChainKey, c.Time.UnixNano(), c.Key)
}

func newCheckpoint(rows int64, hash []byte, keyedFrom int64, chainKeyID string, signer ed25519.PrivateKey, now time.Time) Checkpoint {
	c := Checkpoint{Rows: rows, Hash: hex.EncodeToString(hash), KeyedFrom: keyedFrom, ChainKey: chainKeyID,
		Time: now.UTC(), Key: SigningKeyID(signer.Public().(ed25519.PublicKey))}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(signer, c.signedText()))
	return c
}

// line is the checkpoint's canonical JSON line, newline included.
func (c *Checkpoint) line() []byte {
	b, _ := json.Marshal(c) // cannot fail: strings, integers, a UTC time
	return append(b, '\n')
}

// hashBytes is Hash decoded.
func (c *Checkpoint) hashBytes() []byte {
	b, _ := hex.DecodeString(c.Hash)
	return b
}

// parseCheckpoint reads one line (without its newline) strictly: it must
// be exactly the canonical encoding of a checkpoint signed by pub, so no
// byte of it can change unnoticed.
func parseCheckpoint(line []byte, pub ed25519.PublicKey) (Checkpoint, error) {
	var c Checkpoint
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("not a checkpoint: %v", err)
	}
	if !bytes.Equal(c.line(), append(line[:len(line):len(line)], '\n')) {
		return c, fmt.Errorf("not in canonical form")
	}
	if h, err := hex.DecodeString(c.Hash); err != nil || len(h) != hashSize {
		return c, fmt.Errorf("hash is not %d hex bytes", hashSize)
	}
	if c.Rows < 0 || c.KeyedFrom < 1 {
		return c, fmt.Errorf("rows %d or keyed_from %d out of range", c.Rows, c.KeyedFrom)
	}
	if want := SigningKeyID(pub); c.Key != want {
		return c, fmt.Errorf("signed by key %s, not by %s (the public key given)", c.Key, want)
	}
	// Strict: base64's spare bits of the last character must be zero, or
	// the same signature would have several spellings.
	sig, err := base64.StdEncoding.Strict().DecodeString(c.Sig)
	if err != nil || !ed25519.Verify(pub, c.signedText(), sig) {
		return c, fmt.Errorf("signature invalid")
	}
	return c, nil
}

// PublicKeyText is pub as operators copy it: base64.
func PublicKeyText(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key as PublicKeyText writes it (hex is
// accepted too).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(b), nil
	}
	return nil, fmt.Errorf("audit: a public key is %d bytes in base64 (or hex)", ed25519.PublicKeySize)
}

// Package plugintrust decides whether the host trusts a plugin file: who
// signed it and whether that signer is one the host's configuration names.
//
// Signatures are minisign signatures (Ed25519, https://jedisct1.github.io/minisign/)
// in a file beside the plugin, FILE.wasm.minisig. minisign was chosen over
// SSH signatures because its keys and signatures are small self-describing
// text, a widely packaged command-line tool (Debian's minisign) makes and
// checks the same files, and aead.dev/minisign implements both signing and
// verification, including the pre-hashed form minisign makes by default.
package plugintrust

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"aead.dev/minisign"
)

// SignatureSuffix is appended to a plugin's file name to name its signature.
const SignatureSuffix = ".minisig"

// MaxSignatureSize bounds a signature file; a real one is under 400 bytes.
const MaxSignatureSize = 4 << 10

// Policy says what the host does with a plugin that no trusted key signed.
type Policy string

const (
	// PolicyOff loads every plugin and does not look for signatures.
	PolicyOff Policy = "off"
	// PolicyWarn loads every plugin and reports those no trusted key signed.
	PolicyWarn Policy = "warn"
	// PolicyRequire refuses a plugin that no trusted key signed.
	PolicyRequire Policy = "require"
)

// ParsePolicy reads a policy name; "" is PolicyOff.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return PolicyOff, nil
	case PolicyOff, PolicyWarn, PolicyRequire:
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q: use require, warn or off", s)
}

// Key is a public key the host trusts, with the name it is shown by.
type Key struct {
	Name   string
	Public minisign.PublicKey
}

// ID is the key id as minisign prints it (16 upper-case hex digits).
func (k Key) ID() string { return KeyID(k.Public.ID()) }

// KeyID formats a minisign key id.
func KeyID(id uint64) string { return fmt.Sprintf("%016X", id) }

// ParseKey reads a public key given as minisign's base64 line ("RW…") or as
// the contents of a minisign .pub file (an untrusted comment line, then the
// key).
func ParseKey(name, text string) (Key, error) {
	text = strings.TrimSpace(text)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = strings.TrimSpace(text[i+1:])
	}
	var pk minisign.PublicKey
	if err := pk.UnmarshalText([]byte(text)); err != nil {
		return Key{}, fmt.Errorf("not a minisign public key: %v", err)
	}
	return Key{Name: name, Public: pk}, nil
}

// Trust is the host's policy and its trusted keys.
type Trust struct {
	Policy Policy
	Keys   []Key
}

// Check validates t: require needs at least one key, and key names and ids
// are unique.
func (t Trust) Check() error {
	if t.Policy == PolicyRequire && len(t.Keys) == 0 {
		return errors.New("policy require needs at least one trusted key")
	}
	names, ids := map[string]bool{}, map[uint64]bool{}
	for _, k := range t.Keys {
		if k.Name == "" {
			return fmt.Errorf("trusted key %s has no name", k.ID())
		}
		if names[k.Name] {
			return fmt.Errorf("two trusted keys are named %q", k.Name)
		}
		if ids[k.Public.ID()] {
			return fmt.Errorf("key %s is listed twice", k.ID())
		}
		names[k.Name], ids[k.Public.ID()] = true, true
	}
	return nil
}

// Signer is who signed a plugin, as far as the host can tell.
type Signer struct {
	// KeyID is the signing key's id, from the signature (set whenever a
	// signature file was readable, trusted or not).
	KeyID string `json:"key_id"`
	// KeyName is the trusted key's configured name; empty when the key is
	// not trusted.
	KeyName string `json:"key_name,omitempty"`
	// Comment is the signature's trusted comment (signed with the file).
	Comment string `json:"comment,omitempty"`
}

// Verdict is what Trust.Verify found for one plugin file.
type Verdict struct {
	// Trusted is true when a trusted key's valid signature covers the file.
	Trusted bool `json:"trusted"`
	// Signer is set when a signature file was there and readable.
	Signer *Signer `json:"signer,omitempty"`
	// Problem says why the file is not trusted; empty when it is.
	Problem string `json:"problem,omitempty"`
}

// Verify checks the signature beside path (path + SignatureSuffix) against
// wasm, the file's bytes as the host read them (so a file swapped after the
// read cannot pass on the old one's signature). It never fails: what is
// wrong is in the Verdict's Problem. Under PolicyOff it does not look.
func (t Trust) Verify(path string, wasm []byte) Verdict {
	if t.Policy == PolicyOff {
		return Verdict{Problem: "signatures are not checked (policy off)"}
	}
	sigPath := path + SignatureSuffix
	sig, err := readBounded(sigPath)
	if errors.Is(err, os.ErrNotExist) {
		return Verdict{Problem: fmt.Sprintf("%s is not signed (no %s)", path, sigPath)}
	}
	if err != nil {
		return Verdict{Problem: fmt.Sprintf("%s: %v", sigPath, err)}
	}
	return t.VerifyBytes(path, wasm, sig)
}

// VerifyBytes is Verify with the signature given, as an upload brings it.
func (t Trust) VerifyBytes(path string, wasm, sig []byte) Verdict {
	var s minisign.Signature
	if err := s.UnmarshalText(bytes.TrimSpace(sig)); err != nil {
		return Verdict{Problem: fmt.Sprintf("the signature of %s is not a minisign signature: %v", path, err)}
	}
	signer := &Signer{KeyID: KeyID(s.KeyID), Comment: s.TrustedComment}
	for _, k := range t.Keys {
		if k.Public.ID() != s.KeyID {
			continue
		}
		signer.KeyName = k.Name
		if !minisign.Verify(k.Public, wasm, sig) {
			return Verdict{Signer: signer, Problem: fmt.Sprintf(
				"the signature of %s by trusted key %q (%s) does not match the file: it was changed after signing, or the signature is damaged",
				path, k.Name, signer.KeyID)}
		}
		return Verdict{Trusted: true, Signer: signer}
	}
	return Verdict{Signer: signer, Problem: fmt.Sprintf("%s is signed by key %s, which is not a trusted key", path, signer.KeyID)}
}

// Admit applies the policy to a verdict: under PolicyRequire an untrusted
// plugin is an error (its message names the file and the key); otherwise
// nil, and the caller shows v.Problem as a warning when policy is warn.
func (t Trust) Admit(v Verdict) error {
	if t.Policy == PolicyRequire && !v.Trusted {
		return fmt.Errorf("refused by the plugin trust policy (require): %s", v.Problem)
	}
	return nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSignatureSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSignatureSize {
		return nil, fmt.Errorf("larger than %d bytes: not a signature", MaxSignatureSize)
	}
	return b, nil
}

package plugintrust

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"aead.dev/minisign"
)

// Sign signs wasm with key in minisign's default, pre-hashed form (what
// `minisign -S` makes), with comment as the signed trusted comment.
func Sign(key minisign.PrivateKey, wasm []byte, comment string) []byte {
	r := minisign.NewReader(bytes.NewReader(wasm))
	// Reading a bytes.Reader to its end cannot fail.
	_, _ = io.Copy(io.Discard, r)
	return r.SignWithComments(key, comment, "signature from wharf plugin sign")
}

// GenerateKey makes a new signing key. With a password the private key is
// encrypted as minisign encrypts it (scrypt and a keystream); without one it
// is stored in the clear, which the caller must have asked for.
func GenerateKey(password string) (pub minisign.PublicKey, privText []byte, err error) {
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		return pub, nil, err
	}
	if password == "" {
		privText, err = priv.MarshalText()
	} else {
		privText, err = minisign.EncryptKey(password, priv)
	}
	return pub, privText, err
}

// PublicKeyFile is the text of a minisign .pub file for pub.
func PublicKeyFile(pub minisign.PublicKey) []byte {
	return fmt.Appendf(nil, "untrusted comment: minisign public key %s\n%s\n", KeyID(pub.ID()), pub.String())
}

// ReadPrivateKey reads a minisign private key file, decrypting it with
// password when it is encrypted.
func ReadPrivateKey(path, password string) (minisign.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	if minisign.IsEncrypted(raw) {
		if password == "" {
			return minisign.PrivateKey{}, fmt.Errorf("%s is encrypted: give its password", path)
		}
		k, err := minisign.DecryptKey(password, raw)
		if err != nil {
			return minisign.PrivateKey{}, fmt.Errorf("%s: %v", path, err)
		}
		return k, nil
	}
	var k minisign.PrivateKey
	if err := k.UnmarshalText(bytes.TrimSpace(lastLine(raw))); err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("%s is not a minisign private key: %v", path, err)
	}
	return k, nil
}

func lastLine(b []byte) []byte {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return []byte(s)
}

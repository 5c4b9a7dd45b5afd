package plugintrust_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"

	"github.com/wharfhq/wharf/host/plugintrust"
)

// newKey makes a key pair and returns the trusted Key and the private key.
func newKey(t *testing.T, name string) (plugintrust.Key, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return plugintrust.Key{Name: name, Public: pub}, priv
}

func writePlugin(t *testing.T, dir string, body []byte) string {
	t.Helper()
	p := filepath.Join(dir, "acme.wasm")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyTrustedUntrustedTamperedUnsigned(t *testing.T) {
	dir := t.TempDir()
	wasm := []byte("\x00asm\x01\x00\x00\x00 pretend plugin bytes")
	path := writePlugin(t, dir, wasm)
	acme, acmePriv := newKey(t, "acme")
	other, otherPriv := newKey(t, "other")
	trust := plugintrust.Trust{Policy: plugintrust.PolicyRequire, Keys: []plugintrust.Key{acme}}

	// Unsigned: refused, naming the file.
	v := trust.Verify(path, wasm)
	if v.Trusted || !strings.Contains(v.Problem, path) || !strings.Contains(v.Problem, "not signed") {
		t.Fatalf("unsigned: %+v", v)
	}
	if err := trust.Admit(v); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("unsigned admitted under require: %v", err)
	}

	// Signed by a trusted key: trusted, signer named, comment kept.
	if err := os.WriteFile(path+plugintrust.SignatureSuffix, plugintrust.Sign(acmePriv, wasm, "acme 1.0.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	v = trust.Verify(path, wasm)
	if !v.Trusted || v.Signer == nil || v.Signer.KeyName != "acme" || v.Signer.KeyID != acme.ID() || v.Signer.Comment != "acme 1.0.0" {
		t.Fatalf("trusted: %+v %+v", v, v.Signer)
	}
	if err := trust.Admit(v); err != nil {
		t.Fatal(err)
	}

	// The same signature over changed bytes (the file swapped after
	// signing): refused, naming the key.
	tampered := append(bytes.Clone(wasm), 0)
	v = trust.Verify(path, tampered)
	if v.Trusted || !strings.Contains(v.Problem, `"acme"`) || !strings.Contains(v.Problem, "does not match") {
		t.Fatalf("tampered: %+v", v)
	}

	// Signed by a key the host does not trust: refused, naming that key.
	if err := os.WriteFile(path+plugintrust.SignatureSuffix, plugintrust.Sign(otherPriv, wasm, "x"), 0o644); err != nil {
		t.Fatal(err)
	}
	v = trust.Verify(path, wasm)
	if v.Trusted || v.Signer == nil || v.Signer.KeyID != other.ID() || !strings.Contains(v.Problem, other.ID()) {
		t.Fatalf("untrusted key: %+v", v)
	}

	// A garbage signature file: a clear problem, not a panic.
	if err := os.WriteFile(path+plugintrust.SignatureSuffix, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v = trust.Verify(path, wasm); v.Trusted || !strings.Contains(v.Problem, "not a minisign signature") {
		t.Fatalf("garbage: %+v", v)
	}

	// An oversized signature file is not read whole.
	if err := os.WriteFile(path+plugintrust.SignatureSuffix, bytes.Repeat([]byte("a"), plugintrust.MaxSignatureSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if v = trust.Verify(path, wasm); v.Trusted || !strings.Contains(v.Problem, "larger than") {
		t.Fatalf("oversized: %+v", v)
	}

	// warn admits what require refuses; off does not even look.
	warn := plugintrust.Trust{Policy: plugintrust.PolicyWarn, Keys: trust.Keys}
	if err := warn.Admit(warn.Verify(path, wasm)); err != nil {
		t.Fatal(err)
	}
	off := plugintrust.Trust{Policy: plugintrust.PolicyOff}
	if v := off.Verify(path, wasm); v.Trusted || v.Signer != nil {
		t.Fatalf("off: %+v", v)
	}
}

func TestCheckAndParse(t *testing.T) {
	a, _ := newKey(t, "a")
	for _, tc := range []struct {
		trust plugintrust.Trust
		want  string
	}{
		{plugintrust.Trust{Policy: plugintrust.PolicyRequire}, "at least one"},
		{plugintrust.Trust{Policy: plugintrust.PolicyWarn, Keys: []plugintrust.Key{a, {Name: "a", Public: a.Public}}}, "named"},
		{plugintrust.Trust{Policy: plugintrust.PolicyWarn, Keys: []plugintrust.Key{a, {Name: "b", Public: a.Public}}}, "twice"},
		{plugintrust.Trust{Policy: plugintrust.PolicyWarn, Keys: []plugintrust.Key{{Public: a.Public}}}, "no name"},
	} {
		if err := tc.trust.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.trust, err, tc.want)
		}
	}
	if _, err := plugintrust.ParsePolicy("sometimes"); err == nil {
		t.Error("unknown policy accepted")
	}
	if p, err := plugintrust.ParsePolicy(" Require "); err != nil || p != plugintrust.PolicyRequire {
		t.Errorf("%q %v", p, err)
	}
	// A key as a bare line and as a .pub file's text.
	for _, text := range []string{a.Public.String(), string(plugintrust.PublicKeyFile(a.Public))} {
		k, err := plugintrust.ParseKey("a", text)
		if err != nil || !k.Public.Equal(a.Public) {
			t.Errorf("ParseKey(%q): %v", text, err)
		}
	}
	if _, err := plugintrust.ParseKey("a", "RWnotakey"); err == nil {
		t.Error("bad key accepted")
	}
}

func TestEncryptedKeyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := plugintrust.GenerateKey("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	kp := filepath.Join(dir, "k.key")
	if err := os.WriteFile(kp, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := plugintrust.ReadPrivateKey(kp, ""); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("no password: %v", err)
	}
	if _, err := plugintrust.ReadPrivateKey(kp, "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	k, err := plugintrust.ReadPrivateKey(kp, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	wasm := []byte("plugin")
	trust := plugintrust.Trust{Policy: plugintrust.PolicyRequire, Keys: []plugintrust.Key{{Name: "k", Public: pub}}}
	if v := trust.VerifyBytes("p.wasm", wasm, plugintrust.Sign(k, wasm, "c")); !v.Trusted {
		t.Fatalf("%+v", v)
	}
}

// The files are minisign's own: the minisign tool checks what Sign wrote
// with a key GenerateKey made, and Verify accepts what the tool signed
// with a key the tool made. Skipped without Debian's minisign, which
// test.sh installs.
func TestInteropWithMinisignTool(t *testing.T) {
	bin, err := exec.LookPath("minisign")
	if err != nil {
		if os.Getenv("WHARF_REQUIRE_MINISIGN") != "" {
			t.Fatal("minisign not installed (apt-get install minisign)")
		}
		t.Skip("minisign not installed (apt-get install minisign)")
	}
	dir := t.TempDir()
	wasm := bytes.Repeat([]byte("wasm bytes "), 10000)
	path := writePlugin(t, dir, wasm)

	// Ours → the tool.
	pub, privText, err := plugintrust.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	kp := filepath.Join(dir, "ours.key")
	if err := os.WriteFile(kp, privText, 0o600); err != nil {
		t.Fatal(err)
	}
	priv, err := plugintrust.ReadPrivateKey(kp, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+plugintrust.SignatureSuffix, plugintrust.Sign(priv, wasm, "acme 1.0.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	pp := filepath.Join(dir, "ours.pub")
	if err := os.WriteFile(pp, plugintrust.PublicKeyFile(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-V", "-p", pp, "-m", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "acme 1.0.0") {
		t.Fatalf("minisign -V of our signature: %v\n%s", err, out)
	}
	// The tool refuses it over other bytes, so the check above was real.
	other := filepath.Join(dir, "other.wasm")
	if err := os.WriteFile(other, append(bytes.Clone(wasm), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+plugintrust.SignatureSuffix, other+plugintrust.SignatureSuffix); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-V", "-p", pp, "-m", other).CombinedOutput(); err == nil {
		t.Fatalf("minisign accepted our signature over other bytes:\n%s", out)
	}

	// The tool → ours.
	tp, tk := filepath.Join(dir, "tool.pub"), filepath.Join(dir, "tool.key")
	if out, err := exec.Command(bin, "-G", "-W", "-p", tp, "-s", tk).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "-S", "-s", tk, "-m", path, "-t", "signed by the tool").CombinedOutput(); err != nil {
		t.Fatalf("minisign -S: %v\n%s", err, out)
	}
	pubText, err := os.ReadFile(tp)
	if err != nil {
		t.Fatal(err)
	}
	key, err := plugintrust.ParseKey("tool", string(pubText))
	if err != nil {
		t.Fatal(err)
	}
	trust := plugintrust.Trust{Policy: plugintrust.PolicyRequire, Keys: []plugintrust.Key{key}}
	v := trust.Verify(path, wasm)
	if !v.Trusted || v.Signer.Comment != "signed by the tool" {
		t.Fatalf("the tool's signature: %+v", v)
	}
	if v := trust.Verify(path, append(bytes.Clone(wasm), 1)); v.Trusted {
		t.Fatal("the tool's signature accepted over other bytes")
	}
	// And a key file the tool wrote signs for us too (unencrypted, -W).
	tkey, err := plugintrust.ReadPrivateKey(tk, "")
	if err != nil {
		t.Fatal(err)
	}
	if v := trust.VerifyBytes(path, wasm, plugintrust.Sign(tkey, wasm, "c")); !v.Trusted {
		t.Fatalf("signed with the tool's key: %+v", v)
	}
}

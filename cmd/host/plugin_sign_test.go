package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// copyPlugin puts the fake plugin in a folder of its own, so its signature
// file lands beside the copy.
func copyPlugin(t *testing.T) string {
	t.Helper()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fake.wasm")
	if err := os.WriteFile(p, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestPluginKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	plugin := copyPlugin(t)
	acme, other := filepath.Join(dir, "acme"), filepath.Join(dir, "other")

	// A key without a password is made only when asked for.
	t.Setenv(keyPasswordEnv, "")
	if _, err := runCLI(t, "plugin", "keygen", "--out", acme); pluginapi.CodeOf(err) != pluginapi.CodeInvalid || !strings.Contains(err.Error(), "--unencrypted") {
		t.Fatalf("keygen without password: %v", err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "plugin", "keygen", "--out", acme, "--password-file", pwFile)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "Key id:", "Public key:\tRW")
	if st, err := os.Stat(acme + ".key"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", st.Mode(), err)
	}
	if _, err := runCLI(t, "plugin", "keygen", "--out", acme, "--unencrypted"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("keygen over an existing key: %v", err)
	}
	if _, err := runCLI(t, "plugin", "keygen", "--out", other, "--unencrypted"); err != nil {
		t.Fatal(err)
	}

	// Signing needs the password, and refuses a file that is not a plugin.
	if _, err := runCLI(t, "plugin", "sign", plugin, "--key", acme+".key"); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("sign without the password: %v", err)
	}
	notPlugin := filepath.Join(dir, "x.wasm")
	os.WriteFile(notPlugin, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	if _, err := runCLI(t, "plugin", "sign", notPlugin, "--key", other+".key"); pluginapi.CodeOf(err) != pluginapi.CodeInvalid {
		t.Fatalf("sign of a non-plugin: %v", err)
	}
	if _, err := os.Stat(notPlugin + ".minisig"); err == nil {
		t.Fatal("a non-plugin got a signature")
	}
	out, err = runCLI(t, "plugin", "sign", plugin, "--key", acme+".key", "--password-file", pwFile)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "Signed fake", plugin+".minisig")

	// Verify: unchecked without keys, trusted with the right key (the
	// signed comment names plugin and digest), refused with another key.
	out, err = runCLI(t, "plugin", "verify", plugin)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "not checked (give --pubkey)", "ok")
	out, err = runCLI(t, "plugin", "verify", plugin, "--pubkey", acme+".pub")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "Signer:", "wharf plugin fake", "sha256:", "ok")
	pubText, _ := os.ReadFile(other + ".pub")
	otherKey := strings.TrimSpace(string(pubText)[strings.LastIndexByte(strings.TrimSpace(string(pubText)), '\n')+1:])
	_, err = runCLI(t, "plugin", "verify", plugin, "--pubkey", otherKey)
	if pluginapi.CodeOf(err) != pluginapi.CodeInvalid || !strings.Contains(err.Error(), "not a trusted key") || !strings.Contains(err.Error(), plugin) {
		t.Fatalf("verify with another key: %v", err)
	}

	// Bytes added after signing (a custom section, so the file still
	// loads): refused, naming the key.
	wasm, _ := os.ReadFile(plugin)
	sig, _ := os.ReadFile(plugin + ".minisig")
	tampered := filepath.Join(filepath.Dir(plugin), "tampered.wasm")
	os.WriteFile(tampered, append(wasm, 0x00, 0x06, 0x04, 'x', 't', 'r', 'a', 1), 0o644)
	os.WriteFile(tampered+".minisig", sig, 0o644)
	if _, err := runCLI(t, "plugin", "verify", tampered); err != nil {
		t.Fatalf("the changed file no longer loads, so this test shows nothing: %v", err)
	}
	_, err = runCLI(t, "plugin", "verify", tampered, "--pubkey", acme+".pub")
	if pluginapi.CodeOf(err) != pluginapi.CodeInvalid || !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), "acme.pub") {
		t.Fatalf("verify of a changed file: %v", err)
	}

	// The minisign tool accepts what wharf signed (when installed).
	if bin, err := exec.LookPath("minisign"); err == nil {
		if out, err := exec.Command(bin, "-V", "-p", acme+".pub", "-m", plugin).CombinedOutput(); err != nil {
			t.Fatalf("minisign -V: %v\n%s", err, out)
		}
	}
}

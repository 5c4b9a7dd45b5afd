package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/internal/wasmbuild"
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

// TestServeTrustPolicy: a host whose config trusts one key loads the plugin
// that key signed, refuses an unsigned one with a message naming the file,
// and shows the signer in the API; --check-config names a bad key.
func TestServeTrustPolicy(t *testing.T) {
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	fake, _ := os.ReadFile(opstest.PluginPath(t))
	os.WriteFile(filepath.Join(plugins, "fake.wasm"), fake, 0o644)
	good, _ := os.ReadFile(wasmbuild.Build(t, "github.com/wharfhq/wharf/internal/testplugins/good"))
	os.WriteFile(filepath.Join(plugins, "good.wasm"), good, 0o644)

	key := filepath.Join(dir, "acme")
	if _, err := runCLI(t, "plugin", "keygen", "--out", key, "--unencrypted"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "plugin", "sign", filepath.Join(plugins, "fake.wasm"), "--key", key+".key"); err != nil {
		t.Fatal(err)
	}

	writeConfig := func(trust map[string]any) string {
		b, _ := json.Marshal(map[string]any{
			"plugin_trust": trust,
			"tokens":       []map[string]any{{"name": "own", "sha256": ops.HashToken("own-token-0123456789abcdef0123456789"), "role": "owner"}},
		})
		p := filepath.Join(dir, "wharf.json")
		os.WriteFile(p, b, 0o600)
		return p
	}
	bad := writeConfig(map[string]any{"keys": []map[string]any{{"name": "acme", "public_key": "RWnope"}}})
	if out, err := runCLI(t, "serve", "--check-config", "--config", bad, "--data", filepath.Join(dir, "d0"), "--plugins", plugins); err == nil ||
		!strings.Contains(out, "plugin_trust.keys[0].public_key") {
		t.Fatalf("check-config of a bad key: %v\n%s", err, out)
	}
	cfg := writeConfig(map[string]any{"keys": []map[string]any{{"name": "acme", "public_key": map[string]string{"$file": key + ".pub"}}}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: logs}
	done := make(chan error, 1)
	go func() {
		done <- a.serve(ctx, &serveOptions{listen: "127.0.0.1:0", dataDir: filepath.Join(dir, "data"), pluginsDir: plugins, configFile: cfg,
			logLevel: "warn", ready: func(s string) { addr <- s }})
	}()
	var server string
	select {
	case s := <-addr:
		server = "http://" + s
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	var got struct {
		Plugins []ops.PluginInfo `json:"plugins"`
	}
	out, err := runCLI(t, "plugins", "ls", "-o", "json", "--server", server, "--token", "own-token-0123456789abcdef0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	list := got.Plugins
	if len(list) != 1 || list[0].Name != "fake" || !list[0].Signature.Trusted || list[0].Signature.Signer.KeyName != "acme" {
		t.Fatalf("plugins: %+v", list)
	}
	if !strings.Contains(logs.String(), "good.wasm") || !strings.Contains(logs.String(), "not signed") {
		t.Fatalf("the refused plugin is not in the log:\n%s", logs.String())
	}
	cancel()
	<-done
}

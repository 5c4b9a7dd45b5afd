package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginkit"
)

// goCmd runs the go tool in dir, as a plugin author would, outside Wharf's
// module: its own go.mod, no workspace, modules resolved by go.mod alone.
func goCmd(t *testing.T, ctx context.Context, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOWORK=off", "GOFLAGS=-mod=mod"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPluginNewScaffoldsAWorkingPlugin proves `wharf plugin new` from the
// outside: the scaffold is a module of its own (replace to this checkout),
// go mod tidy resolves it, it vets, builds to wasm, its own test passes
// Wharf's conformance kit against its emulator, and `wharf plugin test`
// passes the built .wasm against the emulator run as a program.
func TestPluginNewScaffoldsAWorkingPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root := wasmbuild.ModuleRoot(t)
	dir := filepath.Join(t.TempDir(), "acme")
	out, err := runCLI(t, "plugin", "new", "acme-cloud", "--dir", dir, "--module", "example.com/you/wharf-acme", "--replace", root)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range []string{"go.mod", "provider.go", "provider_test.go", "emulator/emulator.go", "emulator/cmd/main.go", "testdata/conformance.json", "README.md"} {
		if !strings.Contains(out, "wrote "+f) {
			t.Errorf("%s not written:\n%s", f, out)
		}
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(mod), "module example.com/you/wharf-acme") || !strings.Contains(string(mod), "replace github.com/wharfhq/wharf => "+root) {
		t.Fatalf("go.mod:\n%s", mod)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	goCmd(t, ctx, dir, nil, "mod", "tidy")
	goCmd(t, ctx, dir, nil, "vet", "./...")
	wasm := filepath.Join(dir, "acme-cloud.wasm")
	goCmd(t, ctx, dir, []string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-buildmode=c-shared", "-ldflags=-s -w", "-o", wasm, ".")
	testOut := goCmd(t, ctx, dir, nil, "test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestConformance", "--- PASS: TestConformance/create ", "--- PASS: TestConformance/paging",
		"--- PASS: TestConformance/wrong_credentials", "--- PASS: TestWasmDescribe"} {
		if !strings.Contains(testOut, want) {
			t.Errorf("no %q in the scaffold's test output:\n%s", want, testOut)
		}
	}

	// The emulator as a program prints its connection config.
	emuBin := filepath.Join(t.TempDir(), "emulator")
	goCmd(t, ctx, dir, nil, "build", "-o", emuBin, "./emulator/cmd")
	emu := exec.CommandContext(ctx, emuBin, "-addr", "127.0.0.1:0")
	stdout, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = emu.Process.Kill(); _ = emu.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(t.TempDir(), "conn.json")
	if err := os.WriteFile(conn, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "plugin", "test", wasm, "--config", conn, "--spec", filepath.Join(dir, "testdata", "conformance.json"), "--timeout", "2s", "--page-services", "3")
	if err != nil || !strings.Contains(out, "✓ create (") || strings.Contains(out, "✗") {
		t.Fatalf("wharf plugin test: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)

	// Hot-plugged: installed with `wharf plugin install` into a host that
	// is already running, which then serves it through its REST API.
	h := pluginkit.StartTestHost(t, pluginkit.HostConfig{WatchPlugins: true})
	out, err = runCLI(t, "plugin", "install", wasm, "--server", h.URL)
	if err != nil || !strings.Contains(out, "acme-cloud (installed)") {
		t.Fatalf("wharf plugin install: %v\n%s", err, out)
	}
	body := `{"name":"acme1","plugin":"acme-cloud","config":` + strings.TrimSpace(line) + `}`
	resp, err := http.Post(h.URL+"/api/v1/connections", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a connection to the installed plugin: %d", resp.StatusCode)
	}
	resp, err = http.Get(h.URL + "/api/v1/connections/acme1/services")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list services through the installed plugin: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(h.PluginsDir, "acme-cloud.wasm")); err != nil {
		t.Fatalf("the install is not in the plugins folder: %v", err)
	}
}

// Bad names, module paths and folders are refused naming the flag.
func TestPluginNewRefusesBadInput(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"Acme"}, "name"},
		{[]string{"acme_cloud"}, "name"},
		{[]string{"9acme"}, "name"},
		{[]string{strings.Repeat("a", 41)}, "name"},
		{[]string{"acme", "--dir", filepath.Join(t.TempDir(), "a"), "--module", "bad module"}, "--module"},
		{[]string{"acme", "--dir", filepath.Join(t.TempDir(), "a"), "--module", "../up"}, "--module"},
		{[]string{"acme", "--dir", full}, "--dir"},
		{[]string{"acme", "--dir", filepath.Join(t.TempDir(), "a"), "--replace", t.TempDir()}, "--replace"},
	} {
		_, err := runCLI(t, append([]string{"plugin", "new"}, tc.args...)...)
		if e := pluginapi.AsError(err); e == nil || e.Field != tc.field {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.field)
		}
	}
}

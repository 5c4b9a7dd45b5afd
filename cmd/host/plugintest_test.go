package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tenxemu "github.com/wharfhq/wharf/emulators/tenx"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
)

func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wharf plugin test runs the public conformance scenario against the real
// TenxCloud plugin and its emulator: every step passes and is printed with
// ✓; against a platform that is down it prints ✗ with the reason, skips
// what needs the spec, and fails.
func TestPluginTestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	wasm := wasmbuild.Build(t, "./plugins/tenx")
	emu := tenxemu.New(tenxemu.Options{Pending: 100 * time.Millisecond, LogInterval: 100 * time.Millisecond})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	conn := writeJSON(t, "conn.json", emu.DemoConfig(srv.URL))
	spec := filepath.Join(wasmbuild.ModuleRoot(t), "plugins", "tenx", "testdata", "conformance.json")

	out, err := runCLI(t, "plugin", "test", wasm, "--config", conn, "--spec", spec, "--settle", "15s", "--timeout", "2s", "--page-services", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, step := range []string{"✓ load tenx.wasm: tenx", "✓ describe plugin (", "✓ create (", "✓ update (", "✓ logs (", "✓ delete (",
		"✓ paging (", "✓ wrong credentials (", "✓ platform down (", "✓ platform hangs (", " 0 failed, "} {
		if !strings.Contains(out, step) {
			t.Errorf("no %q in:\n%s", step, out)
		}
	}
	if strings.Contains(out, "✗") {
		t.Errorf("a step failed:\n%s", out)
	}
	t.Logf("\n%s", out)

	// The platform is down: the connection test fails, the steps after it are not run.
	cfg := emu.DemoConfig(srv.URL)
	srv.Close()
	out, err = runCLI(t, "plugin", "test", wasm, "--config", writeJSON(t, "down.json", cfg), "--timeout", "2s")
	if err == nil || !strings.Contains(err.Error(), "failed 1 conformance step") {
		t.Fatalf("want a failure, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "✗ create connection (") || !strings.Contains(out, "connection test failed") ||
		!strings.Contains(out, "- the steps after it: skipped") {
		t.Fatalf("output:\n%s", out)
	}
}

// Bad flags and files are refused naming the flag, before any host starts.
func TestPluginTestCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "x.wasm")
	if err := os.WriteFile(wasm, []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	notObject := filepath.Join(dir, "list.json")
	if err := os.WriteFile(notObject, []byte(`[1]`), 0o644); err != nil {
		t.Fatal(err)
	}
	badSpec := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(badSpec, []byte(`{"create_spec":{},"update_spec":{},"surprise":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := writeJSON(t, "conn.json", map[string]any{"endpoint": "http://127.0.0.1:1"})
	for _, tc := range []struct {
		args  []string
		field string
		says  string
	}{
		{[]string{wasm}, "--config", "--config is required"},
		{[]string{wasm, "--config", notObject}, "--config", "one JSON object"},
		{[]string{wasm, "--config", filepath.Join(dir, "missing.json")}, "--config", "no such file"},
		{[]string{wasm, "--config", conn, "--spec", badSpec}, "--spec", `unknown field "surprise"`},
		{[]string{wasm, "--config", conn, "--settle", "0s"}, "--settle", "between"},
		{[]string{wasm, "--config", conn, "--page-services", "1000"}, "--page-services", "between"},
	} {
		_, err := runCLI(t, append([]string{"plugin", "test"}, tc.args...)...)
		if e := pluginapi.AsError(err); e == nil || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%v: %v, want field %s saying %q", tc.args, err, tc.field, tc.says)
		}
	}
	// a file that is no plugin is reported as a failed load
	out, err := runCLI(t, "plugin", "test", wasm, "--config", conn)
	if err == nil || !strings.Contains(out, "✗ load x.wasm") {
		t.Fatalf("%v\n%s", err, out)
	}
}

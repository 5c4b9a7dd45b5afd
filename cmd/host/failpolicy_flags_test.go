package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// The plugins' failure policy comes from --plugin-failure-* flags, their
// WHARF_ variables or the config file's serve object, and bad values are
// refused naming where they came from.
func TestFailurePolicyFlagsChecked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_DATA", filepath.Join(dir, "data"))
	t.Setenv("WHARF_PLUGINS", dir)
	if out, stderr, err := checkRun(t, "--plugin-failure-threshold", "3", "--plugin-failure-backoff", "10s", "--plugin-failure-max-backoff", "1m"); err != nil || out != "config ok\n" {
		t.Fatalf("good policy: %v\n%s%s", err, out, stderr)
	}
	t.Setenv("WHARF_PLUGIN_FAILURE_THRESHOLD", "-1")
	_, stderr, err := checkRun(t)
	if err == nil || !strings.Contains(stderr, "WHARF_PLUGIN_FAILURE_THRESHOLD: -1 is not between 1 and 1000") {
		t.Fatalf("negative threshold: %v\n%s", err, stderr)
	}
	t.Setenv("WHARF_PLUGIN_FAILURE_THRESHOLD", "")
	_, stderr, err = checkRun(t, "--plugin-failure-backoff", "10m", "--plugin-failure-max-backoff", "1m")
	if err == nil || !strings.Contains(stderr, "--plugin-failure-max-backoff: 1m0s is shorter than --plugin-failure-backoff 10m0s") {
		t.Fatalf("max below backoff: %v\n%s", err, stderr)
	}
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{"serve": {"plugin_failure_backoff": "5ms"}}`)
	_, stderr, err = checkRun(t, "--config", cfg)
	if err == nil || !strings.Contains(stderr, "serve.plugin_failure_backoff: 5ms is not between 1s and 24h") {
		t.Fatalf("file setting: %v\n%s", err, stderr)
	}
}

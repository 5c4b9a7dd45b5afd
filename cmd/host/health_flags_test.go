package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// --health-interval (WHARF_HEALTH_INTERVAL): 0 turns the checks off, a
// sub-second or negative interval is refused naming where it came from.
func TestHealthIntervalChecked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_DATA", filepath.Join(dir, "data"))
	t.Setenv("WHARF_PLUGINS", dir)
	for _, ok := range []string{"0", "30s", "10m"} {
		if out, stderr, err := checkRun(t, "--health-interval", ok); err != nil || out != "config ok\n" {
			t.Fatalf("--health-interval %s: %v\n%s%s", ok, err, out, stderr)
		}
	}
	if _, stderr, err := checkRun(t, "--health-interval", "10ms"); err == nil || !strings.Contains(stderr, "--health-interval: 10ms: use 0 (never) or at least 1s") {
		t.Fatalf("10ms: %v\n%s", err, stderr)
	}
	t.Setenv("WHARF_HEALTH_INTERVAL", "-1s")
	if _, stderr, err := checkRun(t); err == nil || !strings.Contains(stderr, "WHARF_HEALTH_INTERVAL: -1s") {
		t.Fatalf("negative from the environment: %v\n%s", err, stderr)
	}
}

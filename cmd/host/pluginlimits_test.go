package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The plugin limit flags reach the runtime, which validates them.
func TestServePluginLimitsReachTheRuntime(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	err := a.serve(context.Background(), &serveOptions{listen: "127.0.0.1:0", dataDir: filepath.Join(t.TempDir(), "data"),
		pluginsDir: t.TempDir(), logLevel: "error", pluginWait: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "max wait -1s is negative") {
		t.Fatalf("--plugin-wait -1s: %v", err)
	}
}

func TestServeRefusesNegativeViewerCap(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	err := a.serve(context.Background(), &serveOptions{listen: "127.0.0.1:0", dataDir: filepath.Join(t.TempDir(), "data"),
		pluginsDir: t.TempDir(), logLevel: "error", viewersPerClient: -1})
	if err == nil || !strings.Contains(err.Error(), "--max-log-viewers-per-client") {
		t.Fatalf("--max-log-viewers-per-client -1: %v", err)
	}
}

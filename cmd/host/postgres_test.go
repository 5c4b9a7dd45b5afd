package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// On PostgreSQL the connections key must be given, the same on every
// replica: serve refuses to make one up, and a bad one is named without
// being echoed.
func TestServePostgresNeedsConnectionsKey(t *testing.T) {
	dsn := pgtest.New(t)
	_, stderr, err := checkRun(t, "--data", t.TempDir(), "--plugins", t.TempDir(), "--database", dsn)
	if err == nil || !strings.Contains(stderr, "--connections-key-file: required with a PostgreSQL database") {
		t.Fatalf("postgres without a key: %v\n%s", err, stderr)
	}
	t.Setenv(connectionsKeyEnv, "c2VjcmV0LXRvby1zaG9ydA==")
	_, stderr, err = checkRun(t, "--data", t.TempDir(), "--plugins", t.TempDir(), "--database", dsn)
	if err == nil || !strings.Contains(stderr, connectionsKeyEnv+": want 32 bytes in base64") || strings.Contains(stderr, "c2VjcmV0") {
		t.Fatalf("a short key: %v\n%s", err, stderr)
	}
	t.Setenv(connectionsKeyEnv, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if out, stderr, err := checkRun(t, "--data", t.TempDir(), "--plugins", t.TempDir(), "--database", dsn); err != nil || !strings.Contains(out, "config ok") {
		t.Fatalf("a good key: %v\n%s%s", err, out, stderr)
	}
	keyFile := filepath.Join(t.TempDir(), "connections.key")
	writeFile(t, keyFile, strings.Repeat("ab", 32)+"\n")
	_, stderr, err = checkRun(t, "--data", t.TempDir(), "--plugins", t.TempDir(), "--database", dsn, "--connections-key-file", keyFile)
	if err == nil || !strings.Contains(stderr, "give one of them") {
		t.Fatalf("both a key file and the variable: %v\n%s", err, stderr)
	}
}

// Two wharf serve replicas on one PostgreSQL database, sharing the
// connections key and the audit chain key, each with its own data folder:
// a service created through one is read through the other, the audit
// entry is seen by both, and the chain verifies on both.
func TestServeTwoReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.New(t)
	plugins := t.TempDir()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(plugins, "fake.wasm"), string(wasm))
	plat := fakeplatform.New(opstest.PlatformToken)
	srv := newPlatformServer(t, plat)
	const owner = "owner-token-0123456789abcdef0123456789"
	cfg, _ := json.Marshal(map[string]any{
		"connections": []map[string]any{{"name": "cfg", "plugin": "fake", "config": map[string]any{"endpoint": srv, "token": opstest.PlatformToken}}},
		"tokens":      []map[string]any{{"name": "olga", "sha256": ops.HashToken(owner), "role": "owner"}},
	})
	cfgFile := writeFile(t, filepath.Join(t.TempDir(), "wharf.json"), string(cfg))
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "connections.key"), strings.Repeat("5a", 32)+"\n")
	chainKey := strings.Repeat("c3", 32) + "\n"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bases []string
	var dones []chan error
	for range 2 {
		data := filepath.Join(t.TempDir(), "data")
		os.MkdirAll(data, 0o700)
		writeFile(t, filepath.Join(data, audit.ChainKeyFile), chainKey)
		addr := make(chan string, 1)
		done := make(chan error, 1)
		a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
		go func() {
			done <- a.serve(ctx, &serveOptions{listen: "127.0.0.1:0", dataDir: data, pluginsDir: plugins, configFile: cfgFile,
				database: dsn, connectionsKeyFile: keyFile, logLevel: "warn", shutdownTimeout: time.Minute,
				ready: func(s string) { addr <- s }})
		}()
		select {
		case s := <-addr:
			bases = append(bases, "http://"+s+"/api/v1")
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not start")
		}
		dones = append(dones, done)
		if _, err := os.Stat(filepath.Join(data, "wharf.db")); err == nil {
			t.Error("a SQLite file was made beside a PostgreSQL database")
		}
		if _, err := os.Stat(filepath.Join(data, "connections.key")); err == nil {
			t.Error("a connections key was made up despite --connections-key-file")
		}
	}
	call := func(method, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+owner)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := call("POST", bases[0]+"/connections/cfg/services", `{"name":"web","image":"nginx:1"}`)
	var created struct{ Service struct{ ID string } }
	if err := json.Unmarshal([]byte(body), &created); status != http.StatusCreated || err != nil || created.Service.ID == "" {
		t.Fatalf("create through replica 0: %d %s", status, body)
	}
	if status, body := call("GET", bases[1]+"/connections/cfg/services/"+created.Service.ID, ""); status != http.StatusOK || !strings.Contains(body, `"web"`) {
		t.Fatalf("get through replica 1: %d %s", status, body)
	}
	for i, base := range bases {
		status, body := call("GET", base+"/audit?operation=service.create&outcome=ok", "")
		if status != http.StatusOK || strings.Count(body, `"operation":"service.create"`) != 1 {
			t.Fatalf("replica %d's audit: %d %s", i, status, body)
		}
		status, body = call("GET", base+"/audit/verify", "")
		var rep audit.VerifyReport
		if err := json.Unmarshal([]byte(body), &rep); status != http.StatusOK || err != nil || !rep.OK {
			t.Fatalf("replica %d's verify: %d %s", i, status, body)
		}
	}
	cancel()
	for _, done := range dones {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}

// newPlatformServer serves plat on a loopback URL until t ends.
func newPlatformServer(t *testing.T, plat http.Handler) string {
	t.Helper()
	s := httptest.NewServer(plat)
	t.Cleanup(s.Close)
	return s.URL
}

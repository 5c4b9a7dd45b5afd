package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/pluginapi"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type cliEnv struct {
	*opstest.Env
	server string
}

func newCLIEnv(t *testing.T) *cliEnv {
	ev := opstest.New(t, opstest.Options{})
	srv := httptest.NewServer(api.New(ev.Host, api.Options{}))
	t.Cleanup(srv.Close)
	return &cliEnv{Env: ev, server: srv.URL}
}

// cli runs one command line in-process against the test server.
func (c *cliEnv) cli(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), append(args, "--server", c.server), strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func (c *cliEnv) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := c.cli(t, stdin, args...)
	if err != nil {
		t.Fatalf("wharf %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c *cliEnv) fails(t *testing.T, want string, args ...string) {
	t.Helper()
	_, err := c.cli(t, "", args...)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("wharf %s: error %v, want one starting %q", strings.Join(args, " "), err, want)
	}
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestClientCommands(t *testing.T) {
	c := newCLIEnv(t)
	dir := t.TempDir()

	mustContain(t, c.ok(t, "", "plugins", "ls"), "NAME", "fake", "0.1.0")
	mustContain(t, c.ok(t, "", "plugins", "inspect", "fake"), "Fake platform", "scale", "Spec schema:")
	c.fails(t, "not_found: plugin nope not found", "plugins", "inspect", "nope")

	// Connections.
	mustContain(t, c.ok(t, "", "conn", "create", "two", "--plugin", "fake", "--set", "endpoint="+c.PlatformURL, "--set", "token="+opstest.PlatformToken),
		"connection two (plugin fake) at version 1")
	out := c.ok(t, "", "conn", "get", "two", "-o", "json")
	if strings.Contains(out, opstest.PlatformToken) || !strings.Contains(out, `"token": "********"`) {
		t.Fatalf("conn get shows:\n%s", out)
	}
	mustContain(t, c.ok(t, "", "conn", "ls"), "two", "fake1", "token")
	mustContain(t, c.ok(t, "", "conn", "update", "two", "--set", "region=eu", "--version", "1"), "version 2")
	c.fails(t, "conflict:", "conn", "update", "two", "--set", "region=us", "--version", "1")
	cfgFile := filepath.Join(dir, "cfg.json")
	os.WriteFile(cfgFile, []byte(`{"endpoint":"`+c.PlatformURL+`","region":"ap"}`), 0o600)
	mustContain(t, c.ok(t, "", "conn", "update", "two", "-f", cfgFile), "version 3")
	mustContain(t, c.ok(t, "", "conn", "test", "two"), "ok (")
	c.ok(t, "", "conn", "update", "two", "--set", "token=wrong")
	c.fails(t, "unauthorized:", "conn", "test", "two")
	mustContain(t, c.ok(t, "", "conn", "delete", "two"), "deleted")
	c.fails(t, "invalid:", "conn", "create", "x", "--plugin", "fake", "--set", "nonsense")

	// Services.
	out = c.ok(t, `{"name":"web","image":"nginx:1","replicas":2}`, "svc", "create", opstest.Conn, "-f", "-")
	mustContain(t, out, "Name:", "web", "running", "2/2")
	var s pluginapi.Service
	if err := json.Unmarshal([]byte(c.ok(t, "", "svc", "get", opstest.Conn, "svc-1", "-o", "json")), &s); err != nil || s.ID != "svc-1" {
		t.Fatalf("svc get -o json: %v %+v", err, s)
	}
	c.fails(t, "invalid:", "svc", "create", opstest.Conn, "-f", "-")
	mustContain(t, c.ok(t, "", "svc", "ls", opstest.Conn, "--filter", "name=web"), "svc-1", "web", "nginx:1")
	mustContain(t, c.ok(t, "", "svc", "ls", "--all", "--name", "we", "--status", "running"), "CONNECTION", "fake1", "svc-1")
	c.fails(t, "invalid:", "svc", "ls")
	specFile := filepath.Join(dir, "spec.json")
	os.WriteFile(specFile, []byte(`{"name":"web","image":"nginx:2","replicas":2}`), 0o600)
	mustContain(t, c.ok(t, "", "svc", "update", opstest.Conn, "svc-1", "-f", specFile, "--version", "1"), "nginx:2")
	c.fails(t, "conflict:", "svc", "update", opstest.Conn, "svc-1", "-f", specFile, "--version", "1")
	mustContain(t, c.ok(t, `{"replicas":4}`, "svc", "patch", opstest.Conn, "svc-1", "-f", "-"), "4/4")
	mustContain(t, c.ok(t, "", "svc", "action", opstest.Conn, "svc-1", "scale", "--replicas", "3"), "3/3")
	mustContain(t, c.ok(t, "", "svc", "action", opstest.Conn, "svc-1", "stop"), "stopped")
	c.fails(t, "not_found: unknown action", "svc", "action", opstest.Conn, "svc-1", "explode")
	mustContain(t, c.ok(t, "", "svc", "action", opstest.Conn, "svc-1", "start"), "running")
	mustContain(t, c.ok(t, "", "instances", opstest.Conn, "svc-1"), "svc-1.1", "svc-1.3")
	mustContain(t, c.ok(t, "", "instances", opstest.Conn, "svc-1", "svc-1.2"), "svc-1.2")
	mustContain(t, c.ok(t, "", "deployments", opstest.Conn, "svc-1"), "svc-1-d1", "svc-1-d3", "nginx:2")
	mustContain(t, c.ok(t, "", "deployments", opstest.Conn, "svc-1", "svc-1-d1"), "nginx:1")
	mustContain(t, c.ok(t, "", "invoke", opstest.Conn, "svc-1", "--path", "/hi", "--data", "hello"), `"hello"`)

	c.Platform.AddLogs("svc-1", fakeplatform.Line{Stream: "stderr", Message: "boom", Instance: "svc-1.1"})
	mustContain(t, c.ok(t, "", "logs", opstest.Conn, "svc-1", "--tail", "1"), "svc-1.1 [stderr] boom")
	mustContain(t, c.ok(t, "", "logs", opstest.Conn, "svc-1", "--stdout"), "web started")
	// The fake plugin declares neither logs.until nor logs.backward.
	c.fails(t, "invalid: plugin fake (connection fake1) cannot end logs at a time", "logs", opstest.Conn, "svc-1", "--until", "2026-01-01T00:00:00Z")
	c.fails(t, "invalid: plugin fake (connection fake1) cannot page logs back", "logs", opstest.Conn, "svc-1", "--before", "x")

	c.fails(t, "conflict:", "svc", "delete", opstest.Conn, "svc-1")
	mustContain(t, c.ok(t, "", "svc", "delete", opstest.Conn, "svc-1", "--force"), "deleted")
	c.fails(t, "not_found: no such service svc-1", "svc", "get", opstest.Conn, "svc-1")
	c.fails(t, "invalid: --output", "svc", "get", opstest.Conn, "svc-1", "-o", "yaml")

	// Audit.
	mustContain(t, c.ok(t, "", "audit", "ls", "--operation", "service.create"), "service.create", "ok")
	// Steps addressed by id show the service's name with it; a search by name finds them.
	mustContain(t, c.ok(t, "", "audit", "ls", "--target", "web", "--operation", "service.delete"), "web (svc-1)", "service.delete")
	mustContain(t, c.ok(t, "", "audit", "ls", "--outcome", "error", "--limit", "5"), "conflict: ")
	csvFile := filepath.Join(dir, "audit.csv")
	c.ok(t, "", "audit", "export", "--format", "csv", "-O", csvFile)
	b, _ := os.ReadFile(csvFile)
	mustContain(t, string(b), "service.delete", "connection.update")
	if strings.Contains(string(b), opstest.PlatformToken) {
		t.Fatal("audit export holds the platform token")
	}
	mustContain(t, c.ok(t, "", "audit", "export"), `"operation":"service.update"`)
	c.fails(t, "invalid:", "audit", "export", "--format", "xml")
	mustContain(t, c.ok(t, "", "audit", "verify"), "hash chain intact")

	// No server.
	err := run(context.Background(), []string{"conn", "ls", "--server", "http://127.0.0.1:1"}, nil, &syncBuffer{}, &syncBuffer{})
	if pluginapi.CodeOf(err) != pluginapi.CodeUnavailable {
		t.Fatalf("unreachable server: %v", err)
	}
}

func TestFollowLogsCommand(t *testing.T) {
	c := newCLIEnv(t)
	c.ok(t, `{"name":"web","image":"nginx:1"}`, "svc", "create", opstest.Conn, "-f", "-")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"logs", opstest.Conn, "svc-1", "-f", "--tail", "5", "--server", c.server}, nil, &out, &syncBuffer{})
	}()
	waitOutput := func(want string) {
		t.Helper()
		for i := 0; i < 1000; i++ {
			if strings.Contains(out.String(), want) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("followed output lacks %q:\n%s", want, out.String())
	}
	waitOutput("web started")
	c.Platform.AddLogs("svc-1", fakeplatform.Line{Stream: "stdout", Message: "new line"})
	waitOutput("new line")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interrupted follow returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not stop when interrupted")
	}
}

func TestPluginVerify(t *testing.T) {
	var out syncBuffer
	if err := run(context.Background(), []string{"plugin", "verify", opstest.PluginPath(t)}, nil, &out, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, out.String(), "Name:", "fake", "ABI:", "1.0", "scale", "ok")
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	os.WriteFile(bad, []byte("not wasm"), 0o600)
	err := run(context.Background(), []string{"plugin", "verify", bad}, nil, &syncBuffer{}, &syncBuffer{})
	if pluginapi.CodeOf(err) != pluginapi.CodeInvalid {
		t.Fatalf("verify of a non-wasm file: %v", err)
	}
}

func TestServe(t *testing.T) {
	// A plugins folder with the fake plugin, a platform, a config file
	// with one connection and two tokens.
	plugins := t.TempDir()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(plugins, "fake.wasm"), wasm, 0o644)
	plat := httptest.NewServer(fakeplatform.New(opstest.PlatformToken))
	defer plat.Close()
	cfg := map[string]any{
		"connections": []map[string]any{{"name": "cfg", "plugin": "fake", "config": map[string]any{"endpoint": plat.URL, "token": opstest.PlatformToken}}},
		"tokens": []map[string]any{
			{"name": "ops", "sha256": ops.HashToken("op-token-0123456789abcdef0123456789"), "role": "operator"},
			{"name": "viewer", "sha256": ops.HashToken("view-token-0123456789abcdef0123456789"), "role": "viewer"},
		},
	}
	cfgFile := filepath.Join(t.TempDir(), "wharf.json")
	b, _ := json.Marshal(cfg)
	os.WriteFile(cfgFile, b, 0o600)
	data := filepath.Join(t.TempDir(), "data")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- a.serve(ctx, &serveOptions{listen: "127.0.0.1:0", dataDir: data, pluginsDir: plugins, configFile: cfgFile,
			logLevel: "warn", debugListen: debugAddr, ready: func(s string) { addr <- s }})
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
	cli := func(token string, args ...string) (string, error) {
		var out syncBuffer
		err := run(context.Background(), append(args, "--server", server, "--token", token), strings.NewReader(""), &out, &syncBuffer{})
		return out.String(), err
	}
	if _, err := cli("", "conn", "ls"); pluginapi.CodeOf(err) != pluginapi.CodeUnauthorized {
		t.Fatalf("no token: %v", err)
	}
	out, err := cli("view-token-0123456789abcdef0123456789", "conn", "ls")
	if err != nil || !strings.Contains(out, "cfg") {
		t.Fatalf("conn ls: %v\n%s", err, out)
	}
	if _, err := cli("view-token-0123456789abcdef0123456789", "svc", "action", "cfg", "x", "stop"); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("viewer action: %v", err)
	}
	if out, err := cli("op-token-0123456789abcdef0123456789", "conn", "test", "cfg"); err != nil {
		t.Fatalf("conn test: %v %s", err, out)
	}
	// The profiler answers on its own address only.
	if body := httpGet(t, "http://"+debugAddr+"/debug/pprof/heap?debug=1", http.StatusOK); !strings.Contains(body, "runtime.MemStats") {
		t.Fatalf("profiler heap page: %.200s", body)
	}
	httpGet(t, server+"/debug/pprof/heap?debug=1", http.StatusNotFound)
	for _, f := range []string{"wharf.db", "connections.key"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("data folder: %v", err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGINT-like cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}

	// A config file with an unknown field is refused.
	os.WriteFile(cfgFile, []byte(`{"connections": [], "tokenz": []}`), 0o600)
	err = a.serve(context.Background(), &serveOptions{listen: "127.0.0.1:0", dataDir: data, pluginsDir: plugins, configFile: cfgFile, logLevel: "warn"})
	if err == nil || !strings.Contains(err.Error(), "tokenz") {
		t.Fatalf("unknown config field: %v", err)
	}
}

// httpGet fetches url, failing t unless the status is want.
func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s, want %d", url, resp.Status, want)
	}
	return string(b)
}

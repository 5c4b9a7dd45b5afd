package main

import (
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

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/store"
)

// TestServeMetricsAndGracefulShutdown runs wharf serve on a closed host:
// /metrics takes the config file's scrape token and --metrics-listen
// needs none. Then a create is held at the platform while the host is
// told to stop: /readyz fails at once while the listener still answers,
// the listener closes after --shutdown-delay, and the held create still
// finishes, answered 201 and audited as ok.
func TestServeMetricsAndGracefulShutdown(t *testing.T) {
	plugins := t.TempDir()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "fake.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}, 1), make(chan struct{})
	fake := fakeplatform.New(opstest.PlatformToken)
	plat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/services" {
			entered <- struct{}{}
			<-release
		}
		fake.ServeHTTP(w, r)
	}))
	defer plat.Close()
	var releaseOnce sync.Once
	releaseCreate := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseCreate() // before plat.Close, which waits for the held request
	const owner, scraper = "owner-token-0123456789abcdef0123456789", "scrape-token-0123456789abcdef0123456789"
	cfg := map[string]any{
		"connections": []map[string]any{{"name": "cfg", "plugin": "fake", "config": map[string]any{"endpoint": plat.URL, "token": opstest.PlatformToken}}},
		"tokens":      []map[string]any{{"name": "olga", "sha256": ops.HashToken(owner), "role": "owner"}},
		"metrics":     map[string]any{"token_sha256": ops.HashToken(scraper)},
	}
	cfgFile := filepath.Join(t.TempDir(), "wharf.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	mln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for --metrics-listen
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := mln.Addr().String()
	mln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- a.serve(ctx, &serveOptions{listen: "127.0.0.1:0", dataDir: data, pluginsDir: plugins, configFile: cfgFile,
			logLevel: "warn", metricsListen: metricsAddr, shutdownDelay: 2 * time.Second, shutdownTimeout: time.Minute,
			ready: func(s string) { addr <- s }})
	}()
	var base string
	select {
	case s := <-addr:
		base = "http://" + s
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := get(base+"/metrics", ""); status != http.StatusUnauthorized {
		t.Fatalf("metrics without a token: %d", status)
	}
	if status, body := get(base+"/metrics", scraper); status != http.StatusOK || !strings.Contains(body, "wharf_plugin_pool_size{plugin=\"fake\"}") {
		t.Fatalf("metrics with the scrape token: %d %.300s", status, body)
	}
	if status, body := get("http://"+metricsAddr+"/metrics", ""); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics listener: %d %.300s", status, body)
	}
	if status, body := get(base+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz: %d %s", status, body)
	}

	// A create held at the platform while the host is told to stop.
	created := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/v1/connections/cfg/services", strings.NewReader(`{"name":"web","image":"nginx:1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+owner)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			created <- 0
			return
		}
		resp.Body.Close()
		created <- resp.StatusCode
	}()
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("the create never reached the platform")
	}
	cancel() // what SIGTERM does

	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Not ready at once, on both listeners, while the main one still answers.
	waitUntil("readyz 503", func() bool {
		status, body := get(base+"/readyz", "")
		return status == http.StatusServiceUnavailable && strings.Contains(body, `"failed":["shutdown"]`)
	})
	if status, _ := get("http://"+metricsAddr+"/readyz", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("metrics listener readyz while shutting down: %d", status)
	}
	// After the delay the listener stops taking connections.
	waitUntil("the listener closed", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-done:
		t.Fatalf("serve returned with a request in flight: %v", err)
	case status := <-created:
		t.Fatalf("the held create was answered %d before it was released", status)
	default:
	}
	releaseCreate()
	if status := <-created; status != http.StatusCreated {
		t.Fatalf("the create in flight was answered %d, want 201", status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not return")
	}

	// Its audit entry was finished before the host closed.
	db, err := store.Open(filepath.Join(data, "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts, err := audit.LoadOrCreateOptions(data)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := l.Query(context.Background(), audit.Filter{Operation: "service.create"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Outcome != audit.OutcomeOK {
		t.Fatalf("audit of the create: %+v", entries)
	}
}

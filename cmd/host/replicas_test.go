package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

const replicaOwner = "owner-token-0123456789abcdef0123456789"

// startReplicas runs n in-process wharf serve replicas on the PostgreSQL
// database dsn with the fake plugin, and returns their API base URLs.
func startReplicas(t *testing.T, dsn string, n int) []string {
	t.Helper()
	plugins := t.TempDir()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(plugins, "fake.wasm"), string(wasm))
	cfg, _ := json.Marshal(map[string]any{
		"tokens": []map[string]any{{"name": "olga", "sha256": ops.HashToken(replicaOwner), "role": "owner"}},
	})
	cfgFile := writeFile(t, filepath.Join(t.TempDir(), "wharf.json"), string(cfg))
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "connections.key"), strings.Repeat("5a", 32)+"\n")
	chainKey := strings.Repeat("c3", 32) + "\n"
	ctx, cancel := context.WithCancel(context.Background())
	var bases []string
	var dones []chan error
	t.Cleanup(func() {
		cancel()
		for _, done := range dones {
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
		}
	})
	for range n {
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
		dones = append(dones, done)
		select {
		case s := <-addr:
			bases = append(bases, "http://"+s+"/api/v1")
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not start")
		}
	}
	return bases
}

// ownerCall sends one request as the owner and returns status and body.
func ownerCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+replicaOwner)
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

// staleBound is how soon a replica must show another's change to a
// listing it cached. It is under ops.ListCacheTTL on purpose: a replica
// that only let its cached listing expire would fail.
const staleBound = ops.ListCacheTTL - 2*time.Second

// eventually polls get until ok, failing after staleBound.
func eventually(t *testing.T, what string, get func() (int, string), ok func(int, string) bool) {
	t.Helper()
	deadline := time.Now().Add(staleBound)
	for {
		status, body := get()
		if ok(status, body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %d %s", what, staleBound, status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas: what one changes (a connection's services, the
// connection deleted and made again on another platform, its labels and
// config) shows on the other's cached listing and reads well before the
// listing cache's TTL.
func TestReplicasAgreeOnConnections(t *testing.T) {
	dsn := pgtest.New(t)
	full := newPlatformServer(t, fakeplatform.New(opstest.PlatformToken))
	empty := newPlatformServer(t, fakeplatform.New(opstest.PlatformToken))
	bases := startReplicas(t, dsn, 2)
	a, b := bases[0], bases[1]
	connBody := func(endpoint, labels string) string {
		return fmt.Sprintf(`{"name":"live","plugin":"fake","config":{"endpoint":%q,"token":%q},"labels":%s}`, endpoint, opstest.PlatformToken, labels)
	}
	if status, body := ownerCall(t, "POST", a+"/connections", connBody(full, "{}")); status != http.StatusCreated {
		t.Fatalf("create the connection through A: %d %s", status, body)
	}
	listB := func() (int, string) { return ownerCall(t, "GET", b+"/services", "") }
	// B lists (and caches) the connection's services: none yet.
	if status, body := listB(); status != http.StatusOK || strings.Contains(body, `"web"`) || !strings.Contains(body, `"services":[]`) {
		t.Fatalf("B's first listing: %d %s", status, body)
	}
	if status, body := ownerCall(t, "POST", a+"/connections/live/services", `{"name":"web","image":"nginx:1"}`); status != http.StatusCreated {
		t.Fatalf("create a service through A: %d %s", status, body)
	}
	eventually(t, "a service created through A, in B's listing", listB, func(s int, body string) bool {
		return s == http.StatusOK && strings.Contains(body, `"web"`)
	})

	// The same name, plugin and version 1 again, on an empty platform:
	// only a dropped cache tells the listings apart.
	if status, body := ownerCall(t, "DELETE", a+"/connections/live", ""); status != http.StatusNoContent {
		t.Fatalf("delete through A: %d %s", status, body)
	}
	if status, body := ownerCall(t, "GET", b+"/connections/live", ""); status != http.StatusNotFound {
		t.Fatalf("B reads the deleted connection: %d %s", status, body)
	}
	if status, body := ownerCall(t, "POST", a+"/connections", connBody(empty, "{}")); status != http.StatusCreated {
		t.Fatalf("create the connection again through A: %d %s", status, body)
	}
	eventually(t, "the re-created connection's listing on B", listB, func(s int, body string) bool {
		return s == http.StatusOK && !strings.Contains(body, `"web"`) && strings.Contains(body, `"services":[]`)
	})

	// Relabel and reconfigure through A: B's next read has them.
	if status, body := ownerCall(t, "PUT", a+"/connections/live", connBody(empty, `{"team":"payments"}`)); status != http.StatusOK {
		t.Fatalf("relabel through A: %d %s", status, body)
	}
	if status, body := ownerCall(t, "GET", b+"/connections/live", ""); status != http.StatusOK || !strings.Contains(body, `"team":"payments"`) {
		t.Fatalf("B after the relabel: %d %s", status, body)
	}
	if status, body := ownerCall(t, "PATCH", a+"/connections/live", fmt.Sprintf(`{"endpoint":%q,"token":%q}`, full, opstest.PlatformToken)); status != http.StatusOK {
		t.Fatalf("point the connection back through A: %d %s", status, body)
	}
	eventually(t, "the reconfigured connection's listing on B", listB, func(s int, body string) bool {
		return s == http.StatusOK && strings.Contains(body, `"web"`)
	})
}

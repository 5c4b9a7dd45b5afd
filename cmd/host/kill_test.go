package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// replicaProc is one real wharf serve process of the kill test.
type replicaProc struct {
	args []string
	base string
	cmd  *exec.Cmd
	log  string
}

func (r *replicaProc) start(t *testing.T, bin string) {
	t.Helper()
	f, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.cmd = exec.Command(bin, r.args...)
	r.cmd.Stdout, r.cmd.Stderr = f, f
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := r.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(r.log)
			t.Fatalf("%s did not come up within 60s:\n%s", r.base, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Three real wharf serve processes on one PostgreSQL database take
// service creations at once; one is killed with SIGKILL mid-burst and
// restarted on its data folder while the others' creations go on. Every
// acknowledged creation is in the audit log exactly once and "ok" (the
// restarted replica's recovery finished only its own unfinished ones), the
// chain verifies on every replica, and the restarted one serves again.
func TestThreeServeProcessesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wharf serve")
	}
	dsn := pgtest.New(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "wharf")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	plugins := t.TempDir()
	wasm, err := os.ReadFile(opstest.PluginPath(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(plugins, "fake.wasm"), string(wasm))
	// Once the replica is killed, creations take a while on the platform,
	// so some are always running while it restarts and recovers.
	var slow atomic.Bool
	plat := fakeplatform.New(opstest.PlatformToken)
	plat.Hold = func(r *http.Request) {
		if slow.Load() && r.Method == http.MethodPost {
			time.Sleep(300 * time.Millisecond)
		}
	}
	srv := newPlatformServer(t, plat)
	cfg, _ := json.Marshal(map[string]any{
		"connections": []map[string]any{{"name": "cfg", "plugin": "fake", "config": map[string]any{"endpoint": srv, "token": opstest.PlatformToken}}},
		"tokens":      []map[string]any{{"name": "olga", "sha256": ops.HashToken(replicaOwner), "role": "owner"}},
	})
	cfgFile := writeFile(t, filepath.Join(dir, "wharf.json"), string(cfg))
	keyFile := writeFile(t, filepath.Join(dir, "connections.key"), strings.Repeat("5a", 32)+"\n")
	var procs []*replicaProc
	for i := range 3 {
		data := filepath.Join(dir, fmt.Sprintf("data%d", i))
		os.MkdirAll(data, 0o700)
		writeFile(t, filepath.Join(data, audit.ChainKeyFile), strings.Repeat("c3", 32)+"\n")
		addr := freeAddr(t)
		p := &replicaProc{base: "http://" + addr + "/api/v1", log: filepath.Join(dir, fmt.Sprintf("serve%d.log", i)),
			args: []string{"serve", "--listen", addr, "--data", data, "--plugins", plugins, "--config", cfgFile,
				"--database", dsn, "--connections-key-file", keyFile, "--log-level", "warn"}}
		p.start(t, bin)
		procs = append(procs, p)
	}

	// Four writers per replica, each creating services until it has made
	// perReplica or its replica stops answering.
	const writers, perWriter = 4, 15
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	acked := map[string]bool{}
	ackedOn := make([]int, len(procs))
	attempted := make([]int, len(procs))
	var restarted atomic.Bool
	killAt := make(chan struct{})
	var killOnce sync.Once
	var wg sync.WaitGroup
	for r, p := range procs {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Survivors go on until the killed replica is back, so it
				// starts (and recovers) while their creations are running.
				for i := 0; i < perWriter || (r < 2 && !restarted.Load()); i++ {
					name := fmt.Sprintf("s-%d-%d-%d", r, w, i)
					mu.Lock()
					attempted[r]++
					mu.Unlock()
					req, _ := http.NewRequest("POST", p.base+"/connections/cfg/services", strings.NewReader(`{"name":"`+name+`","image":"nginx:1"}`))
					req.Header.Set("Authorization", "Bearer "+replicaOwner)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						if r == 2 {
							return // killed
						}
						t.Errorf("replica %d: %v", r, err)
						return
					}
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("replica %d: create %s: %d %s", r, name, resp.StatusCode, body)
						continue
					}
					mu.Lock()
					acked[name] = true
					ackedOn[r]++
					if r == 2 && ackedOn[r] == writers*perWriter/3 {
						killOnce.Do(func() { close(killAt) })
					}
					mu.Unlock()
				}
			}()
		}
	}
	select {
	case <-killAt:
	case <-time.After(120 * time.Second):
		t.Fatal("the burst did not get going")
	}
	if err := procs[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[2].cmd.Wait()
	slow.Store(true)
	procs[2].start(t, bin)
	restarted.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}
	for r := range 2 {
		if ackedOn[r] != attempted[r] || ackedOn[r] < writers*perWriter {
			t.Fatalf("survivor %d acknowledged %d of %d attempts", r, ackedOn[r], attempted[r])
		}
	}

	checkAudit := func(base string) {
		t.Helper()
		status, body := ownerCall(t, "GET", base+"/audit/export?operation=service.create", "")
		if status != http.StatusOK {
			t.Fatalf("export through %s: %d %s", base, status, body)
		}
		seen := map[string]int{}
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e audit.Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("export line %q: %v", sc.Text(), err)
			}
			var in struct{ Name string }
			json.Unmarshal(e.Request, &in)
			if e.TargetName != "" {
				in.Name = e.TargetName
			}
			if e.Outcome == "ok" {
				seen[in.Name]++
			} else if acked[in.Name] {
				t.Errorf("acknowledged %s recorded as %s", in.Name, e.Outcome)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for name := range acked {
			if seen[name] != 1 {
				t.Errorf("acknowledged %s is in the audit log %d times (through %s)", name, seen[name], base)
			}
		}
		// The killed replica's unfinished creations were recovered when it
		// restarted; nobody else's were touched (checked above).
		if status, body := ownerCall(t, "GET", base+"/audit?outcome=incomplete", ""); status != http.StatusOK || strings.Contains(body, `"id"`) {
			t.Errorf("unfinished operations after the burst (through %s): %d %s", base, status, body)
		}
		status, body = ownerCall(t, "GET", base+"/audit/verify", "")
		var rep audit.VerifyReport
		if err := json.Unmarshal([]byte(body), &rep); status != http.StatusOK || err != nil || !rep.OK {
			t.Fatalf("verify through %s: %d %s", base, status, body)
		}
	}
	for _, p := range procs[:2] {
		checkAudit(p.base)
	}
	status, body := ownerCall(t, "POST", procs[2].base+"/connections/cfg/services", `{"name":"after-restart","image":"nginx:1"}`)
	if status != http.StatusCreated {
		t.Fatalf("create through the restarted replica: %d %s", status, body)
	}
	mu.Lock()
	acked["after-restart"] = true
	mu.Unlock()
	for _, p := range procs {
		checkAudit(p.base)
	}
}

package benchfig

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a real `wharf serve` process.
type Proc struct {
	Cmd     *exec.Cmd
	URL     string // http://127.0.0.1:port
	DataDir string
	// Ready is how long it took from starting the process to the first
	// answered GET /api/v1/plugins listing every plugin.
	Ready  time.Duration
	stderr *bytes.Buffer
}

// ProcOptions start a wharf process.
type ProcOptions struct {
	DataDir    string // reused across starts for a warm compilation cache
	PluginsDir string
	Plugins    int      // plugins /api/v1/plugins must list
	Conns      []Conn   // written to a --config file
	Args       []string // more flags for wharf serve
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartProc spawns the wharf binary and polls until it answers.
func (e *Env) StartProc(ctx context.Context, o ProcOptions) (*Proc, error) {
	bin, err := e.Binary()
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", addr, "--data", o.DataDir, "--plugins", o.PluginsDir, "--log-level", "error"}
	if len(o.Conns) > 0 {
		type conn struct {
			Name   string         `json:"name"`
			Plugin string         `json:"plugin"`
			Config map[string]any `json:"config"`
		}
		var cfg struct {
			Connections []conn `json:"connections"`
		}
		for _, c := range o.Conns {
			cfg.Connections = append(cfg.Connections, conn(c))
		}
		b, _ := json.Marshal(cfg)
		file := filepath.Join(e.Scratch, fmt.Sprintf("wharf-%d.json", time.Now().UnixNano()))
		if err := os.WriteFile(file, b, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--config", file)
	}
	args = append(args, o.Args...)
	if extra := os.Getenv("WHARF_BENCH_SERVE_ARGS"); extra != "" {
		args = append(args, strings.Fields(extra)...)
	}
	p := &Proc{URL: "http://" + addr, DataDir: o.DataDir, stderr: new(bytes.Buffer)}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stderr = p.stderr
	p.Cmd.Stdout = p.stderr
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("wharf exited: %v\n%s", err, p.stderr)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := client.Get(p.URL + "/api/v1/plugins"); err == nil {
			var list struct {
				Plugins []json.RawMessage `json:"plugins"`
			}
			err := json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && err == nil && len(list.Plugins) >= o.Plugins {
				p.Ready = time.Since(start)
				go func() { <-exited }() // reap when stopped
				return p, nil
			}
		}
		if time.Since(start) > time.Minute {
			p.Stop()
			return nil, fmt.Errorf("wharf did not answer within a minute\n%s", p.stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// WaitCompiled waits until the host's background compiler has stored the
// machine code of n plugins in the compilation cache of its data folder.
func (p *Proc) WaitCompiled(ctx context.Context, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		// wazero keeps one file per compiled module in its versioned
		// folder, written as *.tmp and renamed when complete.
		files, _ := filepath.Glob(filepath.Join(p.DataDir, "cache", "wazero-*", "*"))
		done := 0
		for _, f := range files {
			if !strings.HasSuffix(f, ".tmp") {
				done++
			}
		}
		if done >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d plugins compiled after %v", done, n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends the process (SIGTERM, then SIGKILL after 5 s).
func (p *Proc) Stop() {
	if p.Cmd.Process == nil {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 500; i++ {
			if p.Cmd.Process.Signal(syscall.Signal(0)) != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	_ = p.Cmd.Process.Kill()
}

// RSS returns the process's resident set size in MB, from /proc.
func (p *Proc) RSS() (float64, error) { return RSSOf(p.Cmd.Process.Pid) }

// RSSOf reads VmRSS of pid from /proc, in MB (2^20 bytes).
func RSSOf(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

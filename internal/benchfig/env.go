package benchfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/pgtest"
)

// Env is what every figure shares: the module root, a scratch folder and
// the wasm builds made once per process.
type Env struct {
	Root    string // module root (holds go.mod)
	Scratch string // temporary folder, removed by Close
	Log     *slog.Logger

	mu    sync.Mutex
	wasm  map[string]string  // package → built .wasm
	wharf string             // built wharf binary
	pg    *pgtest.Standalone // figures 9 and 10, started by Postgres
	pgErr error
}

// NewEnv finds the module root from the working directory up and makes a
// scratch folder.
func NewEnv(log *slog.Logger) (*Env, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root := ""
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			root = d
			break
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("go.mod not found above %s", wd)
		}
	}
	scratch, err := os.MkdirTemp("", "wharf-bench-")
	if err != nil {
		return nil, err
	}
	return &Env{Root: root, Scratch: scratch, Log: log, wasm: map[string]string{}}, nil
}

// Close stops the PostgreSQL cluster, if one was started, and removes the
// scratch folder.
func (e *Env) Close() error {
	var err error
	if e.pg != nil {
		err = e.pg.Stop()
	}
	return errors.Join(err, os.RemoveAll(e.Scratch))
}

// ProviderPlugins are the five plugins that ship with Wharf.
var ProviderPlugins = []string{"docker", "ecs", "peak", "abeja", "tenx"}

// Wasm builds the plugin main package pkg (relative to the module root,
// e.g. "./plugins/docker") once and returns the .wasm path, named after
// the package's last element.
func (e *Env) Wasm(pkg string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.wasm[pkg]; ok {
		return p, nil
	}
	name := filepath.Base(pkg)
	dir := filepath.Join(e.Scratch, "wasm", strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = e.Root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	e.wasm[pkg] = out
	return out, nil
}

// PluginsDir returns a fresh folder holding the named provider plugins.
func (e *Env) PluginsDir(names ...string) (string, error) {
	dir, err := os.MkdirTemp(e.Scratch, "plugins-")
	if err != nil {
		return "", err
	}
	for _, n := range names {
		src, err := e.Wasm("./plugins/" + n)
		if err != nil {
			return "", err
		}
		if err := copyFile(src, filepath.Join(dir, n+".wasm")); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Binary builds the wharf binary (./cmd/host) once and returns its path.
func (e *Env) Binary() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.wharf != "" {
		return e.wharf, nil
	}
	out := filepath.Join(e.Scratch, "wharf")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/host")
	cmd.Dir = e.Root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build wharf: %v\n%s", err, b)
	}
	e.wharf = out
	return out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Served is an http.Handler served on a loopback port.
type Served struct {
	URL string // http://127.0.0.1:port
	srv *http.Server
}

// Serve serves h on a fresh loopback port until Close.
func Serve(h http.Handler) (*Served, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("bench: serve", "err", err)
		}
	}()
	return &Served{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server at once.
func (s *Served) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// NativeClient is the reference HTTP client: Go's own, with enough idle
// connections per host for the concurrency figures.
func NativeClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Package gobuild compiles Go plugin packages to wasm, with the flags
// every Wharf plugin is built with (scripts/build-plugins.sh): GOOS=wasip1
// GOARCH=wasm, c-shared, and -s -w, which drop the symbol table (wasm's
// name section) — a few per cent smaller, and a Go plugin's panic message
// comes from its own runtime, not from those names. Build does it once
// per test process; Command is the go build command itself.
//
// It imports nothing of the host, so that any test may use it.
package gobuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// Build compiles the main package pkg (an import path such as
// "github.com/wharfhq/wharf/plugins/docker" or a path relative to the module
// root such as "./plugins/docker", or "." for a module that is one plugin)
// and returns the .wasm file's path. The
// file's base name is the package's last element, so that a plugins folder
// can be assembled from several builds.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "wharf-wasm-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	root := ModuleRoot(tb)
	name := filepath.Base(strings.TrimSuffix(pkg, "/"))
	if strings.HasPrefix(pkg, ".") { // "." is the module's own folder
		name = filepath.Base(filepath.Join(root, pkg))
	}
	sub := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(sub, name+".wasm")
	cmd := Command(context.Background(), root, pkg, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Command is `go build` of the main package pkg (a path relative to dir,
// such as ".", or an import path) in the module folder dir, writing the
// wasm file out.
func Command(ctx context.Context, dir, pkg, out string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	return cmd
}

// ModuleRoot returns the folder holding go.mod, found from the working directory up.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			tb.Fatal("go.mod not found above " + wd)
		}
	}
}

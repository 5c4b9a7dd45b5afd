// Package wasmbuild compiles Go plugin packages to wasm for tests, once per
// test process, with the flags every Wharf plugin is built with
// (scripts/build-plugins.sh): c-shared, and -s -w, which drop the symbol
// table (wasm's name section) — a few per cent smaller, and a Go plugin's
// panic message comes from its own runtime, not from those names.
package wasmbuild

import (
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
// root such as "./plugins/docker") and returns the .wasm file's path. The
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
	name := filepath.Base(strings.TrimSuffix(pkg, "/"))
	sub := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(pkg))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(sub, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = ModuleRoot(tb)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
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

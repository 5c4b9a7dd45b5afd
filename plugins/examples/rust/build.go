// Package rust holds Wharf's example provider plugin written in Rust: src/
// is the plugin (for runq, the made-up platform of emulator/), built with
// Debian's rustc and no crates; Build compiles it, for the conformance test
// beside it and for the benchmark suite (internal/benchfig).
package rust

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Rustc is the compiler used: Debian's (packages rustc and
// libstd-rust-dev-wasm32), never a rustup toolchain that CI would not have.
const Rustc = "/usr/bin/rustc"

// Target is the wasm target: no WASI imports, the host ABI only.
const Target = "wasm32-unknown-unknown"

// Dir is this folder from the module root.
const Dir = "plugins/examples/rust"

// Available says why Rustc cannot build the plugin here, or nil.
func Available() error {
	if _, err := os.Stat(Rustc); err != nil {
		return fmt.Errorf("%s is missing (apt-get install rustc libstd-rust-dev-wasm32): %w", Rustc, err)
	}
	out, err := exec.Command(Rustc, "--target", Target, "--print", "target-libdir").Output()
	if err != nil {
		return fmt.Errorf("%s --print target-libdir: %w", Rustc, err)
	}
	libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libstd-*.rlib"))
	if len(libs) == 0 {
		return fmt.Errorf("%s has no standard library for %s (apt-get install libstd-rust-dev-wasm32)", Rustc, Target)
	}
	return nil
}

// Build compiles the plugin whose crate root is dir/src/lib.rs into the
// .wasm file out: one rustc run, no cargo, about 3 s.
func Build(dir, out string) error {
	cmd := exec.Command(Rustc, "--edition", "2021", "--target", Target, "--crate-type", "cdylib",
		"-C", "opt-level=s", "-C", "lto", "-C", "codegen-units=1", "-C", "strip=symbols",
		"-D", "warnings", "-o", out, filepath.Join(dir, "src", "lib.rs"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	return nil
}

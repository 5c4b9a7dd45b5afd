package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// TestUnitVerifies runs systemd's own checks on wharf.service, in a
// throwaway root holding the unit, systemd's units and an executable at
// ExecStart's path: systemd-analyze verify must print nothing (an unknown
// or misspelt key is only a warning there, so output is a failure too), and
// the offline security review must rate its exposure 2.0 or less ("OK").
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: systemd)")
	}
	unit, err := os.ReadFile("wharf.service")
	if err != nil {
		t.Fatal(err)
	}
	root := unitRoot(t)

	verify := func(text string) (string, error) {
		if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/wharf.service"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := run(time.Minute, nil, analyze, "verify", "--root="+root, "wharf.service")
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify(string(unit)); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify wharf.service: %v\n%s", err, out)
	}
	// The check above can fail: a misspelt hardening key is caught.
	if out, _ := verify(strings.Replace(string(unit), "ProtectSystem=", "ProtectSystm=", 1)); !strings.Contains(out, "ProtectSystm") {
		t.Errorf("a misspelt key went unnoticed: %q", out)
	}
	if _, err := verify(string(unit)); err != nil {
		t.Fatal(err)
	}

	out, err := run(time.Minute, nil, analyze, "security", "--offline=yes", "--threshold=20", "--root="+root, "wharf.service")
	if err != nil {
		if strings.Contains(string(out), "unrecognized option") {
			t.Skipf("this systemd-analyze has no offline security review: %s", out)
		}
		t.Errorf("systemd-analyze security: exposure above 2.0 or an error: %v\n%s", err, out)
	}
}

// TestUnitFlags runs the unit's ExecStart with --check-config on a wharf
// built from this tree, its paths moved under a temporary folder: every
// flag exists and the settings pass. Its data folder is the unit's
// StateDirectory and its config file the credential the unit loads.
func TestUnitFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wharf")
	}
	unit, err := os.ReadFile("wharf.service")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if _, dup := settings[k]; dup && k != "SystemCallFilter" {
				t.Errorf("%s is set twice", k)
			}
			settings[k] = v
		}
	}
	execStart := settings["ExecStart"]
	if strings.ContainsAny(execStart, `"'\$`) {
		t.Fatalf("ExecStart has quotes, escapes or variables this test does not parse: %s", execStart)
	}
	cred, _, _ := strings.Cut(settings["LoadCredential"], ":")
	dir := t.TempDir()
	moved := map[string]string{
		"/var/lib/" + settings["StateDirectory"]: filepath.Join(dir, "data"),
		"/usr/lib/wharf/plugins":                 filepath.Join(dir, "plugins"),
		"%d/" + cred:                             filepath.Join(dir, "credentials", cred),
	}
	for _, d := range []string{"plugins", "credentials"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The credential: a config file with an owner token's hash.
	config := `{"tokens": [{"name": "ops", "sha256": "` + strings.Repeat("ab", 32) + `", "role": "owner"}]}`
	if err := os.WriteFile(moved["%d/"+cred], []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(execStart)
	if len(args) < 2 || args[0] != "/usr/bin/wharf" || args[1] != "serve" {
		t.Fatalf("ExecStart is not /usr/bin/wharf serve ...: %s", execStart)
	}
	used := map[string]bool{}
	for i, a := range args {
		if to, ok := moved[a]; ok {
			args[i], used[a] = to, true
		} else if strings.Contains(a, "%") {
			t.Fatalf("ExecStart argument %q has a specifier this test does not know", a)
		}
	}
	for from := range moved {
		if !used[from] {
			t.Errorf("ExecStart does not use %s (StateDirectory, the plugins folder, LoadCredential)", from)
		}
	}

	bin := filepath.Join(dir, "wharf")
	if out, err := run(10*time.Minute, nil, "go", "build", "-o", bin, "../cmd/host"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := run(time.Minute, nil, bin, append(args[1:], "--check-config")...)
	if err != nil || !strings.Contains(string(out), "config ok") {
		t.Fatalf("wharf %s --check-config: %v\n%s", strings.Join(args[1:], " "), err, out)
	}
}

// unitRoot is a folder laid out as a root for systemd-analyze: systemd's
// units (copied: their links are relative to the real root), an empty
// etc/systemd/system and an executable stand-in for /usr/bin/wharf.
func unitRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc/systemd/system", "usr/bin", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := run(time.Minute, nil, "cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")); err != nil {
		t.Fatalf("copy systemd's units: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/wharf"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestCompilerNeedsExecGain is why wharf.service does not set
// MemoryDenyWriteExecute: wazero's compiler, which runs the plugins, fails
// in a process where memory cannot become executable (the kernel's
// PR_SET_MDWE, which systemd uses for that setting where the kernel has it,
// else a seccomp filter refusing the same mprotect), while it works here.
// Should the child's compile succeed one day, the setting can be added.
func TestCompilerNeedsExecGain(t *testing.T) {
	if os.Getenv("WHARF_DEPLOY_MDWE_CHILD") == "1" {
		mdweChild()
		return
	}
	if err := compileTiny(); err != nil {
		t.Skipf("wazero's compiler does not run on this machine at all: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCompilerNeedsExecGain$")
	cmd.Env = append(os.Environ(), "WHARF_DEPLOY_MDWE_CHILD=1")
	out, err := cmd.CombinedOutput()
	switch s := string(out); {
	case strings.Contains(s, "mdwe: unsupported"):
		t.Skipf("this kernel has no PR_SET_MDWE (Linux 6.3 or later): %s", s)
	case strings.Contains(s, "mdwe: compile refused"):
		// As expected.
	case err != nil:
		t.Fatalf("child: %v\n%s", err, s)
	default:
		t.Fatalf("wazero's compiler worked under PR_SET_MDWE: MemoryDenyWriteExecute may be set now\n%s", s)
	}
}

// mdweChild forbids this process to make memory executable, then compiles.
func mdweChild() {
	const prSetMDWE, refuseExecGain = 65, 1
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetMDWE, refuseExecGain, 0, 0, 0, 0); e != 0 {
		println("mdwe: unsupported:", e.Error())
		return
	}
	if err := compileTiny(); err != nil {
		println("mdwe: compile refused:", err.Error())
		return
	}
	println("mdwe: compile worked")
}

// compileTiny compiles a module of one empty function with wazero's
// compiler, which maps the machine code executable. A refused mprotect is a
// panic in wazero (its NewRuntimeConfig, which host/runtime uses, tests
// for it first and quietly takes the interpreter instead).
func compileTiny() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("wazero panicked: %v", v)
		}
	}()
	module := []byte{
		0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, // magic, version 1
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
		0x03, 0x02, 0x01, 0x00, // functions: one of type 0
		0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: no locals, end
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	m, err := rt.CompileModule(ctx, module)
	if err != nil {
		return err
	}
	return m.Close(ctx)
}

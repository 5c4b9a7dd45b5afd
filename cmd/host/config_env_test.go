package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkRun runs "wharf serve --check-config" with args in-process and
// returns stdout, stderr and the error.
func checkRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), append([]string{"serve", "--check-config"}, args...), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// configTestAddr is a loopback address nothing listens on (just now).
func configTestAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestEnvNames(t *testing.T) {
	for flag, want := range map[string]string{
		"listen": "WHARF_LISTEN", "data": "WHARF_DATA", "public-url": "WHARF_PUBLIC_URL",
		"max-log-viewers-per-client": "WHARF_MAX_LOG_VIEWERS_PER_CLIENT", "database": "WHARF_DATABASE",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
	// Every flag of serve says its variable in --help, so a flag added
	// later is documented the same way.
	var out syncBuffer
	if err := run(context.Background(), []string{"serve", "--help"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	cmd := newRoot(nil, io.Discard, io.Discard)
	serve, _, err := cmd.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range []string{"listen", "data", "plugins", "config", "database", "check-config", "allowed-host", "plugin-wait"} {
		if serve.Flags().Lookup(name) == nil {
			t.Fatalf("no --%s", name)
		}
	}
	_, flags, _ := strings.Cut(out.String(), "\nFlags:\n")
	for _, line := range strings.Split(flags, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "--"), " ")
		if !strings.Contains(line, "(env "+envName(name)) {
			t.Errorf("help line lacks its variable: %s", line)
		}
		n++
	}
	if n < 20 || !strings.Contains(out.String(), "WHARF_ and the") {
		t.Fatalf("help lists %d flags:\n%s", n, out.String())
	}
}

// TestServeFromEnvAndFile starts a real "wharf serve" whose settings come
// from all three sources, each overriding the next: the command line wins
// over a bad environment value, the environment over a bad file value, the
// file over the default.
func TestServeFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	addr := configTestAddr(t)
	fromFile := filepath.Join(dir, "from-file")
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{"serve": {
		"listen": "256.0.0.1:1", "log_level": "bogus", "data": "`+fromFile+`", "plugins": "/nonexistent"}}`)
	t.Setenv("WHARF_LISTEN", addr)
	t.Setenv("WHARF_LOG_LEVEL", "also-bogus")
	t.Setenv("WHARF_CONFIG", cfg)
	t.Setenv("WHARF_DATABASE", "sqlite:"+filepath.Join(dir, "other.db"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var stderr syncBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--log-level", "warn"}, strings.NewReader(""), &syncBuffer{}, &stderr)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/v1/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("healthz: %s", resp.Status)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer on WHARF_LISTEN")
		}
	}
	// --data from the file; --database from the environment.
	if _, err := os.Stat(filepath.Join(dir, "other.db")); err != nil {
		t.Errorf("WHARF_DATABASE not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fromFile, "connections.key")); err != nil {
		t.Errorf("serve.data not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fromFile, "wharf.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a wharf.db in the data folder despite --database: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestEnvValuesChecked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_DATA", filepath.Join(dir, "data"))
	t.Setenv("WHARF_PLUGINS", dir)

	// A bad value names its variable.
	t.Setenv("WHARF_MAX_CONNS", "lots")
	_, stderr, err := checkRun(t)
	if err == nil || !strings.Contains(stderr, "WHARF_MAX_CONNS: not a valid int for --max-conns") {
		t.Fatalf("bad WHARF_MAX_CONNS: %v\n%s", err, stderr)
	}
	// The flag wins over the variable, which is then not looked at.
	if out, stderr, err := checkRun(t, "--max-conns", "5"); err != nil || out != "config ok\n" {
		t.Fatalf("--max-conns over a bad WHARF_MAX_CONNS: %v\n%s%s", err, out, stderr)
	}
	// An empty variable counts as unset.
	t.Setenv("WHARF_MAX_CONNS", "")
	if _, stderr, err := checkRun(t); err != nil {
		t.Fatalf("empty WHARF_MAX_CONNS: %v\n%s", err, stderr)
	}

	// Checks made after parsing name the variable too, and every problem
	// is reported, not only the first.
	t.Setenv("WHARF_LOG_LEVEL", "loud")
	t.Setenv("WHARF_PLUGIN_WAIT", "-1s")
	t.Setenv("WHARF_MAX_LOG_VIEWERS_PER_CLIENT", "-2")
	t.Setenv("WHARF_TRUSTED_PROXY", "10.0.0.0/8, not-an-address")
	t.Setenv("WHARF_LISTEN", "127.0.0.1:notaport")
	_, stderr, err = checkRun(t)
	for _, want := range []string{
		"WHARF_LOG_LEVEL: want debug, info, warn or error",
		"plugin limits (WHARF_PLUGIN_WAIT, --plugin-memory-mib, --plugin-calls-per-connection): runtime config: max wait -1s is negative",
		"WHARF_MAX_LOG_VIEWERS_PER_CLIENT: must not be negative",
		`WHARF_TRUSTED_PROXY: TrustedProxies[1] "not-an-address"`, // the list was split at the comma
		"WHARF_LISTEN: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "5 problem(s)") {
		t.Fatalf("check: %v\n%s", err, stderr)
	}

	// serve itself refuses the same, naming the variables, before it listens.
	err = run(context.Background(), []string{"serve"}, strings.NewReader(""), &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "WHARF_LOG_LEVEL") || !strings.Contains(err.Error(), "WHARF_MAX_LOG_VIEWERS_PER_CLIENT") {
		t.Fatalf("serve with bad variables: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused start made the data folder: %v", err)
	}
}

func TestFileSettings(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_PLUGINS", dir)
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{"serve": {"data": "`+filepath.Join(dir, "d")+`",
		"max_conns": "many", "max-conns-per-client": 3, "nonsense": true, "config": "other.json",
		"allowed_host": ["a.example.com", "b.example.com"], "listen": "0.0.0.0:0", "demo": {"x": 1},
		"read_timeout": 30}}`)
	_, stderr, err := checkRun(t, "--config", cfg)
	prefix := "config file " + cfg + ": serve."
	for _, want := range []string{
		prefix + "max_conns: not a valid int for --max-conns",
		prefix + "max-conns-per-client: write it with underscores: max_conns_per_client",
		prefix + "nonsense: not a setting of wharf serve",
		prefix + "config: not a setting of wharf serve",
		prefix + "demo: want a string, number or boolean, not an object",
		prefix + "read_timeout: not a valid duration", // a duration needs its unit
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "7 problem(s)") {
		t.Fatalf("check: %v\n%s", err, stderr)
	}

	// Types the flags take: numbers, booleans, lists, strings.
	cfg = writeFile(t, cfg, `{"serve": {"data": "`+filepath.Join(dir, "d")+`", "max_conns": 10, "allow_open_mode_on_network": true,
		"allowed_host": ["a.example.com", "b.example.com"], "listen": "0.0.0.0:0", "read_timeout": "30s"}}`)
	if out, stderr, err := checkRun(t, "--config", cfg); err != nil || out != "config ok\n" {
		t.Fatalf("good settings: %v\n%s%s", err, out, stderr)
	}
	// Without the file's allow_open_mode_on_network, the same start is refused.
	if _, stderr, err := checkRun(t, "--config", cfg, "--allow-open-mode-on-network=false"); err == nil ||
		!strings.Contains(stderr, "config file "+cfg+": serve.listen 0.0.0.0:0 is reachable from the network") {
		t.Fatalf("open mode on the network: %v\n%s", err, stderr)
	}
}

package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
)

func TestCheckConfigPassesAGoodFile(t *testing.T) {
	dir := t.TempDir()
	// The check does not listen: the address is taken and it still passes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	writeFile(t, filepath.Join(dir, "sso-secret"), "from-a-file\n")
	t.Setenv("WHARF_TEST_DOCKER_TOKEN", "from-the-env")
	data := filepath.Join(dir, "data")
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{
	  "connections": [{"name": "prod", "plugin": "docker", "labels": {"team": "payments"}, "approved_hosts": ["registry.example.com"],
	                   "config": {"host": "tcp://docker:2376", "token": {"$env": "WHARF_TEST_DOCKER_TOKEN"}}}],
	  "tokens": [{"name": "ci", "sha256": "`+ops.HashToken("ci-token-0123456789abcdef0123456789")+`", "role": "operator", "scope": {"selector": "team=payments"}}],
	  "sso": {"corp": {"issuer": "https://idp.example.com", "client_id": "wharf", "client_secret": {"$file": "sso-secret"}, "groups_claim": "groups"}},
	  "bindings": [{"subject": "group:corp/platform", "role": "owner", "scope": {"all": true}}],
	  "sessions": {"idle": "8h", "absolute": "7d"}, "token_max_lifetime": "90d",
	  "serve": {"listen": "`+ln.Addr().String()+`", "public_url": "https://wharf.example.com", "data": "`+data+`",
	            "plugins": "`+dir+`", "trusted_proxy": ["10.0.0.0/8"]}}`)
	out, stderr, err := checkRun(t, "--config", cfg)
	if err != nil || out != "config ok\n" || stderr != "" {
		t.Fatalf("check: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	// Nothing was made: no data folder, no database.
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the check made the data folder: %v", err)
	}
	// A missing plugins folder is a warning, not a problem.
	out, stderr, err = checkRun(t, "--config", cfg, "--plugins", filepath.Join(dir, "none"))
	if err != nil || out != "config ok\n" || !strings.Contains(stderr, "warning: --plugins: plugins folder") {
		t.Fatalf("check without plugins: %v\n%s%s", err, out, stderr)
	}
}

func TestCheckConfigReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	notDir := writeFile(t, filepath.Join(dir, "file"), "x")
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{
	  "connections": [{"name": "Prod DB", "plugin": ""}, {"name": "ok", "plugin": "docker", "config": [1], "labels": {"-bad": "x"}},
	                  {"name": "ok", "plugin": "docker"}],
	  "tokens": [{"name": "", "sha256": "abc", "role": "operator"}, {"name": "ci", "sha256": "`+ops.HashToken("x")+`", "role": "root"},
	             {"name": "ci", "sha256": "`+ops.HashToken("y")+`", "role": "owner", "scope": {"selector": "team=a"}}],
	  "sso": {"corp": {"issuer": "http://idp.example.com", "client_id": "wharf", "client_secret": "s"},
	          "noredirect": {"issuer": "https://idp.example.com", "client_id": "wharf", "client_secret": "s"}},
	  "bindings": [{"subject": "group:corp/platform", "role": "owner"}, {"subject": "group:corp/x", "role": "owner", "scope": {"selector": "team=a"}}],
	  "sessions": {"idle": "soon"}, "token_max_lifetime": "-1d",
	  "proxy_auth": {"name": "gw", "user_header": "X-User"}, "metrics": {"token_sha256": "nothex"},
	  "serve": {"metrics_listen": "127.0.0.1:x", "debug_listen": "nowhere", "allowed_origin": ["https://a.example.com/path"], "data": "`+notDir+`", "database": "sqlite:`+filepath.Join(dir, "none", "w.db")+`"}}`)
	_, stderr, err := checkRun(t, "--config", cfg, "--plugins", dir)
	f := "config file " + cfg + ": "
	wants := []string{
		f + `connections[0].name: "Prod DB" is not valid`,
		f + "connections[0].plugin: required",
		f + "connections[1].config: must be a JSON object",
		f + "connections[1].labels: ",
		f + "connections[2].name: a second connection called ok",
		f + "tokens[0].name: required",
		f + "tokens[0].sha256: must be 64 hex digits",
		f + `tokens[1]: role "root" is not one of viewer, operator, admin, owner`,
		f + "tokens[2].name: a second token called ci",
		f + "tokens[2]: role owner is host-wide",
		f + "sso.corp.issuer: ",
		f + "sso.noredirect: needs --public-url",
		f + "bindings[0].scope: required",
		f + "bindings[1]: role owner is host-wide",
		f + `sessions.idle: "soon" is not a positive duration`,
		f + `token_max_lifetime: "-1d" is not a positive duration`,
		f + "proxy_auth.trusted: list the gateway's address ranges",
		f + "metrics.token_sha256: must be 64 hex digits",
		f + "serve.debug_listen: ",
		f + "serve.metrics_listen: ",
		f + `serve.allowed_origin: AllowedOrigins[0] "https://a.example.com/path"`,
		f + "serve.data: " + notDir + " is not a folder",
		f + "serve.database: the folder of " + filepath.Join(dir, "none", "w.db") + " does not exist",
	}
	for _, want := range wants {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q", want)
		}
	}
	if err == nil || err.Error() != "config check failed: 23 problem(s)" || strings.Count(stderr, "\n") != len(wants) {
		t.Fatalf("check: %v\n%s", err, stderr)
	}

	// serve refuses the file with the same problems, all at once.
	err = run(context.Background(), []string{"serve", "--config", cfg, "--plugins", dir}, strings.NewReader(""), &syncBuffer{}, &syncBuffer{})
	if err == nil || strings.Count(err.Error(), "\n")+1 != len(wants) {
		t.Fatalf("serve with a bad file: %v", err)
	}

	// A file that does not parse is one problem, with the flags' own.
	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{"connections": [], "tokenz": []}`)
	_, stderr, err = checkRun(t, "--config", bad, "--log-level", "loud", "--plugins", dir)
	if err == nil || !strings.Contains(stderr, "config file "+bad+`: json: unknown field "tokenz"`) ||
		!strings.Contains(stderr, "--log-level: want debug") || !strings.Contains(err.Error(), "2 problem(s)") {
		t.Fatalf("unparsable file: %v\n%s", err, stderr)
	}
	_, stderr, err = checkRun(t, "--config", filepath.Join(dir, "missing.json"))
	if err == nil || !strings.Contains(stderr, "config file "+filepath.Join(dir, "missing.json")+": no such file or directory") {
		t.Fatalf("missing file: %v\n%s", err, stderr)
	}
}

func TestDatabaseFlag(t *testing.T) {
	data := "/var/lib/wharf"
	for in, want := range map[string]string{
		"":                        "/var/lib/wharf/wharf.db",
		"/srv/wharf.db":           "/srv/wharf.db",
		"rel/wharf.db":            "rel/wharf.db",
		"sqlite:/srv/w.db":        "/srv/w.db",
		"sqlite:///srv/w.db":      "/srv/w.db",
		"sqlite:w.db":             "w.db",
		"./odd:name.db":           "./odd:name.db",
		"postgres://u:hunter2@db": "postgres://u:hunter2@db", // as given, for store.Open
		"postgresql://db/wharf":   "postgresql://db/wharf",
		"mysql://u:hunter2@db":    "mysql:// is not a database this host knows",
		"sqlite:":                 "sqlite: needs a file path",
	} {
		got, err := sqlitePath(in, data)
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, want) || (err != nil && strings.Contains(got, "hunter2")) {
			t.Errorf("--database %q: %q, want %q", in, got, want)
		}
	}
	// From the environment, a PostgreSQL URL wants the connections key;
	// no problem repeats the URL's password.
	t.Setenv("WHARF_DATABASE", "postgres://wharf:hunter2@db.internal/wharf")
	_, stderr, err := checkRun(t, "--data", t.TempDir(), "--plugins", t.TempDir())
	if err == nil || !strings.Contains(stderr, "--connections-key-file: required with a PostgreSQL database") || strings.Contains(stderr, "hunter2") {
		t.Fatalf("postgres database: %v\n%s", err, stderr)
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigReferencesResolve(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secrets, "sso"), "sso-secret-1\n")
	writeFile(t, filepath.Join(secrets, "crlf"), "crlf-secret\r\n")
	writeFile(t, filepath.Join(secrets, "two"), "two-lines\n\n")
	abs := writeFile(t, filepath.Join(dir, "abs.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	t.Setenv("WHARF_TEST_PLATFORM_TOKEN", "env-secret-2")
	t.Setenv("WHARF_TEST_ISSUER", "https://idp.example.com")

	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{
	  "connections": [{"name": "prod", "plugin": "docker", "labels": {"team": {"$env": "WHARF_TEST_LABEL"}},
	    "config": {"host": "tcp://docker:2376", "port": 2376, "big": 12345678901234567890, "ratio": 0.1,
	               "token": {"$env": "WHARF_TEST_PLATFORM_TOKEN"},
	               "tls": {"ca": {"$file": "`+abs+`"}, "crlf": {"$file": "secrets/crlf"}, "two": {"$file": "./secrets/two"}},
	               "list": [1, {"$env": "WHARF_TEST_PLATFORM_TOKEN"}], "plain": {"$schema": "not a reference", "x": 1}}}],
	  "sso": {"corp": {"issuer": {"$env": "WHARF_TEST_ISSUER"}, "client_id": "wharf", "client_secret": {"$file": "secrets/sso"}}}}`)
	t.Setenv("WHARF_TEST_LABEL", "payments")

	fc, err := readFileConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sso := fc.SSO["corp"]
	if sso.ClientSecret != "sso-secret-1" || sso.Issuer != "https://idp.example.com" {
		t.Fatalf("sso: %+v", sso)
	}
	if fc.Connections[0].Labels["team"] != "payments" {
		t.Fatalf("labels: %v", fc.Connections[0].Labels)
	}
	var conf struct {
		Host  string          `json:"host"`
		Port  int             `json:"port"`
		Big   json.Number     `json:"big"`
		Ratio json.Number     `json:"ratio"`
		Token string          `json:"token"`
		TLS   map[string]any  `json:"tls"`
		List  []any           `json:"list"`
		Plain json.RawMessage `json:"plain"`
	}
	dec := json.NewDecoder(strings.NewReader(string(fc.Connections[0].Config)))
	dec.UseNumber()
	if err := dec.Decode(&conf); err != nil {
		t.Fatal(err)
	}
	if conf.Token != "env-secret-2" || conf.Host != "tcp://docker:2376" || conf.Port != 2376 ||
		conf.Big != "12345678901234567890" || conf.Ratio != "0.1" { // numbers pass through exactly
		t.Fatalf("connection config: %s", fc.Connections[0].Config)
	}
	// One trailing newline dropped (\n or \r\n), no more; inner ones kept.
	if conf.TLS["ca"] != "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" || conf.TLS["crlf"] != "crlf-secret" || conf.TLS["two"] != "two-lines\n" {
		t.Fatalf("tls: %q", conf.TLS)
	}
	if conf.List[1] != "env-secret-2" {
		t.Fatalf("list: %v", conf.List)
	}
	// An object with more than a "$" key is plain data.
	if !strings.Contains(string(conf.Plain), `"$schema":"not a reference"`) {
		t.Fatalf("plain: %s", conf.Plain)
	}
}

func TestConfigReferencesFail(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_TEST_GOOD", "good-secret-3")
	t.Setenv("WHARF_TEST_EMPTY", "")
	writeFile(t, filepath.Join(dir, "empty"), "\n")
	writeFile(t, filepath.Join(dir, "big"), strings.Repeat("x", maxSecretFile+1))
	writeFile(t, filepath.Join(dir, "binary"), "\xff\xfe")
	writeFile(t, filepath.Join(dir, "good"), "good-secret-4")
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{
	  "connections": [{"name": "prod", "plugin": "docker", "config": {
	    "ok": {"$env": "WHARF_TEST_GOOD"}, "ok2": {"$file": "good"},
	    "unset": {"$env": "WHARF_TEST_UNSET_VARIABLE"}, "empty": {"$env": "WHARF_TEST_EMPTY"},
	    "badname": {"$env": "NOT A NAME"}, "nostring": {"$env": 5},
	    "missing": {"$file": "nope/secret"}, "folder": {"$file": "."}, "emptyfile": {"$file": "empty"},
	    "big": {"$file": "big"}, "binary": {"$file": "binary"},
	    "typo": {"$envv": "WHARF_TEST_GOOD"}, "both": {"$env": "WHARF_TEST_GOOD", "$file": "good"},
	    "extra": {"$env": "WHARF_TEST_GOOD", "default": "x"}}}],
	  "tokens": [{"name": "ci", "sha256": {"$env": "WHARF_TEST_UNSET_SHA"}, "role": "viewer"}]}`)
	_, err := readFileConfig(cfg)
	if err == nil {
		t.Fatal("bad references accepted")
	}
	msg := err.Error()
	f := "config file " + cfg + ": connections[0].config."
	for _, want := range []string{
		f + "unset: environment variable WHARF_TEST_UNSET_VARIABLE is not set",
		f + "empty: environment variable WHARF_TEST_EMPTY is empty",
		f + `badname: $env: "NOT A NAME" is not an environment variable name`,
		f + "nostring: $env takes a string",
		f + "missing: $file " + filepath.Join(dir, "nope/secret") + ": no such file or directory",
		f + "folder: $file " + dir + ": is a folder",
		f + "emptyfile: $file " + filepath.Join(dir, "empty") + ": is empty",
		f + "big: $file " + filepath.Join(dir, "big") + ": larger than 64 KiB",
		f + "binary: $file " + filepath.Join(dir, "binary") + ": not UTF-8 text",
		f + `typo: unknown reference "$envv"`,
		f + `both: a reference has exactly one key`,
		f + `extra: a reference has exactly one key`,
		"config file " + cfg + ": tokens[0].sha256: environment variable WHARF_TEST_UNSET_SHA is not set",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 13 {
		t.Errorf("%d problems, want 13:\n%s", n, msg)
	}
	// Resolved values never reach a message.
	for _, secret := range []string{"good-secret-3", "good-secret-4", "xxxxxxxx"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows a secret %q:\n%s", secret, msg)
		}
	}
}

// Many references to one large file cannot make the config grow without bound.
func TestConfigReferencesBounded(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cert"), strings.Repeat("c", 60<<10))
	refs := make([]string, 20) // 20 × 60 KiB > 1 MiB
	for i := range refs {
		refs[i] = `{"$file": "cert"}`
	}
	cfg := writeFile(t, filepath.Join(dir, "wharf.json"), `{"connections": [{"name": "a", "plugin": "p", "config": {"certs": [`+strings.Join(refs, ",")+`]}}]}`)
	if _, err := readFileConfig(cfg); err == nil || !strings.Contains(err.Error(), "connections[0].config.certs[17]: references resolve to more than 1 MiB in all") {
		t.Fatalf("20 large references: %v", err)
	}
	cfg = writeFile(t, cfg, `{"connections": [{"name": "a", "plugin": "p", "config": {"certs": [`+strings.Join(refs[:15], ",")+`]}}]}`)
	if _, err := readFileConfig(cfg); err != nil {
		t.Fatalf("15 large references: %v", err)
	}
}

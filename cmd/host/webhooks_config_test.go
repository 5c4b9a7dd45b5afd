package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigWebhooks: the config file's webhooks take their secret
// from a reference and pass; bad ones are each reported naming the field,
// never echoing the secret.
func TestCheckConfigWebhooks(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WHARF_TEST_HOOK_SECRET", "hook-secret-from-the-env")
	serve := `"serve": {"listen": "` + configTestAddr(t) + `", "data": "` + filepath.Join(dir, "data") + `", "plugins": "` + dir + `"}`
	good := writeFile(t, filepath.Join(dir, "good.json"), `{
	  "webhooks": [{"name": "ci", "url": "https://ci.example.com/wharf", "secret": {"$env": "WHARF_TEST_HOOK_SECRET"},
	                "events": ["service.*", "audit"], "selector": "team=payments"},
	               {"name": "local", "url": "http://127.0.0.1:9999/hook", "secret": {"$env": "WHARF_TEST_HOOK_SECRET"}, "events": ["*"]}],
	  `+serve+`}`)
	if out, stderr, err := checkRun(t, "--config", good); err != nil || out != "config ok\n" {
		t.Fatalf("good webhooks: %v\n%s%s", err, out, stderr)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{
	  "webhooks": [{"name": "ci", "url": "http://ci.example.com/wharf", "secret": {"$env": "WHARF_TEST_HOOK_SECRET"}, "events": ["services.*"]},
	               {"name": "ci", "url": "https://x.example.com", "secret": "short", "events": []}],
	  `+serve+`}`)
	_, stderr, err := checkRun(t, "--config", bad)
	if err == nil {
		t.Fatal("bad webhooks passed")
	}
	for _, want := range []string{
		"webhooks[0].url: http://ci.example.com/wharf is plain http",
		`webhooks[0].events[0]: "services.*" matches no event type`,
		"webhooks[1].name: a second webhook called ci",
		"webhooks[1].secret: required, at least 16 characters",
		"webhooks[1].events: name at least one",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hook-secret-from-the-env") || strings.Contains(stderr, "short\"") {
		t.Errorf("a secret is echoed:\n%s", stderr)
	}
	// Unknown fields are refused like everywhere in the file.
	typo := writeFile(t, filepath.Join(dir, "typo.json"), `{"webhooks": [{"name": "ci", "uri": "https://x"}], `+serve+`}`)
	if _, stderr, err := checkRun(t, "--config", typo); err == nil || !strings.Contains(stderr, `unknown field "uri"`) {
		t.Errorf("a misspelt field: %v\n%s", err, stderr)
	}
}

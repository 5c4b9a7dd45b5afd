package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFileBounded: a --config file beyond 1 MiB or 64 levels is
// refused before it is parsed, naming the limit.
func TestConfigFileBounded(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"deep.json": `{"connections":[{"name":"a","plugin":"p","config":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}]}`,
		"big.json":  `{"tokens":[],"connections":[` + strings.Repeat(`{"name":"a","plugin":"p"},`, 50_000) + `{"name":"b","plugin":"p"}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := readFileConfig(path)
		want := map[string]string{"deep.json": "JSON nesting deeper than 64 levels", "big.json": "larger than 1 MiB"}[name]
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file and %q", name, err, want)
		}
	}
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte(`{"connections":[{"name":"a","plugin":"p","config":{"x":[[1]]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if fc, err := readFileConfig(ok); err != nil || len(fc.Connections) != 1 {
		t.Fatalf("ok config: %+v, %v", fc, err)
	}
}

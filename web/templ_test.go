package web

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a-h/templ/generator"
	parser "github.com/a-h/templ/parser/v2"
)

// TestGeneratedTemplIsFresh fails when a .templ file was changed without
// running `go generate ./web` (the generated _templ.go files are committed),
// or generated with the templ version line, which would stand in for the
// package doc in `go doc ./web`.
func TestGeneratedTemplIsFresh(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files found: %v", err)
	}
	for _, f := range files {
		tf, err := parser.Parse(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var b bytes.Buffer
		if _, err := generator.Generate(tf, &b, generator.WithFileName(f)); err != nil {
			t.Fatalf("%s: generate: %v", f, err)
		}
		want, err := format.Source(b.Bytes())
		if err != nil {
			t.Fatalf("%s: format: %v", f, err)
		}
		goFile := strings.TrimSuffix(f, ".templ") + "_templ.go"
		got, err := os.ReadFile(goFile)
		if err != nil {
			t.Fatalf("%s: %v (run `go generate ./web`)", goFile, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./web` and commit the result", goFile)
		}
	}
}

package web

import (
	"bytes"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/a-h/templ/generator"
	parser "github.com/a-h/templ/parser/v2"
)

// TestGeneratedTemplIsFresh fails when a .templ file of web or a package
// below it (web/form) was changed without running `go generate ./web/...`
// (the generated _templ.go files are committed), or generated with the
// templ version line, which would stand in for the package doc in `go doc`.
// templ generates from web/, so the file names in its error messages are
// relative to web/.
func TestGeneratedTemplIsFresh(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".templ") {
			files = append(files, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files found: %v", err)
	}
	if !slices.Contains(files, "form/fields.templ") {
		t.Fatalf("the walk missed web/form: %v", files)
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
			t.Fatalf("%s: %v (run `go generate ./web/...`)", goFile, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./web/...` and commit the result", goFile)
		}
	}
}

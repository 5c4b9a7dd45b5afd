// Package scaffold writes a new provider plugin module from the templates
// embedded in it (wharf plugin new): a go.mod of its own, the provider on
// pluginapi/plugin and its REST client, a tiny emulator of the platform,
// the conformance fixture and a test running Wharf's conformance kit
// against the emulator.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"text/template"

	"github.com/wharfhq/wharf/pluginapi"
)

//go:embed templates
var templates embed.FS

// Options say what to write.
type Options struct {
	// Name is the plugin's name: lowercase letters, digits and dashes.
	Name string
	// Dir is the folder to write (created; must not exist or be empty).
	Dir string
	// Module is the new module's path (default example.com/wharf-<name>).
	Module string
	// WharfVersion is the version of github.com/wharfhq/wharf to require
	// (default: the running binary's, or a placeholder needing Replace).
	WharfVersion string
	// Replace, if set, is a folder holding a Wharf checkout for a replace
	// directive (plugin authors working against Wharf from source).
	Replace string
}

// placeholderVersion is required when the binary knows no release of its
// own module: it resolves only through a replace directive.
const placeholderVersion = "v0.0.0-00010101000000-000000000000"

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	modulePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
)

// Check fills the defaults of o and refuses bad values, naming the flag.
func (o *Options) Check() error {
	if len(o.Name) > 40 || !namePattern.MatchString(o.Name) {
		return pluginapi.Invalid("name", "plugin name %q: want 1 to 40 lowercase letters, digits and dashes, starting with a letter", o.Name)
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if o.Module == "" {
		o.Module = "example.com/wharf-" + o.Name
	}
	if len(o.Module) > 200 || !modulePattern.MatchString(o.Module) || strings.Contains(o.Module, "..") {
		return pluginapi.Invalid("--module", "module path %q is not valid: for example github.com/you/wharf-%s", o.Module, o.Name)
	}
	if o.WharfVersion == "" {
		o.WharfVersion = placeholderVersion
		if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") && bi.Main.Path == "github.com/wharfhq/wharf" {
			o.WharfVersion = bi.Main.Version
		}
	}
	if o.Replace != "" {
		abs, err := filepath.Abs(o.Replace)
		if err != nil {
			return pluginapi.Invalid("--replace", "%v", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "pluginapi", "plugin")); err != nil {
			return pluginapi.Invalid("--replace", "%s is not a Wharf checkout (no pluginapi/plugin in it)", o.Replace)
		}
		o.Replace = abs
	}
	entries, err := os.ReadDir(o.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return pluginapi.Invalid("--dir", "%v", err)
	case len(entries) > 0:
		return pluginapi.Invalid("--dir", "%s exists and is not empty", o.Dir)
	}
	return nil
}

// NeedsReplace reports whether the module written requires a Wharf version
// that resolves only through a replace directive.
func (o *Options) NeedsReplace() bool {
	return o.WharfVersion == placeholderVersion && o.Replace == ""
}

// Write checks o and writes the module, returning the files written
// (relative to o.Dir).
func Write(o *Options) ([]string, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	data := map[string]string{
		"Name": o.Name, "Title": title(o.Name), "Module": o.Module,
		"WharfVersion": o.WharfVersion, "Replace": o.Replace,
		"GoVersion": strings.TrimPrefix(runtime.Version(), "go"),
	}
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`).MatchString(data["GoVersion"]) {
		data["GoVersion"] = "1.26.8" // a development toolchain: Wharf's own minimum
	}
	var files []string
	err := fs.WalkDir(templates, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := templates.ReadFile(path)
		if err != nil {
			return err
		}
		t, err := template.New(path).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".tmpl")
		out := filepath.Join(o.Dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return files, fmt.Errorf("scaffold %s: %w", o.Dir, err)
	}
	return files, nil
}

// title is the plugin's human name: "acme-cloud" is "Acme Cloud".
func title(name string) string {
	words := strings.Split(name, "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

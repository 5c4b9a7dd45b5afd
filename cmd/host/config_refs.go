package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Secrets stay out of the config file: any value in it may be a reference,
// an object with one key,
//
//	{"$env": "NAME"}            the environment variable NAME
//	{"$file": "/run/secrets/x"} the file's contents, one trailing newline dropped
//
// and becomes that string before the file is decoded. An object rather
// than "${env:NAME}" inside strings: a literal string never needs escaping
// (a password may well hold "${"), a reference is a whole value and never
// part of one, and the shape is plain JSON that editors and generators
// (Helm, jq, Terraform) write without quoting tricks.

const (
	// maxSecretFile bounds one $file: certificates and keys fit.
	maxSecretFile = 64 << 10
	// maxResolved bounds all references of a file together, so many
	// references to one large file cannot blow the config up.
	maxResolved = 1 << 20
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// resolver replaces references; problems name the field, never a value.
type resolver struct {
	dir      string // relative $file paths are relative to the config file's folder
	total    int    // bytes resolved so far
	problems []error
}

// resolveRefs returns doc (a JSON document) with its references replaced,
// or every problem found.
func resolveRefs(doc []byte, configPath string) ([]byte, []error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers pass through exactly
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []error{err}
	}
	r := &resolver{dir: filepath.Dir(configPath)}
	v = r.walk("", v)
	if len(r.problems) > 0 {
		return nil, r.problems
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, []error{err}
	}
	return out, nil
}

func (r *resolver) walk(path string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if isRef(x) {
			return r.ref(path, x)
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			x[k] = r.walk(p, x[k])
		}
	case []any:
		for i := range x {
			x[i] = r.walk(fmt.Sprintf("%s[%d]", path, i), x[i])
		}
	}
	return v
}

// isRef: an object naming $env or $file, or one whose only key starts with
// "$" (a misspelt reference is an error, not a value).
func isRef(m map[string]any) bool {
	if _, ok := m["$env"]; ok {
		return true
	}
	if _, ok := m["$file"]; ok {
		return true
	}
	for k := range m {
		return len(m) == 1 && strings.HasPrefix(k, "$")
	}
	return false
}

func (r *resolver) fail(path, format string, args ...any) any {
	if path == "" {
		path = "(top level)"
	}
	r.problems = append(r.problems, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	return ""
}

func (r *resolver) ref(path string, m map[string]any) any {
	if len(m) != 1 {
		return r.fail(path, `a reference has exactly one key, "$env" or "$file"`)
	}
	var kind string
	for k := range m {
		kind = k
	}
	arg, ok := m[kind].(string)
	if !ok {
		return r.fail(path, "%s takes a string", kind)
	}
	var value, src string // src names the source in messages
	switch kind {
	case "$env":
		if !envNameRE.MatchString(arg) {
			return r.fail(path, "$env: %.130q is not an environment variable name", arg)
		}
		v, set := os.LookupEnv(arg)
		if !set {
			return r.fail(path, "environment variable %s is not set", arg)
		}
		if v == "" {
			return r.fail(path, "environment variable %s is empty", arg)
		}
		value, src = v, "environment variable "+arg
	case "$file":
		if arg == "" {
			return r.fail(path, "$file needs a path")
		}
		p := arg
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.dir, p)
		}
		v, err := readSecretFile(p)
		if err != nil {
			return r.fail(path, "$file %s: %v", p, err)
		}
		value, src = v, "$file "+p
	default:
		return r.fail(path, `unknown reference %.40q: want "$env" or "$file"`, kind)
	}
	if !utf8.ValidString(value) {
		return r.fail(path, "%s: not UTF-8 text", src)
	}
	if r.total += len(value); r.total > maxResolved {
		return r.fail(path, "references resolve to more than 1 MiB in all")
	}
	return value
}

// readSecretFile reads a secret file, at most maxSecretFile bytes, one
// trailing newline (\n or \r\n) dropped: "echo s > file" writes one.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return "", err
	} else if st.IsDir() {
		return "", errors.New("is a folder, not a file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("larger than %d KiB", maxSecretFile>>10)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", errors.New("is empty")
	}
	return s, nil
}

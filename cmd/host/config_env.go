package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Every flag of "wharf serve" can also come from the environment and from
// the config file's "serve" object, names derived from the flag's so a new
// flag gets both without further code: --public-url is WHARF_PUBLIC_URL
// and "serve": {"public_url": ...}. A flag on the command line wins over
// the environment, which wins over the file, which wins over the default.

const envPrefix = "WHARF_"

// envName is the environment variable of a flag: WHARF_PUBLIC_URL.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fileKey is the key of a flag in the config file's "serve" object.
func fileKey(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// notInFile are the flags the config file cannot set: the file's own path,
// the check action, cobra's help.
var notInFile = map[string]bool{"config": true, "check-config": true, "help": true}

// repeatable reports whether fl takes many values (--allowed-host).
func repeatable(fl *pflag.Flag) bool {
	_, ok := fl.Value.(pflag.SliceValue)
	return ok
}

// describeEnv appends each flag's variable to its help line. Call it once
// every flag is defined.
func describeEnv(fs *pflag.FlagSet) {
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Name == "help" {
			return
		}
		extra := "env " + envName(fl.Name)
		if repeatable(fl) {
			extra += ", comma-separated"
		}
		fl.Usage += " (" + extra + ")"
	})
}

// setFlag gives fl the values, read from where (a variable's name, a
// config field), and records that as its source. A value that does not
// parse is an error naming where; string values never fail, so a secret
// never reaches an error message.
func setFlag(fl *pflag.Flag, values []string, where string, from map[string]string) error {
	for _, v := range values {
		if err := fl.Value.Set(v); err != nil {
			return fmt.Errorf("%s: not a valid %s for --%s: %v", where, fl.Value.Type(), fl.Name, err)
		}
	}
	fl.Changed = true
	from[fl.Name] = where
	return nil
}

// applyEnv sets every flag not given on the command line whose variable is
// set and not empty (an empty variable counts as unset, as compose files
// often leave them). A repeatable flag's variable is a comma-separated list.
func applyEnv(fs *pflag.FlagSet, from map[string]string) []error {
	var problems []error
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Changed || fl.Name == "help" {
			return
		}
		name := envName(fl.Name)
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return
		}
		values := []string{v}
		if repeatable(fl) {
			values = splitList(v)
		}
		if err := setFlag(fl, values, name, from); err != nil {
			problems = append(problems, err)
		}
	})
	return problems
}

// splitList splits a comma-separated list, dropping blanks around items
// and empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applyFileSettings sets the flags still at their default from the config
// file's "serve" object; label names the file in errors.
func applyFileSettings(fs *pflag.FlagSet, settings map[string]json.RawMessage, label string, from map[string]string) []error {
	var problems []error
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		where := label + ": serve." + key
		flag := strings.ReplaceAll(key, "_", "-")
		fl := fs.Lookup(flag)
		switch {
		case strings.Contains(key, "-"):
			problems = append(problems, fmt.Errorf("%s: write it with underscores: %s", where, fileKey(key)))
			continue
		case fl == nil || notInFile[flag]:
			problems = append(problems, fmt.Errorf("%s: not a setting of wharf serve (the keys are its flags' names with underscores)", where))
			continue
		case fl.Changed: // the command line or the environment wins
			continue
		}
		values, err := settingValues(settings[key], repeatable(fl))
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := setFlag(fl, values, where, from); err != nil {
			problems = append(problems, err)
		}
	}
	return problems
}

// settingValues turns a setting's JSON into flag values: a string, number
// or boolean is one value; a repeatable flag also takes a list of strings.
func settingValues(raw json.RawMessage, many bool) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, fmt.Errorf("want a value, not null")
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case raw[0] == '[':
		var list []string
		if !many {
			return nil, fmt.Errorf("takes one value, not a list")
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("want a list of strings")
		}
		return list, nil
	case raw[0] == '{':
		return nil, fmt.Errorf("want a string, number or boolean, not an object")
	}
	// A number or true/false: its JSON text is what the flag parses.
	return []string{string(raw)}, nil
}

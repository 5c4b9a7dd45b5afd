package form

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
)

// Label names the value at the JSON pointer ptr ("/env/GREETING") as a
// person reads it: the labels of the fields it lies in ("Environment ›
// GREETING"), then the pointer's remaining segments unescaped. Without a
// field to go by, the segments alone ("config › username"); "" for the
// whole document.
func Label(fields []Field, ptr string) string {
	rest := segments(ptr)
	if len(rest) == 0 {
		return ""
	}
	var names []string
	path := ""
	for len(rest) > 0 {
		f, used := childAt(fields, path, rest)
		if f == nil {
			break
		}
		names = append(names, cmp.Or(f.Label, f.Name))
		rest = rest[used:]
		path = f.Path
		if len(f.Rows) > 0 && len(f.Rows[0].Fields) > 0 && len(rest) > 0 {
			if i, err := strconv.Atoi(rest[0]); err == nil && i >= 0 {
				// Every row has the same fields: go by the first row's.
				names = append(names, "item "+strconv.Itoa(i+1))
				fields, rest = f.Rows[0].Fields, rest[1:]
				path = parent(fields[0].Path)
				continue
			}
		}
		fields = f.Children
	}
	return strings.Join(append(names, rest...), " › ")
}

// childAt finds the field among fields whose path is base plus one or
// more of segs, and how many segments it used.
func childAt(fields []Field, base string, segs []string) (*Field, int) {
	p := base
	for n, s := range segs {
		if p != "" {
			p += "/"
		}
		p += escape(s)
		for i := range fields {
			if fields[i].Path == p {
				return &fields[i], n + 1
			}
		}
	}
	return nil, 0
}

func segments(ptr string) []string {
	ptr = strings.TrimPrefix(ptr, "/")
	if ptr == "" {
		return nil
	}
	parts := strings.Split(ptr, "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func parent(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Plain shows a JSON value as a person reads it: a string without its
// quotes, numbers and booleans as they are, null as "none", an empty list
// or object as "empty", anything else as compact JSON.
func Plain(raw string) string {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return raw
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "none"
	case []any:
		if len(x) == 0 {
			return "empty"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			str, ok := e.(string)
			if !ok || strings.Contains(str, ", ") {
				return raw // not a plain list of words
			}
			parts[i] = str
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if len(x) == 0 {
			return "empty"
		}
	}
	return raw
}

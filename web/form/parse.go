package form

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/schema"
)

// Parse reads a submitted form into a document following props.
// Empty inputs are left out (the schema's "required" reports them), and so
// are groups and rows left wholly empty. Input that cannot be parsed is
// reported in errs at its Field.Path, and kept as typed in doc, so that
// Build(props, doc, errs) draws the form back as it was sent.
func Parse(props []schema.Property, values url.Values) (doc map[string]any, errs map[string][]string) {
	errs = map[string][]string{}
	return parseLevel(props, values, "", 0, errs), errs
}

func parseLevel(props []schema.Property, form url.Values, prefix string, depth int, errs map[string][]string) map[string]any {
	doc := map[string]any{}
	for _, p := range props {
		path := prefix + escapeToken(p.Name)
		if v, ok := parseField(p, form, path, depth, errs); ok {
			doc[p.Name] = v
		}
	}
	return doc
}

func parseField(p schema.Property, form url.Values, path string, depth int, errs map[string][]string) (any, bool) {
	kind, _, children := kindOf(p, depth)
	name := "f." + path
	if _, asJSON := form[name]; asJSON && (kind == KindGroup || kind == KindRows) {
		kind = KindJSON // drawn as JSON because its value did not fit the sub-fields
	}
	fail := func(msg string, raw string) (any, bool) {
		errs[path] = append(errs[path], msg)
		return rawText(raw), true
	}
	raw := strings.TrimSpace(form.Get(name))
	switch kind {
	case KindText, KindSecret:
		return raw, raw != ""
	case KindSelect:
		if raw == "" {
			return nil, false
		}
		for _, e := range p.Enum {
			if enumString(e) == raw {
				return e, true
			}
		}
		return fail("choose one of the listed values", raw)
	case KindInteger:
		if raw == "" {
			return nil, false
		}
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n, true
		}
		return fail("must be a whole number", raw)
	case KindNumber:
		if raw == "" {
			return nil, false
		}
		if n, err := strconv.ParseFloat(raw, 64); err == nil {
			return n, true
		}
		return fail("must be a number", raw)
	case KindBool:
		if form.Get(name) == "true" {
			return true, true
		}
		return false, form.Get(name+".present") == "1"
	case KindKV:
		keys, vals := form[name+".k"], form[name+".v"]
		m := map[string]any{}
		for i, k := range keys {
			k = strings.TrimSpace(k)
			val := ""
			if i < len(vals) {
				val = vals[i]
			}
			if k == "" {
				if strings.TrimSpace(val) != "" {
					errs[path] = append(errs[path], fmt.Sprintf("row %d has a value but no name", i+1))
				}
				continue
			}
			if _, dup := m[k]; dup {
				errs[path] = append(errs[path], fmt.Sprintf("%q is given twice", k))
			}
			m[k] = val
		}
		return m, len(m) > 0
	case KindLines:
		var items []any
		for _, l := range strings.Split(form.Get(name), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				items = append(items, l)
			}
		}
		return items, len(items) > 0
	case KindGroup:
		m := parseLevel(children, form, path+"/", depth+1, errs)
		return m, len(m) > 0
	case KindRows:
		var items []any
		for _, i := range rowIndexes(form, name+"/") {
			// Rows are numbered by the form (the script adds and removes
			// them); the document counts only the rows filled in, and so
			// do the error paths, which are drawn back from the document.
			rowErrs := map[string][]string{}
			formPrefix := path + "/" + strconv.Itoa(i) + "/"
			m := parseLevel(children, form, formPrefix, depth+1, rowErrs)
			if len(m) == 0 {
				continue
			}
			docPrefix := path + "/" + strconv.Itoa(len(items)) + "/"
			for k, v := range rowErrs {
				errs[docPrefix+strings.TrimPrefix(k, formPrefix)] = v
			}
			items = append(items, m)
		}
		return items, len(items) > 0
	case KindJSON:
		if raw == "" {
			return nil, false
		}
		// The value sits inside the document and each group or row above
		// it: the whole document must stay within jsonlimit.Body.
		above := 1 + strings.Count(path, "/")
		lim := jsonlimit.Limits{MaxBytes: jsonlimit.Body.MaxBytes, MaxDepth: max(jsonlimit.Body.MaxDepth-above, 0)}
		v, err := decodeLimited([]byte(raw), lim)
		var le *jsonlimit.Error
		if errors.As(err, &le) {
			return fail(fmt.Sprintf("is refused: %v (a spec may nest %d levels, and this field is %d down)", le, jsonlimit.Body.MaxDepth, above), raw)
		}
		if err != nil {
			return fail("is not valid JSON: "+err.Error(), raw)
		}
		return v, true
	}
	return nil, false
}

// rowIndexes lists, in order, the row numbers of inputs named prefix+N/...
func rowIndexes(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, "/")
		if i, err := strconv.Atoi(n); err == nil && i >= 0 {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

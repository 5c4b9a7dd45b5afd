package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// The messages below are written here rather than taken from the library
// because its texts quote the offending value, and a config document holds
// secrets: a message names the field and the rule, never the value.

// leaf is one violation before formatting.
type leaf struct {
	loc []string // instance location tokens
	msg string   // message without the field name
}

// collect flattens the library's error tree into sorted, deduplicated
// FieldErrors for the document doc.
func (s *Schema) collect(root *jsonschema.ValidationError, doc any) []FieldError {
	leaves := s.sorted(flatten(root, doc))
	out := make([]FieldError, 0, len(leaves))
	seen := map[FieldError]bool{}
	for _, l := range leaves {
		fe := FieldError{Field: pointer(l.loc), Message: sentence(l.loc, l.msg, doc)}
		if !seen[fe] {
			seen[fe] = true
			out = append(out, fe)
		}
	}
	return out
}

// sorted orders leaves by the schema position of their top-level property
// (properties the schema does not list come after, by name), then by the
// rest of the location (array indices numerically), then by message.
func (s *Schema) sorted(leaves []leaf) []leaf {
	rank := func(l leaf) int {
		if len(l.loc) == 0 {
			return -1 // whole-document problems first
		}
		if i, ok := s.order[l.loc[0]]; ok {
			return i
		}
		return len(s.order)
	}
	slices.SortStableFunc(leaves, func(a, b leaf) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		for i := 0; i < len(a.loc) && i < len(b.loc); i++ {
			if c := compareToken(a.loc[i], b.loc[i]); c != 0 {
				return c
			}
		}
		if len(a.loc) != len(b.loc) {
			return len(a.loc) - len(b.loc)
		}
		return strings.Compare(a.msg, b.msg)
	})
	return leaves
}

func compareToken(a, b string) int {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	if aerr == nil && berr == nil {
		return ai - bi
	}
	return strings.Compare(a, b)
}

// flatten walks the error tree down to the violations a person can act on.
func flatten(e *jsonschema.ValidationError, doc any) []leaf {
	loc := e.InstanceLocation
	at := func(extra string) []string { return append(slices.Clone(loc), extra) }
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		var out []leaf
		for _, c := range e.Causes {
			out = append(out, flatten(c, doc)...)
		}
		if len(out) == 0 {
			out = append(out, leaf{loc, "does not match the schema"})
		}
		return out
	case *kind.AnyOf:
		return []leaf{{loc, alternatives(e, doc)}}
	case *kind.OneOf:
		if len(k.Subschemas) == 2 {
			return []leaf{{loc, fmt.Sprintf("must match exactly one of the allowed forms, but matches forms %d and %d", k.Subschemas[0]+1, k.Subschemas[1]+1)}}
		}
		return []leaf{{loc, alternatives(e, doc)}}
	case *kind.Required:
		var out []leaf
		for _, m := range k.Missing {
			out = append(out, leaf{at(m), "is required"})
		}
		return out
	case *kind.DependentRequired:
		var out []leaf
		for _, m := range k.Missing {
			out = append(out, leaf{at(m), fmt.Sprintf("is required when %s is set", fieldName(at(k.Prop), doc))})
		}
		return out
	case *kind.Dependency:
		var out []leaf
		for _, m := range k.Missing {
			out = append(out, leaf{at(m), fmt.Sprintf("is required when %s is set", fieldName(at(k.Prop), doc))})
		}
		return out
	case *kind.AdditionalProperties:
		var out []leaf
		for _, p := range k.Properties {
			out = append(out, leaf{at(p), "is not allowed"})
		}
		return out
	default:
		return []leaf{{loc, describe(e.ErrorKind)}}
	}
}

// alternatives describes a failed anyOf/oneOf by the first problem of each
// alternative.
func alternatives(e *jsonschema.ValidationError, doc any) string {
	var parts []string
	for _, c := range e.Causes {
		leaves := flatten(c, doc)
		if len(leaves) == 0 {
			continue
		}
		(&Schema{}).sorted(leaves)
		l := leaves[0]
		msg := l.msg
		if len(l.loc) > len(e.InstanceLocation) {
			msg = sentence(l.loc, l.msg, doc)
		}
		if !slices.Contains(parts, msg) {
			parts = append(parts, msg)
		}
	}
	if len(parts) == 0 {
		return "does not match any of the allowed forms"
	}
	return "does not match any of the allowed forms (" + strings.Join(parts, "; or ") + ")"
}

// describe writes the message for one leaf kind.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = article(w)
		}
		return fmt.Sprintf("must be %s, not %s", strings.Join(want, " or "), article(k.Got))
	case *kind.Enum:
		if len(k.Want) == 1 {
			return "must be " + jsonText(k.Want[0])
		}
		vals := make([]string, len(k.Want))
		for i, w := range k.Want {
			vals[i] = jsonText(w)
		}
		return "must be one of " + strings.Join(vals, ", ")
	case *kind.Const:
		return "must be " + jsonText(k.Want)
	case *kind.Format:
		return "must be a valid " + k.Want
	case *kind.Minimum:
		return "must be >= " + ratText(k.Want)
	case *kind.Maximum:
		return "must be <= " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratText(k.Want)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratText(k.Want)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.Pattern:
		return "must match the pattern " + strconv.Quote(k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d %s", k.Want, plural(k.Want, "item"))
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d %s", k.Want, plural(k.Want, "item"))
	case *kind.AdditionalItems:
		return fmt.Sprintf("has %d %s too many", k.Count, plural(k.Count, "item"))
	case *kind.UniqueItems:
		return fmt.Sprintf("must not hold equal items (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "must contain at least one matching item"
	case *kind.MinContains:
		return fmt.Sprintf("must contain at least %d matching %s", k.Want, plural(k.Want, "item"))
	case *kind.MaxContains:
		return fmt.Sprintf("must contain at most %d matching %s", k.Want, plural(k.Want, "item"))
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d %s", k.Want, plural(k.Want, "property"))
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d %s", k.Want, plural(k.Want, "property"))
	case *kind.PropertyNames:
		return fmt.Sprintf("has a property name that is not allowed: %q", k.Property)
	case *kind.FalseSchema:
		return "is not allowed"
	case *kind.Not:
		return "must not match the excluded form"
	case *kind.ContentEncoding:
		return "must be " + k.Want + " encoded"
	case *kind.ContentMediaType:
		return "must be of media type " + k.Want
	default:
		return "does not match the schema (" + strings.Join(k.KeywordPath(), "/") + ")"
	}
}

func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "integer", "object", "array":
		return "an " + t
	default:
		return "a " + t
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	if strings.HasSuffix(word, "y") {
		return strings.TrimSuffix(word, "y") + "ies"
	}
	return word + "s"
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sentence puts the field name before msg: "replicas: must be >= 0", and
// "image is required" for messages that read as a predicate.
func sentence(loc []string, msg string, doc any) string {
	if strings.HasPrefix(msg, "is ") {
		return fieldName(loc, doc) + " " + msg
	}
	return fieldName(loc, doc) + ": " + msg
}

// pointer encodes location tokens as a JSON Pointer (RFC 6901).
func pointer(loc []string) string {
	var sb strings.Builder
	for _, t := range loc {
		sb.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		sb.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return sb.String()
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// fieldName writes a location for people: env[0].name. It walks doc to tell
// array indices from object keys that look like numbers.
func fieldName(loc []string, doc any) string {
	if len(loc) == 0 {
		return "document"
	}
	var sb strings.Builder
	cur := doc
	for i, t := range loc {
		arr, isArr := cur.([]any)
		switch {
		case isArr:
			fmt.Fprintf(&sb, "[%s]", t)
			cur = nil
			if n, err := strconv.Atoi(t); err == nil && n >= 0 && n < len(arr) {
				cur = arr[n]
			}
			continue
		case plainKey.MatchString(t):
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(t)
		default:
			fmt.Fprintf(&sb, "[%s]", strconv.Quote(t))
		}
		if obj, ok := cur.(map[string]any); ok {
			cur = obj[t]
		} else {
			cur = nil
		}
	}
	return sb.String()
}

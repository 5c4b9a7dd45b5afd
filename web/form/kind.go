package form

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/wharfhq/wharf/host/schema"
)

// subschema holds the bits of a property's schema that choose the widget.
type subschema struct {
	Type                 any             `json:"type"`
	Properties           map[string]any  `json:"properties"`
	AdditionalProperties json.RawMessage `json:"additionalProperties"`
	Items                json.RawMessage `json:"items"`
	Minimum              *float64        `json:"minimum"`
	Maximum              *float64        `json:"maximum"`
	Choices              bool            `json:"x-choices"`
}

func typeOf(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

// isStringSchema reports whether raw is a plain string schema (no enum).
func isStringSchema(raw json.RawMessage) bool {
	var s struct {
		Type any   `json:"type"`
		Enum []any `json:"enum"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return typeOf(s.Type) == "string" && len(s.Enum) == 0
}

// closedObject returns the properties of an object schema that lists its
// properties and allows no others (so a form of sub-fields loses nothing).
func closedObject(raw json.RawMessage) ([]schema.Property, bool) {
	var sub subschema
	if json.Unmarshal(raw, &sub) != nil || typeOf(sub.Type) != "object" || len(sub.Properties) == 0 ||
		string(bytes.TrimSpace(sub.AdditionalProperties)) != "false" {
		return nil, false
	}
	s, err := Compile(raw)
	if err != nil { // e.g. a $ref into the parent schema: JSON it is
		return nil, false
	}
	return s.Properties(), true
}

func isScalarKind(k string) bool {
	switch k {
	case KindText, KindInteger, KindNumber, KindBool, KindSelect:
		return true
	}
	return false
}

// kindOf picks the widget for a property at depth (0 = top level); for
// groups and rows it also returns the sub-properties.
func kindOf(p schema.Property, depth int) (string, subschema, []schema.Property) {
	var sub subschema
	_ = json.Unmarshal(p.Schema, &sub)
	switch p.Type {
	case "string":
		switch {
		case p.Secret && depth == 0: // only top-level secrets are kept write-only
			return KindSecret, sub, nil
		case len(p.Enum) > 0:
			return KindSelect, sub, nil
		}
		return KindText, sub, nil
	case "integer":
		if len(p.Enum) > 0 {
			return KindSelect, sub, nil
		}
		return KindInteger, sub, nil
	case "number":
		if len(p.Enum) > 0 {
			return KindSelect, sub, nil
		}
		return KindNumber, sub, nil
	case "boolean":
		return KindBool, sub, nil
	case "object":
		ap := bytes.TrimSpace(sub.AdditionalProperties)
		if len(sub.Properties) == 0 && (len(ap) == 0 || string(ap) == "true" || isStringSchema(ap)) {
			return KindKV, sub, nil
		}
		if depth < maxDepth {
			if props, ok := closedObject(p.Schema); ok {
				return KindGroup, sub, props
			}
		}
	case "array":
		if isStringSchema(sub.Items) {
			return KindLines, sub, nil
		}
		if depth < maxDepth {
			if props, ok := closedObject(sub.Items); ok && !slices.ContainsFunc(props, func(c schema.Property) bool {
				k, _, _ := kindOf(c, depth+1)
				return !isScalarKind(k)
			}) {
				return KindRows, sub, props
			}
		}
	}
	return KindJSON, sub, nil
}

func enumString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

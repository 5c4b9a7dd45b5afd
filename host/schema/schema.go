// Package schema compiles the JSON Schemas plugins publish (a connection's
// config schema, a service's spec schema, an action's params schema),
// validates documents against them with errors that name the offending field
// as a JSON Pointer, and knows the Wharf annotations "x-secret" and
// "x-endpoint" on top-level properties.
//
// Validation is done by github.com/santhosh-tekuri/jsonschema/v6: it is
// maintained, passes the official test suite for every draft up to 2020-12,
// and reports each violation with its instance location and a typed kind,
// from which this package writes its own readable messages.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wharfhq/wharf/pluginapi"
)

// Annotations Wharf reads on top-level properties of a config schema.
const (
	// KeySecret marks a property whose value is a secret: stored by the host,
	// never shown back and never passed to the plugin.
	KeySecret = "x-secret"
	// KeyEndpoint marks a property holding a base URL the plugin may reach.
	KeyEndpoint = "x-endpoint"
	// KeyGroup names the form section a top-level property is drawn in
	// (ABI 1.5); properties without one are the form's basics, first.
	KeyGroup = "x-group"
	// KeyOrder orders top-level properties in forms (ABI 1.5): ascending,
	// those without one after, in schema order.
	KeyOrder = "x-order"
)

// anyObject is the schema used when a plugin publishes none.
var anyObject = json.RawMessage(`{"type":"object"}`)

// resourceURL is where the compiled document lives for the compiler; it is
// never fetched.
const resourceURL = "wharf:///schema.json"

// Schema is a compiled JSON Schema plus what Wharf reads from its top-level
// properties. It is safe for concurrent use.
type Schema struct {
	raw      json.RawMessage
	compiled *jsonschema.Schema
	props    []Property
	order    map[string]int // top-level property name → position in the schema
}

// Property describes one top-level property of a schema, in the order the
// schema's "properties" object lists them. The web portal draws forms from it.
type Property struct {
	Name string `json:"name"`
	// Type is the JSON type ("string", "integer", ...); for a list of types
	// the first one that is not "null"; "" when the schema does not say.
	Type        string          `json:"type,omitempty"`
	Format      string          `json:"format,omitempty"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description,omitempty"`
	Enum        []any           `json:"enum,omitempty"`
	Default     json.RawMessage `json:"default,omitempty"`
	Required    bool            `json:"required,omitempty"`
	Secret      bool            `json:"secret,omitempty"`
	Endpoint    bool            `json:"endpoint,omitempty"`
	// Group and Order place the property in forms (x-group, x-order).
	Group string `json:"group,omitempty"`
	Order *int   `json:"order,omitempty"`
	// Schema is the property's own subschema, for drawing nested fields.
	Schema json.RawMessage `json:"schema,omitempty"`
}

// Compile compiles raw as a JSON Schema, draft 2020-12 unless it says
// otherwise with "$schema". A nil or empty schema ("", null or {}) means
// "any object". References to other documents are refused: a plugin's schema
// must be self-contained, and the host must not read files or URLs for it.
// Format assertions are on, so "format": "uri" and friends are checked.
// The error is a *pluginapi.Error with code invalid.
func Compile(raw json.RawMessage) (*Schema, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) || isEmptyObject(trimmed) {
		trimmed = anyObject
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "schema is not valid JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "invalid schema: %v", err)
	}
	compiled, err := c.Compile(resourceURL)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInvalid, "invalid schema: %v", err)
	}
	s := &Schema{raw: slices.Clone(trimmed), compiled: compiled}
	if s.props, err = readProperties(trimmed); err != nil {
		return nil, err
	}
	s.order = make(map[string]int, len(s.props))
	for i, p := range s.props {
		s.order[p.Name] = i
	}
	return s, nil
}

func isEmptyObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil && len(m) == 0
}

// refuseLoader stops "$ref" from reaching files or the network.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errors.New("external references are not allowed; a plugin schema must be self-contained")
}

// Raw returns the schema as compiled (the "any object" schema when the plugin
// published none).
func (s *Schema) Raw() json.RawMessage { return slices.Clone(s.raw) }

// Properties lists the top-level properties in schema order.
func (s *Schema) Properties() []Property {
	out := make([]Property, len(s.props))
	for i, p := range s.props {
		out[i] = p
		out[i].Enum = slices.Clone(p.Enum)
		out[i].Default = slices.Clone(p.Default)
		out[i].Schema = slices.Clone(p.Schema)
	}
	return out
}

// SecretFields returns the top-level properties marked "x-secret": true, in
// schema order.
func (s *Schema) SecretFields() []string {
	var out []string
	for _, p := range s.props {
		if p.Secret {
			out = append(out, p.Name)
		}
	}
	return out
}

// EndpointFields returns the top-level properties marked "x-endpoint": true,
// in schema order.
func (s *Schema) EndpointFields() []string {
	var out []string
	for _, p := range s.props {
		if p.Endpoint {
			out = append(out, p.Name)
		}
	}
	return out
}

// Validate checks doc against the schema. Malformed JSON and violations
// answer a *pluginapi.Error with code invalid; for violations Field is the
// JSON Pointer of the first one (in schema order of the top-level
// properties, then by location) and Detail["errors"] lists them all as
// []FieldError.
func (s *Schema) Validate(doc json.RawMessage) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return pluginapi.Errorf(pluginapi.CodeInvalid, "request body is not valid JSON: %v", err)
	}
	err = s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return pluginapi.Errorf(pluginapi.CodeInvalid, "validation failed: %v", err)
	}
	list := s.collect(verr, v)
	if len(list) == 0 { // cannot happen, but never answer an empty error
		return pluginapi.Errorf(pluginapi.CodeInvalid, "document does not match the schema")
	}
	first := list[0]
	return &pluginapi.Error{
		Code:    pluginapi.CodeInvalid,
		Field:   first.Field,
		Message: first.Message,
		Detail:  map[string]any{"errors": list},
	}
}

// FieldError is one violation in Detail["errors"].
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

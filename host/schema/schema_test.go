package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

const specSchema = `{
  "type": "object",
  "required": ["name", "image"],
  "properties": {
    "name": {"type": "string", "minLength": 1, "pattern": "^[a-z][a-z0-9-]*$"},
    "image": {"type": "string", "title": "Image"},
    "replicas": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
    "env": {"type": "array", "items": {
      "type": "object", "required": ["name"],
      "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
      "additionalProperties": false}},
    "ports": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0, "maximum": 65535},
      "uniqueItems": true, "maxItems": 3},
    "mode": {"enum": ["replicated", "global"]},
    "restart": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+s$"}]},
    "url": {"type": "string", "format": "uri"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number", "multipleOf": 0.5}}}
  },
  "additionalProperties": false
}`

func mustCompile(t *testing.T, raw string) *Schema {
	t.Helper()
	s, err := Compile(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// invalid asserts err is an invalid *pluginapi.Error and returns it.
func invalid(t *testing.T, err error) *pluginapi.Error {
	t.Helper()
	var pe *pluginapi.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pluginapi.Error", err, err)
	}
	if pe.Code != pluginapi.CodeInvalid {
		t.Fatalf("code = %q, want invalid (%v)", pe.Code, pe)
	}
	return pe
}

func TestValidateMessages(t *testing.T) {
	s := mustCompile(t, specSchema)
	cases := []struct {
		name      string
		doc       string
		field     string
		message   string
		allFields []string // every Detail["errors"] field, in order; nil = just the first
	}{
		{"minimum", `{"name":"web","image":"nginx","replicas":-1}`, "/replicas", "replicas: must be >= 0", nil},
		{"maximum", `{"name":"web","image":"nginx","replicas":101}`, "/replicas", "replicas: must be <= 100", nil},
		{"type", `{"name":"web","image":"nginx","replicas":"3"}`, "/replicas", "replicas: must be an integer, not a string", nil},
		{"required", `{"name":"web"}`, "/image", "image is required", nil},
		{"two required in schema order", `{}`, "/name", "name is required", []string{"/name", "/image"}},
		{"nested required", `{"name":"web","image":"nginx","env":[{"value":"x"}]}`, "/env/0/name", "env[0].name is required", nil},
		{"nested type", `{"name":"web","image":"nginx","env":[{"name":"A"},{"name":"B","value":2}]}`, "/env/1/value", "env[1].value: must be a string, not a number", nil},
		{"nested unknown property", `{"name":"web","image":"nginx","env":[{"name":"A","x":1}]}`, "/env/0/x", "env[0].x is not allowed", nil},
		{"unknown top-level property", `{"name":"web","image":"nginx","foo":1}`, "/foo", "foo is not allowed", nil},
		{"array item bound", `{"name":"web","image":"nginx","ports":[0]}`, "/ports/0", "ports[0]: must be > 0", nil},
		{"unique items", `{"name":"web","image":"nginx","ports":[80,80]}`, "/ports", "ports: must not hold equal items (items 0 and 1 are equal)", nil},
		{"max items", `{"name":"web","image":"nginx","ports":[1,2,3,4]}`, "/ports", "ports: must have at most 3 items", nil},
		{"enum", `{"name":"web","image":"nginx","mode":"x"}`, "/mode", `mode: must be one of "replicated", "global"`, nil},
		{"anyOf", `{"name":"web","image":"nginx","restart":true}`, "/restart",
			"restart: does not match any of the allowed forms (must be an integer, not a boolean; or must be a string, not a boolean)", nil},
		{"format", `{"name":"web","image":"nginx","url":"::not a uri"}`, "/url", "url: must be a valid uri", nil},
		{"map value", `{"name":"web","image":"nginx","labels":{"app":5}}`, "/labels/app", "labels.app: must be a string, not a number", nil},
		{"numeric-looking key is a key", `{"name":"web","image":"nginx","labels":{"0":5}}`, "/labels/0", `labels["0"]: must be a string, not a number`, nil},
		{"slash in key", `{"name":"web","image":"nginx","labels":{"a/b":5}}`, "/labels/a~1b", `labels["a/b"]: must be a string, not a number`, nil},
		{"nested arrays", `{"name":"web","image":"nginx","matrix":[[1],[0.5,0.7]]}`, "/matrix/1/1", "matrix[1][1]: must be a multiple of 0.5", nil},
		{"pattern", `{"name":"Web","image":"nginx"}`, "/name", `name: must match the pattern "^[a-z][a-z0-9-]*$"`, nil},
		{"empty string", `{"name":"","image":"nginx"}`, "/name", `name: must match the pattern "^[a-z][a-z0-9-]*$"`, []string{"/name", "/name"}},
		{"root type", `[1,2]`, "", "document: must be an object, not an array", nil},
		{"several, schema order then location", `{"ports":[0,-1],"replicas":-5,"image":3,"env":[{},{}]}`, "/name", "name is required",
			[]string{"/name", "/image", "/replicas", "/env/0/name", "/env/1/name", "/ports/0", "/ports/1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(json.RawMessage(tc.doc))
			if err == nil {
				t.Fatal("Validate accepted the document")
			}
			pe := invalid(t, err)
			if pe.Field != tc.field || pe.Message != tc.message {
				t.Errorf("got field %q message %q\nwant field %q message %q", pe.Field, pe.Message, tc.field, tc.message)
			}
			list, ok := pe.Detail["errors"].([]FieldError)
			if !ok || len(list) == 0 {
				t.Fatalf("Detail[errors] = %#v", pe.Detail["errors"])
			}
			if list[0].Field != pe.Field || list[0].Message != pe.Message {
				t.Errorf("first detail %v differs from the error", list[0])
			}
			if tc.allFields != nil {
				var got []string
				for _, fe := range list {
					got = append(got, fe.Field)
				}
				if !reflect.DeepEqual(got, tc.allFields) {
					t.Errorf("detail fields = %q, want %q (%v)", got, tc.allFields, list)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	s := mustCompile(t, specSchema)
	for _, doc := range []string{
		`{"name":"web","image":"nginx"}`,
		`{"name":"web","image":"nginx","replicas":0,"env":[{"name":"A","value":"1"}],"ports":[80,443],
		  "mode":"global","restart":"10s","url":"https://example.com/x","labels":{"a":"b"},"matrix":[[1.5,2]]}`,
	} {
		if err := s.Validate(json.RawMessage(doc)); err != nil {
			t.Errorf("Validate(%s) = %v", doc, err)
		}
	}
}

func TestValidateDeterministic(t *testing.T) {
	s := mustCompile(t, specSchema)
	doc := json.RawMessage(`{"zeta":1,"alpha":2,"replicas":-1,"mode":"x","labels":{"b":1,"a":2,"c":3},"env":[{"q":1,"p":2}]}`)
	first := invalid(t, s.Validate(doc)).Detail["errors"]
	for i := 0; i < 30; i++ {
		got := invalid(t, s.Validate(doc)).Detail["errors"]
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("run %d: %v\nfirst: %v", i, got, first)
		}
	}
	// Unknown properties come after the schema's, by name.
	list := first.([]FieldError)
	last := list[len(list)-2:]
	if last[0].Field != "/alpha" || last[1].Field != "/zeta" {
		t.Errorf("unknown properties last: %v", list)
	}
}

func TestValidateMalformed(t *testing.T) {
	s := mustCompile(t, specSchema)
	for _, doc := range []string{`{"name":`, `{} {}`, ``, `{'a':1}`} {
		pe := invalid(t, s.Validate(json.RawMessage(doc)))
		if !strings.HasPrefix(pe.Message, "request body is not valid JSON: ") {
			t.Errorf("Validate(%q) message = %q", doc, pe.Message)
		}
	}
}

const configSchema = `{
  "type": "object",
  "required": ["endpoint"],
  "properties": {
    "endpoint": {"type": "string", "title": "Endpoint", "x-endpoint": true, "format": "uri"},
    "token": {"type": "string", "x-secret": true, "pattern": "^tok_"},
    "region": {"type": "string", "default": "us-east-1", "enum": ["us-east-1", "eu-west-1"]},
    "secret_key": {"type": ["string", "null"], "x-secret": true, "description": "AWS secret"},
    "logs_endpoint": {"type": "string", "x-endpoint": true, "x-secret": false}
  }
}`

func TestSecretAndEndpointFields(t *testing.T) {
	s := mustCompile(t, configSchema)
	if got, want := s.SecretFields(), []string{"token", "secret_key"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SecretFields = %q, want %q", got, want)
	}
	if got, want := s.EndpointFields(), []string{"endpoint", "logs_endpoint"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EndpointFields = %q, want %q", got, want)
	}
	if err := s.Validate(json.RawMessage(`{"endpoint":"unix:///var/run/docker.sock","token":"tok_1"}`)); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestMessagesNeverQuoteValues(t *testing.T) {
	s := mustCompile(t, configSchema)
	const secret = "hunter2-very-secret"
	docs := []string{
		`{"endpoint":"https://x","token":"` + secret + `"}`,
		`{"endpoint":"https://x","region":"` + secret + `"}`,
		`{"endpoint":"` + secret + ` not a uri"}`,
	}
	for _, doc := range docs {
		pe := invalid(t, s.Validate(json.RawMessage(doc)))
		b, _ := json.Marshal(pe)
		if strings.Contains(string(b), secret) {
			t.Errorf("error leaks the value: %s", b)
		}
	}
}

func TestAnnotationMustBeBoolean(t *testing.T) {
	_, err := Compile(json.RawMessage(`{"properties":{"token":{"type":"string","x-secret":"yes"}}}`))
	pe := invalid(t, err)
	if pe.Field != "/properties/token/x-secret" {
		t.Errorf("field = %q", pe.Field)
	}
}

func TestCompileEmptyMeansAnyObject(t *testing.T) {
	for _, raw := range []string{``, `null`, ` {} `} {
		s := mustCompile(t, raw)
		if err := s.Validate(json.RawMessage(`{"anything":[1,{"x":null}]}`)); err != nil {
			t.Errorf("schema %q rejected an object: %v", raw, err)
		}
		pe := invalid(t, s.Validate(json.RawMessage(`"text"`)))
		if pe.Message != "document: must be an object, not a string" {
			t.Errorf("schema %q: %q", raw, pe.Message)
		}
		if len(s.SecretFields()) != 0 || len(s.Properties()) != 0 {
			t.Errorf("schema %q has fields", raw)
		}
		if string(s.Raw()) != `{"type":"object"}` {
			t.Errorf("Raw = %s", s.Raw())
		}
	}
	if _, err := Compile(nil); err != nil {
		t.Errorf("Compile(nil): %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"type":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		`{"type":"nope"}`,
		`{"type":`,
		`{"minimum":"zero"}`,
		`{"$ref":"file://` + other + `"}`,
		`{"$ref":"https://example.com/schema.json"}`,
		`{"$ref":"#/$defs/missing"}`,
	} {
		if _, err := Compile(json.RawMessage(raw)); err == nil {
			t.Errorf("Compile(%s) accepted it", raw)
		} else {
			invalid(t, err)
		}
	}
}

func TestCompileOtherDraftAndLocalRefs(t *testing.T) {
	s := mustCompile(t, `{
	  "$schema": "http://json-schema.org/draft-07/schema#",
	  "definitions": {"port": {"type": "integer", "minimum": 1}},
	  "properties": {"port": {"$ref": "#/definitions/port"}, "host": {"type": "string"}},
	  "dependencies": {"port": ["host"]}
	}`)
	pe := invalid(t, s.Validate(json.RawMessage(`{"port":0}`)))
	list := pe.Detail["errors"].([]FieldError)
	want := []FieldError{
		{Field: "/port", Message: "port: must be >= 1"},
		{Field: "/host", Message: "host is required when port is set"},
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("errors = %v, want %v", list, want)
	}
}

func TestProperties(t *testing.T) {
	s := mustCompile(t, configSchema)
	props := s.Properties()
	var names []string
	for _, p := range props {
		names = append(names, p.Name)
	}
	if want := []string{"endpoint", "token", "region", "secret_key", "logs_endpoint"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("order = %q, want %q", names, want)
	}
	ep, tok, reg, sk := props[0], props[1], props[2], props[3]
	if !ep.Endpoint || ep.Secret || !ep.Required || ep.Title != "Endpoint" || ep.Type != "string" || ep.Format != "uri" {
		t.Errorf("endpoint = %+v", ep)
	}
	if !tok.Secret || tok.Required {
		t.Errorf("token = %+v", tok)
	}
	if string(reg.Default) != `"us-east-1"` || !reflect.DeepEqual(reg.Enum, []any{"us-east-1", "eu-west-1"}) {
		t.Errorf("region = %+v", reg)
	}
	if sk.Type != "string" || sk.Description != "AWS secret" || !sk.Secret {
		t.Errorf("secret_key = %+v", sk)
	}
	// Order is the schema's, not alphabetical, even when reversed.
	rev := mustCompile(t, `{"properties":{"zeta":{},"mid":true,"alpha":{"type":"integer"}}}`)
	names = nil
	for _, p := range rev.Properties() {
		names = append(names, p.Name)
	}
	if want := []string{"zeta", "mid", "alpha"}; !reflect.DeepEqual(names, want) {
		t.Errorf("order = %q, want %q", names, want)
	}
	// Callers cannot change the schema through the returned slices.
	props[2].Default[1] = 'X'
	if string(s.Properties()[2].Default) != `"us-east-1"` {
		t.Error("Properties shares memory with the schema")
	}
}

func TestRedactAndStrip(t *testing.T) {
	doc := json.RawMessage(`{"endpoint":"https://x","token":"abc","nested":{"token":"keep"},"secret_key":null,"n":[1]}`)
	secrets := []string{"token", "secret_key"}

	red := Redact(doc, secrets)
	if want := `{"endpoint":"https://x","token":"********","nested":{"token":"keep"},"secret_key":null,"n":[1]}`; string(red) != want {
		t.Errorf("Redact = %s\nwant     %s", red, want)
	}
	stripped := StripSecrets(doc, secrets)
	if want := `{"endpoint":"https://x","nested":{"token":"keep"},"n":[1]}`; string(stripped) != want {
		t.Errorf("StripSecrets = %s\nwant           %s", stripped, want)
	}
	// A repeated key is handled every time it appears.
	dup := json.RawMessage(`{"token":"a","token":"b"}`)
	if got := Redact(dup, secrets); strings.Contains(string(got), `"a"`) || strings.Contains(string(got), `"b"`) {
		t.Errorf("Redact(dup) = %s", got)
	}
	if got := StripSecrets(dup, secrets); string(got) != `{}` {
		t.Errorf("StripSecrets(dup) = %s", got)
	}
	// Malformed JSON cannot be shown safely.
	for _, bad := range []string{`{"token":"abc"`, `{"token":"abc"} x`, ``} {
		if got := Redact(json.RawMessage(bad), secrets); got != nil {
			t.Errorf("Redact(%q) = %s, want nil", bad, got)
		}
		if got := StripSecrets(json.RawMessage(bad), secrets); got != nil {
			t.Errorf("StripSecrets(%q) = %s, want nil", bad, got)
		}
	}
	// Valid non-objects have no top-level keys to hide.
	if got := Redact(json.RawMessage(`[1,"token"]`), secrets); string(got) != `[1,"token"]` {
		t.Errorf("Redact(array) = %s", got)
	}
	// The input is not modified.
	if !strings.Contains(string(doc), `"abc"`) {
		t.Error("Redact modified its input")
	}
}

func TestDefaults(t *testing.T) {
	s := mustCompile(t, specSchema)
	cases := []struct{ in, want string }{
		{`{"name":"web"}`, `{"name":"web","replicas":1}`},
		{`{"replicas":3,"name":"web"}`, `{"replicas":3,"name":"web"}`},
		{`[1]`, `[1]`},
		{`{"broken"`, `{"broken"`},
	}
	for _, tc := range cases {
		if got := s.Defaults(json.RawMessage(tc.in)); string(got) != tc.want {
			t.Errorf("Defaults(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// x-group and x-order (ABI 1.5) are read from top-level properties;
// anything but a short title and a bounded integer is refused naming it.
func TestLayoutAnnotations(t *testing.T) {
	s := mustCompile(t, `{"properties":{"a":{"type":"string","x-order":2},"b":{"x-group":"Resources","x-order":-1},"c":{}}}`)
	props := s.Properties()
	if props[0].Order == nil || *props[0].Order != 2 || props[0].Group != "" {
		t.Errorf("a = %+v", props[0])
	}
	if props[1].Order == nil || *props[1].Order != -1 || props[1].Group != "Resources" {
		t.Errorf("b = %+v", props[1])
	}
	if props[2].Order != nil || props[2].Group != "" {
		t.Errorf("c = %+v", props[2])
	}
	for raw, field := range map[string]string{
		`{"properties":{"a":{"x-group":3}}}`:                                 "/properties/a/x-group",
		`{"properties":{"a":{"x-group":""}}}`:                                "/properties/a/x-group",
		`{"properties":{"a":{"x-group":" Resources"}}}`:                      "/properties/a/x-group",
		`{"properties":{"a":{"x-group":"` + strings.Repeat("x", 41) + `"}}}`: "/properties/a/x-group",
		`{"properties":{"a":{"x-order":1.5}}}`:                               "/properties/a/x-order",
		`{"properties":{"a":{"x-order":"1"}}}`:                               "/properties/a/x-order",
		`{"properties":{"a":{"x-order":100000}}}`:                            "/properties/a/x-order",
	} {
		_, err := Compile(json.RawMessage(raw))
		var pe *pluginapi.Error
		if !errors.As(err, &pe) || pe.Code != pluginapi.CodeInvalid || pe.Field != field {
			t.Errorf("Compile(%s) = %v, want invalid at %s", raw, err, field)
		}
	}
}

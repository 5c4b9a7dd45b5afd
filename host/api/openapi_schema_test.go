package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/pluginapi"
)

// schemaTypes names the Go type each component schema of openapi.json
// documents: the value the API encodes (or, for the inputs, decodes).
var schemaTypes = map[string]any{
	"Error":           pluginapi.Error{},
	"ErrorBody":       api.ErrorBody{},
	"Describe":        pluginapi.DescribeResponse{},
	"Action":          pluginapi.Action{},
	"Plugin":          ops.PluginInfo{},
	"PluginSignature": plugintrust.Verdict{},
	"PluginProblem":   ops.PluginProblem{},
	"PluginChange":    ops.PluginChange{},
	"Connection":      ops.Connection{},
	"Failing":         ops.Failing{},
	"Health":          ops.Health{},
	"FailurePolicy":   ops.FailurePolicyView{},
	"ConnectionInput": ops.ConnectionInput{},
	"TestResult":      ops.TestResult{},
	"Service":         pluginapi.Service{},
	"ConnService":     ops.ConnService{},
	"ServicePage":     ops.ServicePage{},
	"AllServicesPage": ops.AllServicesPage{},
	"ServiceResult":   ops.ServiceResult{},
	"Instance":        pluginapi.Instance{},
	"InstancePage":    ops.InstancePage{},
	"ChoicesResult":   ops.ChoicesResult{},
	"Choice":          pluginapi.Choice{},
	"Deployment":      pluginapi.Deployment{},
	"DeploymentPage":  ops.DeploymentPage{},
	"Timeline":        ops.Timeline{},
	"TimelineItem":    ops.TimelineItem{},
	"LogEntry":        pluginapi.LogEntry{},
	"LogsPage":        ops.LogsPage{},
	"LogItem":         logfanout.Item{},
	"InvokeInput":     ops.InvokeInput{},
	"InvokeResult":    ops.InvokeResult{},
	"AuditEntry":      audit.Entry{},
	"VerifyReport":    audit.VerifyReport{},
	// Identity (host/api/identity.go).
	"Me":           auth.Me{},
	"Token":        identity.Token{},
	"NewToken":     auth.NewToken{},
	"TokenRequest": auth.TokenRequest{},
	"Grant":        access.Grant{},
	"Scope":        access.Scope{}, // its own MarshalJSON: the schema's oneOf forms are not compared
	"Role":         access.Role(""),
	"Subject":      access.Subject(""),
	"Binding":      access.Binding{},
	"Session":      identity.Session{},
	"User":         identity.User{},
	// Webhooks (host/api/webhooks.go); the payload is what receivers get.
	"Webhook":         webhooks.View{},
	"WebhookDelivery": webhooks.Delivery{},
	"WebhookPayload":  webhooks.Payload{},
}

// loadOpenAPI parses and validates the embedded document, $refs resolved.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// TestOpenAPISchemasMatchGoTypes fails when a field the API encodes is
// missing from the document's schema for its type, a schema property has
// no field, or the two disagree on the JSON type.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	var names []string
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := schemaTypes[name]
		if !ok {
			t.Errorf("schema %s: no Go type named for it in schemaTypes", name)
			continue
		}
		c := &schemaChecker{seen: map[schemaVisit]bool{}}
		c.check(name, reflect.TypeOf(v), doc.Components.Schemas[name].Value)
		for _, p := range c.problems {
			t.Errorf("%s", p)
		}
	}
	for name := range schemaTypes {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("schemaTypes names %s, which openapi.json does not define", name)
		}
	}
}

// TestSchemaCheckerCatchesDrift shows the checker fails on each kind of
// drift it is meant to find.
func TestSchemaCheckerCatchesDrift(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type goType struct {
		A     string            `json:"a"`
		B     []inner           `json:"b,omitempty"`
		M     map[string]string `json:"m"`
		T     *time.Time        `json:"t"`
		Raw   json.RawMessage   `json:"raw"`
		Skip  string            `json:"-"`
		local string
	}
	_ = goType{}.local
	good := `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer"}}}},
		"m":{"type":"object","additionalProperties":{"type":"string"}},"t":{"type":"string","format":"date-time"},"raw":{}}}`
	cases := []struct{ name, schema, want string }{
		{"matches", good, ""},
		{"field missing", strings.Replace(good, `"a":{"type":"string"},`, "", 1), "x.a: the Go type encodes it but the schema has no such property"},
		{"property without field", strings.Replace(good, `"raw":{}`, `"raw":{},"gone":{"type":"string"}`, 1), "x.gone: a schema property the Go type has no field for"},
		{"wrong type", strings.Replace(good, `"a":{"type":"string"}`, `"a":{"type":"integer"}`, 1), "x.a: Go string is JSON string, the schema says integer"},
		{"nested field missing", strings.Replace(good, `"n":{"type":"integer"}`, ``, 1), "x.b[].n: the Go type encodes it"},
		{"map value type", strings.Replace(good, `"additionalProperties":{"type":"string"}`, `"additionalProperties":{"type":"boolean"}`, 1), "x.m{}: Go string is JSON string"},
	}
	for _, tc := range cases {
		var s openapi3.Schema
		if err := json.Unmarshal([]byte(tc.schema), &s); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c := &schemaChecker{seen: map[schemaVisit]bool{}}
		c.check("x", reflect.TypeOf(goType{}), &s)
		got := strings.Join(c.problems, "\n")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

// schemaChecker compares a Go type with a schema, collecting problems.
type schemaChecker struct {
	problems []string
	seen     map[schemaVisit]bool
}

type schemaVisit struct {
	t reflect.Type
	s *openapi3.Schema
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func (c *schemaChecker) fail(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

func (c *schemaChecker) check(path string, t reflect.Type, s *openapi3.Schema) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s == nil || c.seen[schemaVisit{t, s}] {
		return
	}
	c.seen[schemaVisit{t, s}] = true
	if t == rawType || t.Kind() == reflect.Interface {
		return // any JSON value
	}
	want := jsonType(t)
	if got := schemaTypesOf(s); len(got) > 0 && !slices.Contains(got, want) && !(want == "integer" && slices.Contains(got, "number")) {
		c.fail(path, "Go %s is JSON %s, the schema says %s", t, want, strings.Join(got, " or "))
		return
	}
	switch {
	case t == timeType:
	case t.Kind() == reflect.Struct:
		c.checkStruct(path, t, s)
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8, t.Kind() == reflect.Array:
		if items := allItems(s); items != nil {
			c.check(path+"[]", t.Elem(), items)
		}
	case t.Kind() == reflect.Map:
		if ap := allAdditional(s); ap != nil {
			c.check(path+"{}", t.Elem(), ap)
		}
	}
}

func (c *schemaChecker) checkStruct(path string, t reflect.Type, s *openapi3.Schema) {
	fields := jsonFields(t)
	props := allProperties(s)
	var names []string
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := props[name]
		if !ok {
			c.fail(path+"."+name, "the Go type encodes it but the schema has no such property")
			continue
		}
		c.check(path+"."+name, fields[name], p)
	}
	names = names[:0]
	for name := range props {
		if _, ok := fields[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		c.fail(path+"."+name, "a schema property the Go type has no field for")
	}
}

// jsonType is the JSON type encoding/json gives a Go type.
func jsonType(t reflect.Type) string {
	switch {
	case t == timeType:
		return "string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return "string" // base64
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

// jsonFields are the fields encoding/json writes for a struct type, by
// name, embedded structs flattened.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// allOf walks a schema and the schemas its allOf combines.
func allOf(s *openapi3.Schema, visit func(*openapi3.Schema)) {
	visit(s)
	for _, r := range s.AllOf {
		if r != nil && r.Value != nil {
			allOf(r.Value, visit)
		}
	}
}

func allProperties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	allOf(s, func(s *openapi3.Schema) {
		for k, r := range s.Properties {
			if r != nil {
				out[k] = r.Value
			}
		}
	})
	return out
}

func schemaTypesOf(s *openapi3.Schema) []string {
	var out []string
	allOf(s, func(s *openapi3.Schema) {
		if s.Type != nil {
			out = append(out, s.Type.Slice()...)
		}
	})
	return out
}

func allItems(s *openapi3.Schema) (items *openapi3.Schema) {
	allOf(s, func(s *openapi3.Schema) {
		if s.Items != nil && items == nil {
			items = s.Items.Value
		}
	})
	return items
}

func allAdditional(s *openapi3.Schema) (ap *openapi3.Schema) {
	allOf(s, func(s *openapi3.Schema) {
		if s.AdditionalProperties.Schema != nil && ap == nil {
			ap = s.AdditionalProperties.Schema.Value
		}
	})
	return ap
}

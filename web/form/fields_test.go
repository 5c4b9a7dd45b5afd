package form

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

const testSchema = `{"type":"object","required":["name"],"properties":{
 "name":{"type":"string","title":"Name"},
 "count":{"type":"integer","minimum":0},
 "ratio":{"type":"number"},
 "on":{"type":"boolean"},
 "mode":{"type":"string","enum":["a","b"]},
 "env":{"type":"object","additionalProperties":{"type":"string"}},
 "args":{"type":"array","items":{"type":"string"}},
 "ports":{"type":"array","items":{"type":"object"}},
 "token":{"type":"string","x-secret":true}}}`

func testProps(t *testing.T) []schema.Property {
	s, err := schema.Compile(json.RawMessage(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	return s.Properties()
}

func TestFieldKinds(t *testing.T) {
	want := map[string]string{"name": KindText, "count": KindInteger, "ratio": KindNumber, "on": KindBool,
		"mode": KindSelect, "env": KindKV, "args": KindLines, "ports": KindJSON, "token": KindSecret}
	for _, f := range Build(testProps(t), nil, nil) {
		if want[f.Name] != f.Kind {
			t.Errorf("%s: kind %s, want %s", f.Name, f.Kind, want[f.Name])
		}
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		want     string
		errField string
	}{
		{"empty inputs are left out", url.Values{"f.name": {"x"}, "f.count": {""}, "f.env.k": {""}, "f.env.v": {""}}, `{"name":"x"}`, ""},
		{"typed values", url.Values{"f.name": {"x"}, "f.count": {"3"}, "f.ratio": {"0.5"}, "f.on": {"true"}, "f.mode": {"b"},
			"f.env.k": {"A", "B"}, "f.env.v": {"1", "2"}, "f.args": {"one\n two \n\n"}, "f.ports": {`[{"target":80}]`}, "f.token": {"s"}},
			`{"args":["one","two"],"count":3,"env":{"A":"1","B":"2"},"mode":"b","name":"x","on":true,"ports":[{"target":80}],"ratio":0.5,"token":"s"}`, ""},
		{"unchecked box that had a value is false", url.Values{"f.on.present": {"1"}}, `{"on":false}`, ""},
		{"unchecked box that had none stays out", url.Values{}, `{}`, ""},
		{"bad integer", url.Values{"f.count": {"2.5"}}, "", "count"},
		{"bad JSON", url.Values{"f.ports": {"[{"}}, "", "ports"},
		{"value without a name", url.Values{"f.env.k": {""}, "f.env.v": {"1"}}, "", "env"},
		{"unknown enum", url.Values{"f.mode": {"c"}}, "", "mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := Parse(testProps(t), tt.form)
			if tt.errField != "" {
				if len(errs[tt.errField]) == 0 {
					t.Fatalf("no error for %s: %v", tt.errField, errs)
				}
				// What was typed is drawn back.
				for _, f := range Build(testProps(t), doc, errs) {
					if f.Name == tt.errField && len(f.Errors) == 0 {
						t.Errorf("field %s drawn without its error", f.Name)
					}
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := string(Encode(doc)); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestBuildFieldsRoundTrip(t *testing.T) {
	spec := json.RawMessage(`{"name":"x","count":3,"env":{"B":"2","A":"1"},"args":["a","b"],"ports":[{"target":80}],"on":true,"token":"hidden"}`)
	form := url.Values{}
	for _, f := range Build(testProps(t), Decode(spec), nil) {
		switch f.Kind {
		case KindKV:
			for _, kv := range f.Pairs {
				form.Add(f.InputName()+".k", kv.Key)
				form.Add(f.InputName()+".v", kv.Value)
			}
		case KindBool:
			if f.Checked {
				form.Set(f.InputName(), "true")
			}
		case KindSecret:
			if f.Value != "" {
				t.Error("a secret value was drawn into the form")
			}
		default:
			form.Set(f.InputName(), f.Value)
		}
	}
	doc, errs := Parse(testProps(t), form)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// Only the write-only secret may be missing.
	if want := `{"args":["a","b"],"count":3,"env":{"A":"1","B":"2"},"name":"x","on":true,"ports":[{"target":80}]}`; string(Encode(doc)) != want {
		t.Errorf("round trip gave %s\nwant         %s", Encode(doc), want)
	}
}

func TestPlaceErrors(t *testing.T) {
	fields := Build(testProps(t), nil, nil)
	pe := &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/name", Message: "name is required",
		Detail: map[string]any{"errors": []schema.FieldError{{Field: "/name", Message: "name is required"},
			{Field: "/env/A~1B", Message: "bad key"}, {Field: "", Message: "whole document"}}}}
	rest := PlaceErrors(fields, pe)
	got := map[string][]string{}
	for _, f := range fields {
		if len(f.Errors) > 0 {
			got[f.Name] = f.Errors
		}
	}
	want := map[string][]string{"name": {"name is required"}, "env": {"bad key (at A/B)"}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(rest, []string{"whole document"}) {
		t.Errorf("placed %v, rest %v", got, rest)
	}
}

const nestedSchema = `{"type":"object","required":["name"],"properties":{
 "name":{"type":"string"},
 "deploy":{"type":"object","additionalProperties":false,"properties":{
   "max":{"type":"integer","title":"Max"},
   "breaker":{"type":"object","additionalProperties":false,"properties":{"enable":{"type":"boolean"},"rollback":{"type":"boolean"}}},
   "subnets":{"type":"array","items":{"type":"string"}}}},
 "ports":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["target"],"properties":{
   "target":{"type":"integer"},"protocol":{"type":"string","enum":["tcp","udp"]},"public":{"type":"boolean"}}}},
 "open":{"type":"object","properties":{"a":{"type":"string"}}},
 "deep":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{"inner":{"type":"object","additionalProperties":false,"properties":{"x":{"type":"string"}}}}}}}}`

func nestedProps(t *testing.T) []schema.Property {
	t.Helper()
	s, err := schema.Compile(json.RawMessage(nestedSchema))
	if err != nil {
		t.Fatal(err)
	}
	return s.Properties()
}

func fieldAt(fields []Field, path string) *Field { return deepestField(fields, path) }

func TestNestedKinds(t *testing.T) {
	fields := Build(nestedProps(t), nil, nil)
	want := map[string]string{
		"deploy": KindGroup, "deploy/max": KindInteger, "deploy/breaker": KindGroup, "deploy/breaker/enable": KindBool,
		"deploy/subnets": KindLines, "ports": KindRows, "ports/0/target": KindInteger, "ports/0/protocol": KindSelect,
		"open": KindJSON, // other properties allowed: the sub-fields could lose them
		"deep": KindJSON, // rows hold scalar columns only
	}
	for path, kind := range want {
		f := fieldAt(fields, path)
		if f == nil || f.Path != path {
			t.Errorf("no field at %s", path)
			continue
		}
		if f.Kind != kind {
			t.Errorf("%s: kind %s, want %s", path, f.Kind, kind)
		}
	}
	if got := fieldAt(fields, "ports/0/target").InputName(); got != "f.ports/0/target" {
		t.Errorf("input name %q", got)
	}
}

func TestParseNested(t *testing.T) {
	form := url.Values{"f.name": {"x"}, "f.deploy/max": {"200"}, "f.deploy/breaker/enable": {"true"},
		"f.deploy/subnets": {"a\nb"},
		// Row 0 filled, row 3 empty (left for adding), row 5 filled: gaps are the script's doing.
		"f.ports/0/target": {"80"}, "f.ports/0/protocol": {"tcp"},
		"f.ports/3/target": {""}, "f.ports/3/protocol": {""},
		"f.ports/5/target": {"443"}, "f.ports/5/public": {"true"}}
	doc, errs := Parse(nestedProps(t), form)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := `{"deploy":{"breaker":{"enable":true},"max":200,"subnets":["a","b"]},"name":"x","ports":[{"protocol":"tcp","target":80},{"public":true,"target":443}]}`
	if got := string(Encode(doc)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// An untouched group and rows are left out.
	doc, _ = Parse(nestedProps(t), url.Values{"f.name": {"x"}, "f.ports/0/target": {""}, "f.deploy/max": {""}})
	if got := string(Encode(doc)); got != `{"name":"x"}` {
		t.Errorf("empty groups: %s", got)
	}

	// A parse error in a row is keyed by the row's place in the document,
	// which is how the form is drawn back.
	doc, errs = Parse(nestedProps(t), url.Values{"f.ports/2/target": {"80"}, "f.ports/7/target": {"http"}})
	if len(errs["ports/1/target"]) == 0 {
		t.Fatalf("errors %v", errs)
	}
	f := fieldAt(Build(nestedProps(t), doc, errs), "ports/1/target")
	if f == nil || f.Value != "http" || len(f.Errors) == 0 {
		t.Errorf("row drawn back as %+v", f)
	}
}

func TestNestedRoundTripAndFallback(t *testing.T) {
	spec := json.RawMessage(`{"name":"x","deploy":{"max":3,"breaker":{"enable":true,"rollback":false}},"ports":[{"target":80,"protocol":"udp"},{"target":81,"public":false}]}`)
	form := formOf(Build(nestedProps(t), Decode(spec), nil))
	doc, errs := Parse(nestedProps(t), form)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := Encode(doc), Encode(Decode(spec)); string(got) != string(want) {
		t.Errorf("round trip gave %s, want %s", got, want)
	}

	// A value the sub-fields cannot hold (an unknown key) is edited as JSON, and kept.
	odd := json.RawMessage(`{"name":"x","deploy":{"max":3,"surprise":1},"ports":[{"target":80,"extra":true}]}`)
	fields := Build(nestedProps(t), Decode(odd), nil)
	for _, p := range []string{"deploy", "ports"} {
		if f := fieldAt(fields, p); f.Kind != KindJSON {
			t.Errorf("%s drawn as %s", p, f.Kind)
		}
	}
	doc, errs = Parse(nestedProps(t), formOf(fields))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := Encode(doc), Encode(Decode(odd)); string(got) != string(want) {
		t.Errorf("JSON fallback gave %s, want %s", got, want)
	}
}

// formOf is what a browser submits for fields as drawn.
func formOf(fields []Field) url.Values {
	form := url.Values{}
	var walk func([]Field)
	walk = func(fs []Field) {
		for _, f := range fs {
			switch f.Kind {
			case KindGroup:
				walk(f.Children)
			case KindRows:
				for _, r := range f.Rows {
					walk(r.Fields)
				}
			case KindKV:
				for _, kv := range f.Pairs {
					form.Add(f.InputName()+".k", kv.Key)
					form.Add(f.InputName()+".v", kv.Value)
				}
			case KindBool:
				if f.Had {
					form.Set(f.InputName()+".present", "1")
				}
				if f.Checked {
					form.Set(f.InputName(), "true")
				}
			default:
				form.Set(f.InputName(), f.Value)
			}
		}
	}
	walk(fields)
	return form
}

func TestNestedErrorsPlaced(t *testing.T) {
	doc := Decode(json.RawMessage(`{"ports":[{"target":80},{"protocol":"tcp"}]}`))
	fields := Build(nestedProps(t), doc, nil)
	pe := &pluginapi.Error{Code: pluginapi.CodeInvalid, Detail: map[string]any{"errors": []schema.FieldError{
		{Field: "/deploy/max", Message: "too big"},
		{Field: "/ports/1/target", Message: "is required"},
		{Field: "/deploy/breaker/enable/x", Message: "deeper than drawn"},
		{Field: "/ports", Message: "too few"}}}}
	if rest := PlaceErrors(fields, pe); len(rest) > 0 {
		t.Errorf("unplaced: %v", rest)
	}
	want := map[string]string{"deploy/max": "too big", "ports/1/target": "is required",
		"deploy/breaker/enable": "deeper than drawn (at x)", "ports": "too few"}
	for path, msg := range want {
		if f := fieldAt(fields, path); f == nil || len(f.Errors) != 1 || f.Errors[0] != msg {
			t.Errorf("%s: %+v", path, f)
		}
	}
	if fieldAt(fields, "ports/0/target").HasErrors() || !fieldAt(fields, "deploy").HasErrors() {
		t.Error("errors marked on the wrong fields")
	}
}

func TestSplitOptional(t *testing.T) {
	fields := Build(nestedProps(t), nil, nil)
	main, more := splitOptional(fields)
	if len(main) != 1 || main[0].Name != "name" || len(more) != 4 {
		t.Fatalf("main %d, more %d", len(main), len(more))
	}
	if anySet(more) {
		t.Error("an empty form opens More options")
	}
	fields = Build(nestedProps(t), Decode(json.RawMessage(`{"deploy":{"breaker":{"rollback":true}}}`)), nil)
	if _, more = splitOptional(fields); !anySet(more) || countSet(more) != 1 {
		t.Error("a nested value does not open More options")
	}
	fields = Build(nestedProps(t), nil, map[string][]string{"ports/0/target": {"bad"}})
	if _, more = splitOptional(fields); !anySet(more) {
		t.Error("a nested error does not open More options")
	}
}

package web

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
	want := map[string]string{"name": kindText, "count": kindInteger, "ratio": kindNumber, "on": kindBool,
		"mode": kindSelect, "env": kindKV, "args": kindLines, "ports": kindJSON, "token": kindSecret}
	for _, f := range buildFields(testProps(t), nil, nil) {
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
			doc, errs := parseFields(testProps(t), tt.form)
			if tt.errField != "" {
				if len(errs[tt.errField]) == 0 {
					t.Fatalf("no error for %s: %v", tt.errField, errs)
				}
				// What was typed is drawn back.
				for _, f := range buildFields(testProps(t), doc, errs) {
					if f.Name == tt.errField && len(f.Errors) == 0 {
						t.Errorf("field %s drawn without its error", f.Name)
					}
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := string(encodeDoc(doc)); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestBuildFieldsRoundTrip(t *testing.T) {
	spec := json.RawMessage(`{"name":"x","count":3,"env":{"B":"2","A":"1"},"args":["a","b"],"ports":[{"target":80}],"on":true,"token":"hidden"}`)
	form := url.Values{}
	for _, f := range buildFields(testProps(t), docOf(spec), nil) {
		switch f.Kind {
		case kindKV:
			for _, kv := range f.Pairs {
				form.Add(f.InputName()+".k", kv.Key)
				form.Add(f.InputName()+".v", kv.Value)
			}
		case kindBool:
			if f.Checked {
				form.Set(f.InputName(), "true")
			}
		case kindSecret:
			if f.Value != "" {
				t.Error("a secret value was drawn into the form")
			}
		default:
			form.Set(f.InputName(), f.Value)
		}
	}
	doc, errs := parseFields(testProps(t), form)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if rows := diffDocs(spec, encodeDoc(doc)); len(rows) != 1 || rows[0].Path != "/token" || rows[0].Kind != "removed" {
		t.Errorf("round trip changed %+v (only the write-only secret may be missing)", rows)
	}
}

func TestDiffDocs(t *testing.T) {
	rows := diffDocs(json.RawMessage(`{"a":1,"env":{"X":"1","Y":"2"},"l":[1],"gone":true}`),
		json.RawMessage(`{"a":2,"env":{"X":"1","Z":"3"},"l":[1],"new":"n"}`))
	want := []DiffRow{
		{Path: "/a", Before: "1", After: "2", Kind: "changed"},
		{Path: "/env/Y", Before: `"2"`, Kind: "removed"},
		{Path: "/env/Z", After: `"3"`, Kind: "added"},
		{Path: "/gone", Before: "true", Kind: "removed"},
		{Path: "/new", After: `"n"`, Kind: "added"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v", rows)
	}
}

func TestApplyFieldErrors(t *testing.T) {
	fields := buildFields(testProps(t), nil, nil)
	pe := &pluginapi.Error{Code: pluginapi.CodeInvalid, Field: "/name", Message: "name is required",
		Detail: map[string]any{"errors": []schema.FieldError{{Field: "/name", Message: "name is required"},
			{Field: "/env/A~1B", Message: "bad key"}, {Field: "", Message: "whole document"}}}}
	rest := applyFieldErrors(fields, pe)
	got := map[string][]string{}
	for _, f := range fields {
		if len(f.Errors) > 0 {
			got[f.Name] = f.Errors
		}
	}
	want := map[string][]string{"name": {"name is required"}, "env": {"bad key (at /env/A~1B)"}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(rest, []string{"whole document"}) {
		t.Errorf("placed %v, rest %v", got, rest)
	}
}

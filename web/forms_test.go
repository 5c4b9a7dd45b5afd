package web

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/web/form"
)

func TestDiffDocs(t *testing.T) {
	rows := diffDocs(json.RawMessage(`{"a":1,"env":{"X":"1","Y":"2"},"l":[1],"gone":true}`),
		json.RawMessage(`{"a":2,"env":{"X":"1","Z":"3"},"l":[1],"new":"n"}`), nil)
	want := []DiffRow{
		{Path: "/a", Label: "a", Before: "1", After: "2", Kind: "changed"},
		{Path: "/env/Y", Label: "env › Y", Before: "2", Kind: "removed"},
		{Path: "/env/Z", Label: "env › Z", After: "3", Kind: "added"},
		{Path: "/gone", Label: "gone", Before: "true", Kind: "removed"},
		{Path: "/new", Label: "new", After: "n", Kind: "added"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got %+v", rows)
	}
}

// A diff speaks the form's language: fields by their titles, values
// plain (no JSON quotes), the pointer kept for a tooltip.
func TestDiffDocsNamesFieldsByTitle(t *testing.T) {
	s, err := form.Compile(json.RawMessage(`{"type":"object","properties":{
		"replicas":{"type":"integer","title":"Replicas"},
		"env":{"type":"object","title":"Environment","additionalProperties":{"type":"string"}},
		"resources":{"type":"object","title":"Resources","additionalProperties":false,"properties":{"cpu_limit":{"type":"string","title":"CPU limit"}}},
		"args":{"type":"array","title":"Arguments","items":{"type":"string"}},
		"note":{"type":["string","null"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	after := json.RawMessage(`{"replicas":3,"env":{"GREETING":"hello world","a/b":"1"},"resources":{"cpu_limit":"0.5"},"args":["-v","--port=80"],"note":null}`)
	fields := form.Build(s.Properties(), form.Decode(after), nil)
	rows := diffDocs(json.RawMessage(`{"replicas":1,"env":{"GREETING":"hi"},"args":[]}`), after, fields)
	want := []DiffRow{
		{Path: "/args", Label: "Arguments", Before: "empty", After: "-v, --port=80", Kind: "changed"},
		{Path: "/env/GREETING", Label: "Environment › GREETING", Before: "hi", After: "hello world", Kind: "changed"},
		{Path: "/env/a~1b", Label: "Environment › a/b", After: "1", Kind: "added"},
		{Path: "/note", Label: "note", After: "none", Kind: "added"},
		{Path: "/replicas", Label: "Replicas", Before: "1", After: "3", Kind: "changed"},
		{Path: "/resources/cpu_limit", Label: "Resources › CPU limit", After: "0.5", Kind: "added"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got  %+v\nwant %+v", rows, want)
	}
}

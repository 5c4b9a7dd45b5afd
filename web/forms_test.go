package web

import (
	"encoding/json"
	"reflect"
	"testing"
)

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

package main

import (
	"encoding/json"
	"testing"
)

// TestRawObject: members keep their bytes (escaped keys, numbers as
// written); edits at a path make the objects on the way; bad input is an
// error, not a guess.
func TestRawObject(t *testing.T) {
	in := `{"a\u0041":1.50,"b":{"c":[1,{"d":"x"}],"e":null},"s":"q\"uote"}`
	o, err := parseObject([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(o.appendTo(nil)); got != in {
		t.Fatalf("round trip:\n got %s\nwant %s", got, in)
	}
	if string(o.get("aA")) != "1.50" || string(o.get("s")) != `"q\"uote"` {
		t.Fatalf("get: %s %s", o.get("aA"), o.get("s"))
	}
	if err := o.setPath([]string{"b", "new", "deep"}, []byte(`true`)); err != nil {
		t.Fatal(err)
	}
	if err := o.setPath([]string{"b", "e"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.setPath([]string{"missing", "x"}, nil); err != nil || o.get("missing") != nil {
		t.Fatalf("removing under a missing member made it: %v %s", err, o.get("missing"))
	}
	want := `{"a\u0041":1.50,"b":{"c":[1,{"d":"x"}],"new":{"deep":true}},"s":"q\"uote"}`
	if got := string(o.appendTo(nil)); got != want || !json.Valid([]byte(got)) {
		t.Fatalf("after edits:\n got %s\nwant %s", got, want)
	}
	if v, _ := o.getPath([]string{"b", "new", "deep"}); string(v) != "true" {
		t.Fatalf("getPath: %s", v)
	}
	for _, bad := range []string{`[1]`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `"x"`} {
		if _, err := parseObject([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if o, err := parseObject([]byte(" null ")); err != nil || len(o.members) != 0 {
		t.Fatalf("null: %v", err)
	}
}

package mergepatch

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestRFC7386Examples are the test cases of RFC 7386, appendix A, plus the
// byte-level cases this implementation must get right.
func TestRFC7386Examples(t *testing.T) {
	for _, tc := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Beyond the RFC's table.
		{` { "n" : 1.50e3 , "s" : "x\"}" } `, `{"s":"y"}`, `{"n":1.50e3,"s":"y"}`}, // numbers as written
		{`{"a":1,"a":2}`, `{"a":{"x":null,"y":3}}`, `{"a":{"y":3},"a":{"y":3}}`},   // duplicates in the target
		{`{"a":1}`, `{"b":1,"b":null}`, `{"a":1}`},                                 // duplicates in the patch: the last wins
		{`{"a":1}`, `{"b":null,"b":2}`, `{"a":1,"b":2}`},
		{`{"\u0061":1}`, `{"a":2}`, `{"\u0061":2}`}, // keys compare unescaped
		{`{"a":[null]}`, `{"b":[null,{"c":null}]}`, `{"a":[null],"b":[null,{"c":null}]}`},
	} {
		got, err := Apply([]byte(tc.target), []byte(tc.patch))
		if err != nil || string(got) != tc.want {
			t.Errorf("Apply(%s, %s) = %s, %v; want %s", tc.target, tc.patch, got, err, tc.want)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	if _, err := Apply([]byte(`{`), []byte(`{}`)); err == nil {
		t.Error("invalid target accepted")
	}
	if _, err := Apply([]byte(`{}`), []byte(`{"a":}`)); err == nil {
		t.Error("invalid patch accepted")
	}
}

// reference is RFC 7386's pseudo-code over decoded values.
func reference(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = reference(t[k], v)
		}
	}
	return t
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// checkAgainstReference: Apply's result is valid JSON and decodes to what
// the RFC's algorithm gives on decoded values.
func checkAgainstReference(t testing.TB, target, patch []byte) {
	got, err := Apply(target, patch)
	if !json.Valid(target) || !json.Valid(patch) {
		if err == nil {
			t.Fatalf("Apply(%q, %q) accepted invalid JSON", target, patch)
		}
		return
	}
	if err != nil {
		t.Fatalf("Apply(%q, %q): %v", target, patch, err)
	}
	if !json.Valid(got) {
		t.Fatalf("Apply(%q, %q) = %q: not valid JSON", target, patch, got)
	}
	want := reference(decode(t, target), decode(t, patch))
	if g := decode(t, got); !reflect.DeepEqual(g, want) {
		t.Fatalf("Apply(%q, %q) = %s, want %v", target, patch, got, want)
	}
}

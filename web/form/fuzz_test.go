package form

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzParseFields: whatever a form holds, form-to-JSON gives a valid JSON
// document within the host's depth limit, and a form it parsed without
// errors parses back to the same document once drawn as fields (nulls
// aside).
func FuzzParseFields(f *testing.F) {
	props := deepProps(f)
	for _, s := range [][2]string{
		{"f.name=web&f.rows/0/n=3&f.env.k=A&f.env.v=1", `{"x":"y"}`},
		{"f.raw=" + url.QueryEscape(nest(63)), nest(60)},
		{"f.a/b/c/j=%7B%7D&f.rows/7/n=x&f.env.k=&f.env.v=v", `[{"a":[1,2,{"b":null}]}]`},
		{"f.raw=%5B%22%5C%22%5B%5B%22%5D", `"\"[[["`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, query, deep string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		form.Set("f.a/b/c/j", deep)
		doc, errs := Parse(props, form)
		out := Encode(doc)
		if !json.Valid(out) {
			t.Fatalf("form %v gave invalid JSON %s", form, out)
		}
		if err := depthOnly.Check(out); err != nil {
			t.Fatalf("form %v gave a document beyond the limit: %v", form, err)
		}
		if len(errs) > 0 || bytes.Contains(out, []byte("null")) {
			return // a JSON field's null is not drawn back: the form leaves it out
		}
		again, errs2 := Parse(props, formOf(Build(props, doc, nil)))
		if len(errs2) > 0 || string(Encode(again)) != string(out) {
			t.Fatalf("form %v: %s drawn and parsed again gives %s (%v)", form, out, Encode(again), errs2)
		}
	})
}

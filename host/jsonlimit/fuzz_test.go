package jsonlimit

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCheck: on valid JSON, Check's depth verdict is exactly the depth
// encoding/json sees; on any input, it never panics and an accepted
// document is within both limits.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`1`, `{"a":[1,{"b":"]["}]}`, `["\\\"[["]`, `[[[[[[[[]]]]]]]]`, `{"a\u005b":"\\"}`, `]]]][[`} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, doc []byte, max int) {
		if max < 1 || max > 100 {
			max = 1 + (max%100+100)%100
		}
		l := Limits{MaxBytes: 1 << 20, MaxDepth: max}
		err := l.Check(doc)
		var le *Error
		if err != nil && (!errors.As(err, &le) || le.Kind != Depth || le.Offset < 0 || le.Offset >= len(doc) ||
			(doc[le.Offset] != '[' && doc[le.Offset] != '{')) {
			t.Fatalf("Check(%q, %d) = %v: not a depth error at an opening bracket", doc, max, err)
		}
		if !json.Valid(doc) {
			return
		}
		deep := tokenDepth(doc, 1<<30)
		if (deep > max) != (err != nil) {
			t.Fatalf("Check(%q, %d) = %v but the document nests %d levels", doc, max, err, deep)
		}
	})
}

package mergepatch

import "testing"

// FuzzApply: for any two documents, Apply refuses invalid JSON, and on
// valid JSON answers valid JSON equal to RFC 7386's algorithm run on the
// decoded values.
func FuzzApply(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":"b","c":{"d":1}}`, `{"a":null,"c":{"e":[1,{"f":null}]}}`},
		{`{"a":1,"a":{"b":2}}`, `{"a":{"b":null},"x":"\u0041"}`},
		{`[1,2]`, `{"k":{"l":{"m":null}}}`},
		{` {"\"":"}"} `, `{"\"":{"\\":1}}`},
		{`null`, `1e5`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		checkAgainstReference(t, target, patch)
	})
}

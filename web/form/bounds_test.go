package form

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/host/schema"
)

// deepSchema has JSON fields at the top and three groups down.
const deepSchema = `{"type":"object","properties":{
 "name":{"type":"string"},
 "raw":{"type":"object","properties":{"p":{"type":"string"}}},
 "a":{"type":"object","additionalProperties":false,"properties":{
  "b":{"type":"object","additionalProperties":false,"properties":{
   "c":{"type":"object","additionalProperties":false,"properties":{
    "j":{"type":"object","additionalProperties":false,"properties":{"x":{"type":"string"}}}}}}}}},
 "rows":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{"n":{"type":"integer"}}}},
 "env":{"type":"object","additionalProperties":{"type":"string"}}}}`

func deepProps(t testing.TB) []schema.Property {
	t.Helper()
	s, err := schema.Compile(json.RawMessage(deepSchema))
	if err != nil {
		t.Fatal(err)
	}
	return s.Properties()
}

func nest(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }

// TestDeepJSONFieldsRefused: a JSON field whose value would take the
// document past 64 levels is refused at the field, naming the limit; the
// deepest value that fits is accepted and the document stays within it.
func TestDeepJSONFieldsRefused(t *testing.T) {
	props := deepProps(t)
	if k, _, _ := kindOf(props[2], 0); k != KindGroup {
		t.Fatalf("a is %s", k)
	}
	for _, tc := range []struct {
		field string
		above int // containers around the field's value
	}{{"raw", 1}, {"a/b/c/j", 4}} {
		max := jsonlimit.Body.MaxDepth - tc.above
		_, errs := Parse(props, url.Values{"f." + tc.field: {nest(max + 1)}})
		if msg := strings.Join(errs[tc.field], "; "); !strings.Contains(msg, "JSON nesting deeper than") || !strings.Contains(msg, "a spec may nest 64 levels") {
			t.Errorf("%s at %d levels: errors %q", tc.field, max+1, msg)
		}
		doc, errs := Parse(props, url.Values{"f." + tc.field: {nest(max)}})
		if len(errs) > 0 {
			t.Fatalf("%s at %d levels: %v", tc.field, max, errs)
		}
		if err := jsonlimit.Body.Check(Encode(doc)); err != nil {
			t.Errorf("%s at %d levels: document %v", tc.field, max, err)
		}
	}
	// The 1 MiB cap holds for one field too.
	_, errs := Parse(props, url.Values{"f.raw": {`{"x":"` + strings.Repeat("y", jsonlimit.Body.MaxBytes) + `"}`}})
	if msg := strings.Join(errs["raw"], ""); !strings.Contains(msg, "larger than 1 MiB") {
		t.Errorf("big field: %q", msg)
	}
}

// depthOnly checks depth alone (form fields each get the byte cap).
var depthOnly = jsonlimit.Limits{MaxBytes: math.MaxInt, MaxDepth: jsonlimit.Body.MaxDepth}

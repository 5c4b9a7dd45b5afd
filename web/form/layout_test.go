package form

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const laidOutSchema = `{"type":"object","required":["name"],"properties":{
	"cpu":{"type":"string","title":"CPU","x-group":"Resources","x-order":40},
	"name":{"type":"string","title":"Name","x-order":10},
	"probe":{"type":"object","title":"Probe","x-group":"Health","additionalProperties":false,"required":["test"],
		"properties":{"test":{"type":"string","title":"Test command"},"interval":{"type":"string"}}},
	"replicas":{"type":"integer","title":"Replicas","x-order":20},
	"memory":{"type":"string","title":"Memory","x-group":"Resources","x-order":30},
	"note":{"type":"string","title":"Note"}}}`

func renderSpec(t *testing.T, doc string) string {
	t.Helper()
	s, err := Compile(json.RawMessage(laidOutSchema))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SpecFields(Build(s.Properties(), Decode(json.RawMessage(doc)), nil)).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// x-order orders fields (those without after, in schema order); x-group
// folds them into sections after the basics, in the order of their first
// field, shut until used.
func TestSpecFieldsLaidOut(t *testing.T) {
	html := renderSpec(t, `{}`)
	order := []string{`id="fld-name"`, `id="fld-replicas"`, `id="fld-note"`, `data-section="Resources"`, `id="fld-memory"`, `id="fld-cpu"`, `data-section="Health"`}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(html, order[i-1]), strings.Index(html, order[i]); a < 0 || b < a {
			t.Errorf("%s is not after %s:\n%s", order[i], order[i-1], html)
		}
	}
	if strings.Contains(html, "open") {
		t.Errorf("a section is open on an empty form:\n%s", html)
	}
	// The probe is optional and left out: its test is not marked required.
	probe := html[strings.Index(html, `data-field="probe"`):]
	if strings.Contains(probe[:strings.Index(probe, "</fieldset>")], `class="req"`) {
		t.Error("an unused optional object shows required markers")
	}

	// A section in use opens; a used object marks its required fields.
	html = renderSpec(t, `{"memory":"1g","probe":{"interval":"5s"}}`)
	for _, s := range []string{"Resources", "Health"} {
		if !strings.Contains(html, `data-section="`+s+`" open`) {
			t.Errorf("section %s holding a value is shut", s)
		}
	}
	probe = html[strings.Index(html, `data-field="probe"`):]
	if !strings.Contains(probe[:strings.Index(probe, "</fieldset>")], `class="req"`) {
		t.Error("a used object does not mark its required field")
	}
}

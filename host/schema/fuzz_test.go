package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// marked replaces every string value of v (not the keys) by a marker
// naming its position, so that a message quoting a value shows it.
func marked(v any, n *int) any {
	switch x := v.(type) {
	case string:
		*n++
		return fmt.Sprintf("QZXV%dVXZQ", *n)
	case []any:
		for i := range x {
			x[i] = marked(x[i], n)
		}
	case map[string]any:
		for k := range x {
			x[k] = marked(x[k], n)
		}
	}
	return v
}

// checkError fails t unless err is nil or an invalid *pluginapi.Error whose
// violations are listed, each at a JSON pointer with a message.
func checkError(t *testing.T, doc []byte, err error) *pluginapi.Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var pe *pluginapi.Error
	if !errors.As(err, &pe) || pe.Code != pluginapi.CodeInvalid || pe.Message == "" {
		t.Fatalf("Validate(%q) = %v: not an invalid error with a message", doc, err)
	}
	if pe.Field != "" && !strings.HasPrefix(pe.Field, "/") {
		t.Fatalf("Validate(%q): field %q is not a JSON pointer", doc, pe.Field)
	}
	if list, ok := pe.Detail["errors"].([]FieldError); ok {
		if len(list) == 0 || list[0].Field != pe.Field || list[0].Message != pe.Message {
			t.Fatalf("Validate(%q): errors %v do not start with the error itself", doc, list)
		}
		for _, fe := range list {
			if fe.Message == "" || (fe.Field != "" && !strings.HasPrefix(fe.Field, "/")) {
				t.Fatalf("Validate(%q): violation %+v", doc, fe)
			}
		}
	}
	return pe
}

// FuzzValidate: any document validates or answers an invalid error listing
// its violations at JSON pointers, and no message ever quotes a string
// value of the document (a config holds secrets).
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"name":"Web","image":1,"replicas":-1,"env":[{"value":2}],"ports":[0,0,70000,1],"mode":"x","restart":"5m","url":"::","labels":{"a":1},"matrix":[[0.3]]}`,
		`{"endpoint":"not a uri","token":"hunter2","region":"mars","secret_key":5}`,
		`{"a/b~c":{"x":["y"]},"0":[{"":""}]}`,
		`[]`, `"secret"`, `{"endpoint":null}`,
	} {
		f.Add([]byte(s))
	}
	schemas := []*Schema{}
	for _, raw := range []string{specSchema, configSchema} {
		s, err := Compile(json.RawMessage(raw))
		if err != nil {
			f.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, s := range schemas {
			checkError(t, doc, s.Validate(doc))
		}
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		n := 0
		m, err := json.Marshal(marked(v, &n))
		if err != nil || n == 0 {
			return
		}
		for _, s := range schemas {
			pe := checkError(t, m, s.Validate(m))
			if pe == nil {
				continue
			}
			if b, _ := json.Marshal(pe); bytes.Contains(b, []byte("QZXV")) {
				t.Fatalf("Validate(%s) quotes a value: %s", m, b)
			}
		}
	})
}

package pluginapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// The JSON examples in ABI.md must decode strictly into the Go types, so the
// document and the types cannot drift apart.
func TestABIDocumentExamplesMatchTypes(t *testing.T) {
	doc, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := jsonBlocks(string(doc))
	if len(blocks) < 4 {
		t.Fatalf("found %d json blocks in ABI.md", len(blocks))
	}
	// Each block is matched to the type whose distinctive key it holds.
	kinds := []struct {
		key    string
		target func() any
	}{
		{`"abi_version"`, func() any { return new(DescribeResponse) }},
		{`"native_status"`, func() any { return new(Service) }},
		{`"max_body_bytes"`, func() any { return new(HTTPRequest) }},
		{`"retryable"`, func() any { return new(Response) }},
		{`"choices"`, func() any { return new(ChoicesResponse) }},
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		for _, k := range kinds {
			if !strings.Contains(b, k.key) {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(b)))
			dec.DisallowUnknownFields()
			v := k.target()
			if err := dec.Decode(v); err != nil && !strings.Contains(b, "…") {
				t.Errorf("block with %s does not decode into %T: %v", k.key, v, err)
			} else if err != nil && strings.Contains(err.Error(), "unknown field") {
				t.Errorf("block with %s has a field %T lacks: %v", k.key, v, err)
			}
			seen[k.key] = true
			break
		}
	}
	for _, k := range kinds {
		if !seen[k.key] {
			t.Errorf("no example in ABI.md for %s", k.key)
		}
	}
}

func jsonBlocks(doc string) []string {
	var out []string
	for {
		i := strings.Index(doc, "```json\n")
		if i < 0 {
			return out
		}
		doc = doc[i+len("```json\n"):]
		j := strings.Index(doc, "```")
		if j < 0 {
			return out
		}
		out = append(out, doc[:j])
		doc = doc[j+3:]
	}
}

func TestCheckABIVersion(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{{"1.0", true}, {"1.7", true}, {"2.0", false}, {"0.9", false}, {"1", false}, {"x.1", false}, {"", false}} {
		err := CheckABIVersion(tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("CheckABIVersion(%q) = %v, want ok=%v", tc.v, err, tc.ok)
		}
	}
	if err := CheckABIVersion("2.0"); err == nil || !strings.Contains(err.Error(), "2.0") || !strings.Contains(err.Error(), ABIVersion) {
		t.Errorf("message should name both versions: %v", err)
	}
}

func TestErrorIsMatchesCode(t *testing.T) {
	err := error(NotFound("service %q not found", "web"))
	if !errors.Is(err, &Error{Code: CodeNotFound}) {
		t.Error("errors.Is by code failed")
	}
	if errors.Is(err, &Error{Code: CodeConflict}) {
		t.Error("matched the wrong code")
	}
	if AsError(os.ErrNotExist).Code != CodeInternal {
		t.Error("foreign errors should be internal")
	}
}

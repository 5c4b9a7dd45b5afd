package conformance

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// Preserve is a fixture's "update keeps what the plugin does not model"
// case: a service made through the platform's own API with settings
// outside the plugin's spec schema, then patched through Wharf.
type Preserve struct {
	// Native is the platform's own create body; "{name}" in it stands for
	// the service's name.
	Native json.RawMessage `json:"native"`
	// Patch is a JSON merge patch of a field the plugin models, sent
	// through Wharf with PATCH.
	Patch map[string]any `json:"patch"`
	// Unmodeled maps JSON pointers into the platform's object to values
	// outside the plugin's schema: they must be there as created, after
	// the patch and after a no-op update.
	Unmodeled map[string]any `json:"unmodeled"`
	// Modeled maps JSON pointers to the values the patch must produce.
	Modeled map[string]any `json:"modeled"`
	// Stable are JSON pointers (the platform's version, its current
	// deployment) that an update changing nothing must leave as they are.
	Stable []string `json:"stable"`
}

// Native reaches a platform through its own API, beside Wharf, as the
// platform's own clients do. Run needs it for the preserve step.
type Native struct {
	// Create makes a service named name from a native create body and
	// returns the id Wharf knows it by.
	Create func(t T, name string, body []byte) string
	// Read returns the platform's own object for a service.
	Read func(t T, id string) []byte
}

// runPreserve is the step: create natively, patch a modeled field through
// Wharf, compare the platform's object; then a no-op update through
// Wharf (PUT of the spec read back, and an empty merge patch) must leave
// the platform's version and deployment alone.
func runPreserve(t T, c *Client, p Platform, conn, name string) {
	if p.Fixture.Preserve == nil || p.Native == nil {
		t.Skip("the fixture has no preserve case or the platform no native client")
	}
	pr := withServiceName(t, p.Fixture.Preserve, name)
	id := p.Native.Create(t, name, pr.Native)
	t.Cleanup(func() { c.Do(t, "DELETE", svcPath(conn, id)+"?force=true", nil) })
	checkPointers(t, "as created through the platform's API", p.Native.Read(t, id), pr.Unmodeled)

	Eventually(t, p.Settle, "the service settles", func() error {
		if s := get(t, c, conn, id); s.Status != pluginapi.StatusRunning {
			return errorf("status %s (%s)", s.Status, s.NativeStatus)
		}
		return nil
	})
	before := get(t, c, conn, id)
	c.DoIfMatch(t, "PATCH", svcPath(conn, id), pr.Patch, before.Version).OK(t, "patch a modeled field", nil)
	obj := p.Native.Read(t, id)
	checkPointers(t, "after the patch", obj, pr.Modeled)
	checkPointers(t, "after the patch", obj, pr.Unmodeled)

	Eventually(t, p.Settle, "the patch settles", func() error {
		if s := get(t, c, conn, id); s.Status != pluginapi.StatusRunning {
			return errorf("status %s (%s)", s.Status, s.NativeStatus)
		}
		return nil
	})
	cur := get(t, c, conn, id)
	stable := pointerValues(t, p.Native.Read(t, id), pr.Stable)
	c.DoIfMatch(t, "PUT", svcPath(conn, id), cur.Spec, cur.Version).OK(t, "update with the spec read back", nil)
	c.DoIfMatch(t, "PATCH", svcPath(conn, id), map[string]any{}, cur.Version).OK(t, "empty merge patch", nil)
	obj = p.Native.Read(t, id)
	if now := pointerValues(t, obj, pr.Stable); !reflect.DeepEqual(now, stable) {
		t.Errorf("an update that changes nothing changed the platform's object: %v -> %v", stable, now)
	}
	checkPointers(t, "after a no-op update", obj, pr.Unmodeled)
	if s := get(t, c, conn, id); s.Version != cur.Version {
		t.Errorf("a no-op update moved the version %q -> %q", cur.Version, s.Version)
	}
}

// withServiceName is the case with "{name}" replaced by name everywhere.
func withServiceName(t T, pr *Preserve, name string) *Preserve {
	b, err := json.Marshal(pr)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("{name}"), []byte(name))
	out := new(Preserve)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPointers fails the test for every pointer of want whose value in
// the platform's object differs.
func checkPointers(t T, what string, obj []byte, want map[string]any) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(obj, &doc); err != nil {
		t.Fatalf("%s: the platform's object is not JSON: %v", what, err)
	}
	for ptr, w := range want {
		got, ok := lookup(doc, ptr)
		if !ok || !reflect.DeepEqual(got, normalizeJSON(w)) {
			t.Errorf("%s: %s is %v (present %v), want %v", what, ptr, got, ok, w)
		}
	}
}

// pointerValues reads each pointer (absent ones as nil).
func pointerValues(t T, obj []byte, ptrs []string) map[string]any {
	t.Helper()
	var doc any
	if err := json.Unmarshal(obj, &doc); err != nil {
		t.Fatalf("the platform's object is not JSON: %v", err)
	}
	out := map[string]any{}
	for _, p := range ptrs {
		out[p], _ = lookup(doc, p)
	}
	return out
}

// lookup resolves an RFC 6901 JSON pointer.
func lookup(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// normalizeJSON gives a fixture value the shape json.Unmarshal gives.
func normalizeJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

package ops

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/jsonlimit"
	"github.com/wharfhq/wharf/pluginapi"
)

// chains is an object of n keys, each holding objects nested so that the
// whole document is depth levels deep: {"k0":{"a":{"a":...1}},"k1":...}.
func chains(n, depth int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":`)
		b.WriteString(strings.Repeat(`{"a":`, depth-1))
		b.WriteByte('1')
		b.WriteString(strings.Repeat(`}`, depth-1))
	}
	b.WriteByte('}')
	return b.String()
}

// arrays is the same with arrays: {"k0":[[[...]]],...}.
func arrays(n, depth int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":`)
		b.WriteString(strings.Repeat(`[`, depth-1))
		b.WriteString(strings.Repeat(`]`, depth-1))
	}
	b.WriteByte('}')
	return b.String()
}

// fill returns the largest shape(n, depth) that fits in max bytes.
func fill(shape func(n, depth int) string, depth, max int) string {
	one, two := len(shape(1, depth)), len(shape(2, depth))
	n := 1 + (max-one)/(two-one) // keys grow longer: a few too many
	doc := shape(n, depth)
	for ; len(doc) > max; doc = shape(n, depth) {
		n -= (len(doc)-max)/(two-one) + 1
	}
	return doc
}

// worstPatches are the heaviest patches mergePatch accepts, each merged
// onto a base of the same shape (so the merge walks both all the way down).
func worstPatches(t testing.TB) map[string][2]string {
	out := map[string][2]string{}
	for name, shape := range map[string]func(int, int) string{"objects": chains, "arrays": arrays} {
		doc := fill(shape, jsonlimit.Body.MaxDepth, jsonlimit.Body.MaxBytes)
		if err := jsonlimit.Body.Check([]byte(doc)); err != nil || len(doc) < jsonlimit.Body.MaxBytes-1000 {
			t.Fatalf("%s: %d bytes, %v", name, len(doc), err)
		}
		patch := strings.ReplaceAll(doc, "1}", "2}")
		out[name] = [2]string{doc, patch}
	}
	return out
}

// TestDeepPatchRefusedBeforeMerging performs the attack on the merge itself
// (as a Go program embedding the facade would): refused, naming the limit,
// and so is a merge onto a stored document beyond the limit.
func TestDeepPatchRefusedBeforeMerging(t *testing.T) {
	attack := arrays(20, 9000)
	_, err := mergePatch("spec", json.RawMessage(`{"a":1}`), json.RawMessage(attack))
	if pe := pluginapi.AsError(err); pe.Code != pluginapi.CodeInvalid || !strings.Contains(pe.Message, "JSON nesting deeper than 64 levels at byte") {
		t.Fatalf("attack: %v", err)
	}
	_, err = mergePatch("spec of service web", json.RawMessage(arrays(1, 65)), json.RawMessage(`{"a":1}`))
	if pe := pluginapi.AsError(err); pe.Code != pluginapi.CodeInvalid || !strings.Contains(pe.Message, "the current spec of service web cannot be patched") {
		t.Fatalf("deep base: %v", err)
	}
	if err := decodeAnswer("p", "get", []byte(`{"service":`+strings.Repeat("[", 129)+`}`), func(b []byte) []byte { return b }, &pluginapi.ServiceResponse{}); err == nil ||
		!strings.Contains(err.Error(), "nesting deeper than 128 levels") {
		t.Fatalf("deep answer: %v", err)
	}
}

// TestWorstAcceptedPatchMemory: the heaviest accepted merge allocates a few
// MB, not gigabytes (its time is in BenchmarkWorstAcceptedPatch).
func TestWorstAcceptedPatchMemory(t *testing.T) {
	const maxAlloc = 16 << 20 // evanphx/json-patch: 130-250 MB
	for name, p := range worstPatches(t) {
		base, patch := json.RawMessage(p[0]), json.RawMessage(p[1])
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := mergePatch("spec", base, patch); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > maxAlloc {
			t.Errorf("%s: merging allocated %d MB, want under %d", name, n>>20, maxAlloc>>20)
		} else {
			t.Logf("%s: %d bytes, merging allocated %.1f MB", name, len(p[1]), float64(n)/(1<<20))
		}
	}
}

// BenchmarkWorstAcceptedPatch: time and memory of the heaviest accepted
// merge patch (64 levels, just under 1 MiB, onto a base of the same shape).
func BenchmarkWorstAcceptedPatch(b *testing.B) {
	for name, p := range worstPatches(b) {
		base, patch := json.RawMessage(p[0]), json.RawMessage(p[1])
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p[1])))
			for b.Loop() {
				if _, err := mergePatch("spec", base, patch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

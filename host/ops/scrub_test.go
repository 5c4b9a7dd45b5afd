package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

const testSecret = "tok/9f+3a=c1e&secret"

// decodedStrings lists every JSON string of b, and for each one that is
// base64, its decoding too.
func decodedStrings(b []byte) []string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return []string{string(b)}
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				if d, err := enc.DecodeString(x); err == nil {
					out = append(out, string(d))
				}
			}
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// leaks reports whether b holds the secret in any form the scrubber
// promises to remove, also inside base64 values.
func leaks(b []byte, secret string) bool {
	for _, s := range decodedStrings(b) {
		if s != string(b) && leaksFlat([]byte(s), secret) {
			return true
		}
	}
	return leaksFlat(b, secret)
}

func leaksFlat(b []byte, secret string) bool {
	if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(url.QueryEscape(secret))) || bytes.Contains(b, []byte(url.PathEscape(secret))) {
		return true
	}
	if bytes.Contains(first(unescapeJSON(b)), []byte(secret)) {
		return true
	}
	for _, f := range base64Fragments(secret) {
		if bytes.Contains(b, []byte(f)) {
			return true
		}
	}
	return false
}

func TestScrubberForms(t *testing.T) {
	s := newScrubber([]string{testSecret, "ab"}) // "ab" is too short to scrub
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	uesc := func(v string) string { // every character as \u00XX
		var sb strings.Builder
		for _, c := range []byte(v) {
			sb.WriteString(`\u00` + hex.EncodeToString([]byte{c}))
		}
		return sb.String()
	}
	cases := map[string]string{
		"raw":             `{"status_message":"got Bearer ` + testSecret + `"}`,
		"json escaped":    `{"m":"` + strings.ReplaceAll(testSecret, "/", `\/`) + `"}`,
		"unicode escapes": `{"m":"x` + uesc(testSecret) + `y"}`,
		"query escaped":   `{"m":"?t=` + url.QueryEscape(testSecret) + `"}`,
		"path escaped":    `{"m":"/t/` + url.PathEscape(testSecret) + `"}`,
		"base64 alone":    `{"m":"` + b64(testSecret) + `"}`,
		"basic header":    `{"m":"Authorization: Basic ` + b64("user-1:"+testSecret) + `"}`,
		"base64 offset 2": `{"m":"` + b64("xy"+testSecret+"z") + `"}`,
		"url base64":      `{"m":"` + base64.RawURLEncoding.EncodeToString([]byte("q"+testSecret)) + `"}`,
		"in a key":        `{"labels":{"` + testSecret + `":"v"}}`,
		"not json":        `oops ` + testSecret,
		"nested in array": `{"a":[1,{"b":["` + testSecret + `"]}]}`,
		"body bytes":      `{"body":"` + b64(`{"echo":"`+testSecret+`"}`) + `"}`,
		// Not covered, as documented: base64 of base64, base64 of \u-escaped text.
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out := s.JSON([]byte(in))
			if leaks(out, testSecret) {
				t.Fatalf("secret survived: %s", out)
			}
			// Whole base64 values are decoded, scrubbed and encoded again.
			marked := bytes.Contains(out, []byte(Redaction))
			for _, s := range decodedStrings(out) {
				marked = marked || strings.Contains(s, Redaction)
			}
			if !marked {
				t.Errorf("no %s marker: %s", Redaction, out)
			}
			if json.Valid([]byte(in)) && !json.Valid(out) {
				t.Errorf("valid JSON became invalid: %s", out)
			}
		})
	}
	// A []byte field stays valid base64, with the secret replaced inside.
	var got struct{ Body []byte }
	if err := json.Unmarshal(s.JSON([]byte(cases["body bytes"])), &got); err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != `{"echo":"`+Redaction+`"}` {
		t.Errorf("body = %s", got.Body)
	}
	// Clean answers come back as they were, byte for byte.
	clean := []byte(`{"service":{"id":"ab","name":"web","status":"running","image":"nginx:1.27","labels":{"x":"\u003cb\u003e"}}}`)
	if out := s.JSON(clean); &out[0] != &clean[0] {
		t.Error("a clean answer was re-encoded")
	}
	if newScrubber([]string{"abc", ""}) != nil {
		t.Error("values shorter than MinScrubLen make a scrubber")
	}
	var nilS *scrubber
	if string(nilS.JSON([]byte("x"))) != "x" || nilS.String("y") != "y" || nilS.Error(nil) != nil {
		t.Error("nil scrubber changed something")
	}
}

func TestScrubberError(t *testing.T) {
	s := newScrubber([]string{testSecret})
	err := s.Error(&pluginapi.Error{Code: pluginapi.CodeInternal, Message: "boom " + testSecret, Field: "/" + testSecret,
		Detail: map[string]any{"stderr": "panic: " + testSecret, "n": 1}})
	b, _ := json.Marshal(err)
	if leaks(b, testSecret) || !strings.Contains(string(b), `"n":1`) {
		t.Fatalf("error after scrubbing: %s", b)
	}
}

func TestScrubLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(ScrubLogs(slog.NewTextHandler(&buf, nil)))
	ctx := withScrubber(context.Background(), newScrubber([]string{testSecret}))
	log.InfoContext(ctx, "stole "+testSecret, "attr", testSecret, slog.Group("g", "x", testSecret), "any", []string{testSecret})
	log.With("w", 1).WithGroup("grp").InfoContext(ctx, "again", "v", testSecret)
	log.Info("no call context " + "is left alone")
	if leaks(buf.Bytes(), testSecret) {
		t.Fatalf("log kept the secret:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "is left alone") {
		t.Error("records outside calls lost")
	}
}

// answer is a plugin's get answer of typical size (~3 KB), without secrets.
var answer = func() []byte {
	raw := map[string]any{}
	for i := 0; i < 40; i++ {
		raw["Field"+strings.Repeat("x", i%7)+string(rune('a'+i%26))] = strings.Repeat("value-", 8)
	}
	b, _ := json.Marshal(pluginapi.ServiceResponse{Service: &pluginapi.Service{ID: "k3x9abcdef", Name: "web", Status: pluginapi.StatusRunning,
		Image: "nginx:1.27", Labels: map[string]string{"team": "shop", "html": "<b>"}, Raw: mustJSON(raw)}})
	return b
}()

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// BenchmarkScrubClean is the cost added to every plugin answer without a
// secret in it (the fast path), here a ~3 KB get answer holding \u escapes.
func BenchmarkScrubClean(b *testing.B) {
	s := newScrubber([]string{"tok-7f3a9c1e-secret", "AKIDWHARFTEST00001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-secret"})
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		s.JSON(answer)
	}
}

// BenchmarkScrubHit is the slow path: the answer holds a secret.
func BenchmarkScrubHit(b *testing.B) {
	s := newScrubber([]string{"tok-7f3a9c1e-secret", "AKIDWHARFTEST00001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-secret"})
	dirty := bytes.Replace(answer, []byte("nginx:1.27"), []byte("tok-7f3a9c1e-secret"), 1)
	b.SetBytes(int64(len(dirty)))
	for b.Loop() {
		s.JSON(dirty)
	}
}

// BenchmarkNewScrubber is the cost of building a connection's scrubber, paid once per call.
func BenchmarkNewScrubber(b *testing.B) {
	for b.Loop() {
		newScrubber([]string{"tok-7f3a9c1e-secret", "AKIDWHARFTEST00001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-secret"})
	}
}

func first(b []byte, _ []int) []byte { return b }

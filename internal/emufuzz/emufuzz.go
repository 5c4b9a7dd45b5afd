// Package emufuzz runs one fuzzed request through an emulator and checks
// what every emulator owes any request, for the emulators' fuzz targets.
package emufuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one fuzzed request.
type Request struct {
	Method string
	Target string // path and query
	Body   []byte
	Header http.Header
}

// Serve sends r to h and returns the answer; ok is false when r is not a
// request an HTTP server could receive (then nothing was sent). A request
// that would stream (follow=...) gets a short deadline.
func Serve(t testing.TB, h http.Handler, r Request) (w *httptest.ResponseRecorder, ok bool) {
	t.Helper()
	req, err := http.NewRequest(r.Method, "http://emulator.test"+r.Target, bytes.NewReader(r.Body))
	if err != nil || !strings.HasPrefix(r.Target, "/") || req.URL.Host != "emulator.test" {
		return nil, false
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req.WithContext(ctx))
	return w, true
}

// CheckAnswer fails t unless the answer has a real status and, when it says
// it is JSON, is valid JSON; a JSON error must be an object with errorKey
// (the platform's error field).
func CheckAnswer(t testing.TB, r Request, w *httptest.ResponseRecorder, errorKey string) {
	t.Helper()
	body := w.Body.Bytes()
	if w.Code < 100 || w.Code > 599 {
		t.Fatalf("%s %s: status %d", r.Method, r.Target, w.Code)
	}
	if strings.Contains(w.Header().Get("Content-Type"), "json") && len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		t.Fatalf("%s %s: status %d, JSON answer is not JSON: %.200q", r.Method, r.Target, w.Code, body)
	}
	// Errors the platform writes are JSON with its error field (the router's
	// own plain-text 404 and 405 are left alone).
	if w.Code >= 400 && r.Method != http.MethodHead && strings.Contains(w.Header().Get("Content-Type"), "json") {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || m[errorKey] == nil {
			t.Fatalf("%s %s: status %d without a %q error body: %.200q", r.Method, r.Target, w.Code, errorKey, body)
		}
	}
}

// CheckAuth performs r without the right credentials (header set to the
// fuzzed value bad instead, unless bad happens to be right) and fails t
// unless the answer is 401 and nothing changed: authentication comes before
// any parsing.
func CheckAuth(t testing.TB, h http.Handler, r Request, header, good, bad string, state func() string) {
	t.Helper()
	if bad == good {
		return
	}
	r.Header = r.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set(header, bad)
	before := state()
	w, ok := Serve(t, h, r)
	if !ok {
		return
	}
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("%s %s with %s %q: status %d, want 401", r.Method, r.Target, header, bad, w.Code)
	}
	if after := state(); after != before {
		t.Fatalf("%s %s with %s %q changed the platform", r.Method, r.Target, header, bad)
	}
}

// Snapshot prints every entry of services (under mu) in key order, so a
// fuzz target can tell whether a request changed any of them.
func Snapshot[T any](mu *sync.Mutex, services map[string]*T) string {
	mu.Lock()
	defer mu.Unlock()
	keys := slices.Sorted(maps.Keys(services))
	out := fmt.Sprint(len(keys))
	for _, k := range keys {
		out += fmt.Sprintf("|%s %+v", k, *services[k])
	}
	return out
}

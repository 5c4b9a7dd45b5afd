package dockeremu

import (
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/emufuzz"
)

// FuzzRequest: any request (method, path, query, body) answers like the
// engine: a real status, JSON when it says so, errors as {"message": ...};
// and a service is never created from a body that is not a spec.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"POST", "/v1.47/services/create", `{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"nginx"}},"Mode":{"Replicated":{"Replicas":2}}}`},
		{"GET", "/v1.47/services?filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D&status=1", ""},
		{"POST", "/v1.47/services/web/update?version=x", `{"Name":"web"}`},
		{"GET", "/v1.47/services/web/logs?stdout=1&tail=abc&since=1.5&timestamps=1", ""},
		{"GET", "/v1.47/tasks?filters=%7B%22service%22%3A%5B%22web%22%5D%7D", ""},
		{"DELETE", "/v1.12/services/x", ""},
		{"GET", "/v99.0/_ping", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body))
	}
	emu := New(Options{StartDelay: time.Millisecond})
	emu.SeedDemo()
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		before := len(emu.ServiceIDs())
		r := emufuzz.Request{Method: method, Target: target, Body: body, Header: http.Header{"Content-Type": {"application/json"}}}
		w, ok := emufuzz.Serve(t, emu, r)
		if !ok {
			return
		}
		emufuzz.CheckAnswer(t, r, w, "message")
		if created := len(emu.ServiceIDs()) > before; created && w.Code != http.StatusCreated {
			t.Fatalf("%s %s %q: status %d but a service was created", method, target, body, w.Code)
		}
	})
}

package peakemu

import (
	"net/http"
	"testing"

	"github.com/wharfhq/wharf/internal/emufuzz"
)

// state is a snapshot of every service, to tell whether a request changed one.
func (s *Server) state() string { return emufuzz.Snapshot(&s.mu, s.services) }

// FuzzRequest: any request with the right credentials answers a real
// status, JSON when it says so and errors the platform's way; the same
// request with any other credentials is a 401 that changes nothing.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"POST", "/webapps/api/v1/webapps", `{"name":"web","imageDetails":{"imageUrl":"nginx"},"resources":{"instanceTypeId":1}}`},
		{"GET", "/webapps/api/v1/webapps?pageSize=-1&pageNumber=x&searchTerm=%25", ""},
		{"PATCH", "/webapps/api/v1/webapps/x", `{"description":1}`},
		{"DELETE", "/webapps/api/v1/webapps/x", ""},
		{"POST", "/webapps/api/v1/webapps/web/test", `[]`},
	} {
		f.Add(s.method, s.target, []byte(s.body), "wrong")
	}
	emu := New(Options{})
	emu.SeedDemo()
	f.Fuzz(func(t *testing.T, method, target string, body []byte, badAuth string) {
		r := emufuzz.Request{Method: method, Target: target, Body: body, Header: http.Header{"Content-Type": {"application/json"}}}
		emufuzz.CheckAuth(t, emu, r, "Authorization", emu.opts.APIKey, badAuth, emu.state)
		r.Header.Set("Authorization", emu.opts.APIKey)
		if w, ok := emufuzz.Serve(t, emu, r); ok {
			emufuzz.CheckAnswer(t, r, w, "message")
		}
	})
}

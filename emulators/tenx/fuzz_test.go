package tenxemu

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
		{"POST", "/v1/regions/beijing1/services/web", `{"image":"nginx","replicas":2,"ports":[{"containerPort":80}]}`},
		{"GET", "/v1/regions/beijing1/services?page=x&size=-1", ""},
		{"PUT", "/v1/regions/beijing1/services/web/scale", `{"replicas":"x"}`},
		{"GET", "/v1/regions/beijing1/services/web/logs?tail=x&since=y", ""},
		{"DELETE", "/v1/regions/beijing1/services/web", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body), "wrong")
	}
	emu := New(Options{})
	emu.SeedDemo()
	f.Fuzz(func(t *testing.T, method, target string, body []byte, badAuth string) {
		r := emufuzz.Request{Method: method, Target: target, Body: body, Header: http.Header{"Content-Type": {"application/json"}, "Username": {emu.opts.Username}}}
		emufuzz.CheckAuth(t, emu, r, "Authorization", "token "+emu.opts.Token, badAuth, emu.state)
		r.Header.Set("Authorization", "token "+emu.opts.Token)
		if w, ok := emufuzz.Serve(t, emu, r); ok {
			emufuzz.CheckAnswer(t, r, w, "message")
		}
	})
}

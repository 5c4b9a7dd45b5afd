package abejaemu

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
		{"POST", "/organizations/1111111111111/deployments/9999999999999/services", `{"version_id":"ver-1","instance_type":"cpu-0.25","environment":{"A":"1"}}`},
		{"GET", "/organizations/1111111111111/deployments/9999999999999/services?limit=x&offset=-1", ""},
		{"PATCH", "/organizations/1111111111111/deployments/9999999999999/services/x", `{"min_instance_number":-1}`},
		{"GET", "/organizations/1111111111111/deployments/9999999999999/services/x/recentlogs?next_forward_token=f-1", ""},
		{"POST", "/_subdomain/1111111111111/deployments/9999999999999/services/x", `{}`},
	} {
		f.Add(s.method, s.target, []byte(s.body), "wrong")
	}
	emu := New(Options{})
	emu.SeedDemo()
	f.Fuzz(func(t *testing.T, method, target string, body []byte, badAuth string) {
		r := emufuzz.Request{Method: method, Target: target, Body: body, Header: http.Header{"Content-Type": {"application/json"}}}
		emufuzz.CheckAuth(t, emu, r, "Authorization", "Bearer "+emu.opts.Token, badAuth, emu.state)
		r.Header.Set("Authorization", "Bearer "+emu.opts.Token)
		if w, ok := emufuzz.Serve(t, emu, r); ok {
			emufuzz.CheckAnswer(t, r, w, "error")
		}
	})
}

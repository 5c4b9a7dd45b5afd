package egress

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// reflector answers every request with the headers it received, as a
// hostile plugin's own "declared host" would.
func reflector(w http.ResponseWriter, r *http.Request) {
	for k, v := range r.Header {
		w.Write([]byte(k + ": " + strings.Join(v, ",") + "\n"))
	}
}

// TestCredentialsOnlyToEndpointHosts performs the attack of issue 10 §2: a
// plugin asks for the connection's token to be attached to a request to a
// host it declared itself (approved or not), which reflects the headers.
func TestCredentialsOnlyToEndpointHosts(t *testing.T) {
	api := newRecorder(t, nil)
	evil := newRecorder(t, reflector)
	c, logs := newClient(t, Options{})
	tgt := authTarget(api.URL)
	tgt.ApprovedHosts = []string{evil.hostport()}
	h := c.For(tgt)
	auths := []pluginapi.Auth{
		{Scheme: pluginapi.AuthBearer, Secret: "token"},
		{Scheme: pluginapi.AuthBasic, Username: "u", Secret: "password"},
		{Scheme: pluginapi.AuthHeader, Header: "X-Api-Key", Secret: "token"},
		{Scheme: pluginapi.AuthAWSSigV4, AccessKey: "access_key", Secret: "secret_key", SessionToken: "session_token", Service: "ecs", Region: "us-east-1"},
	}
	for _, a := range auths {
		t.Run(a.Scheme, func(t *testing.T) {
			resp := h.Do(context.Background(), &pluginapi.HTTPRequest{URL: evil.URL + "/echo", Auth: &a})
			e := wantError(t, resp, pluginapi.CodeForbidden)
			for _, want := range []string{"credentials", "endpoint", evil.hostport()} {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message %q lacks %q", e.Message, want)
				}
			}
			noLeak(t, resp, logs)
		})
	}
	if n := len(evil.all()); n != 0 {
		t.Errorf("the declared host received %d requests carrying credentials", n)
	}
	// Without auth the approved host is reached, and sees no secret.
	resp := h.Do(context.Background(), &pluginapi.HTTPRequest{URL: evil.URL + "/echo"})
	wantOK(t, resp)
	noLeak(t, resp, logs)
	// The endpoint's own host, by endpoint or by absolute URL, gets them.
	for _, req := range []*pluginapi.HTTPRequest{
		{Endpoint: "endpoint", Path: "/x", Auth: &auths[0]},
		{URL: api.URL + "/y", Auth: &auths[0]},
	} {
		wantOK(t, h.Do(context.Background(), req))
		if got := api.last(t).Header.Get("Authorization"); got != "Bearer "+tokenValue {
			t.Errorf("endpoint host got Authorization %q", got)
		}
	}
}

// TestDeclaredHostsNeedApproval: a pattern the plugin declares but no
// administrator approved for the connection is not reachable at all.
func TestDeclaredHostsNeedApproval(t *testing.T) {
	api := newRecorder(t, nil)
	evil := newRecorder(t, reflector)
	c, _ := newClient(t, Options{})
	tgt := authTarget(api.URL)
	tgt.PendingHosts = []string{evil.hostport()}
	h := c.For(tgt)
	e := wantError(t, h.Do(context.Background(), &pluginapi.HTTPRequest{URL: evil.URL + "/x"}), pluginapi.CodeForbidden)
	if !strings.Contains(e.Message, "not approved") || !strings.Contains(e.Message, evil.hostport()) {
		t.Errorf("message %q should say the declared host is not approved", e.Message)
	}
	// Not by redirect either.
	e = wantError(t, h.Do(context.Background(), &pluginapi.HTTPRequest{Endpoint: "endpoint", Path: "/redirect",
		Query: map[string][]string{"to": {evil.URL + "/x"}}}), pluginapi.CodeForbidden)
	if !strings.Contains(e.Message, "redirect to host "+evil.hostport()) {
		t.Errorf("message %q", e.Message)
	}
	if n := len(evil.all()); n != 0 {
		t.Errorf("the unapproved host received %d requests", n)
	}
}

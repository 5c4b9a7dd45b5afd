package webhooks_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/webhooks"
)

// TestCheckNamesTheField: every bad setting is refused naming its field,
// never echoing the secret; good ones pass.
func TestCheckNamesTheField(t *testing.T) {
	good := webhooks.Subscription{Name: "ci", URL: "https://hooks.example.com/wharf", Secret: secret, Events: []string{"service.*", "audit"}, Selector: "team=payments"}
	if err := webhooks.Check([]webhooks.Subscription{good,
		{Name: "local", URL: "http://127.0.0.1:9000/x", Secret: secret, Events: []string{"*"}},
		{Name: "lan", URL: "http://10.0.0.5/x", Secret: secret, Events: []string{"service.status"}, AllowHTTP: true},
	}); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	cases := []struct {
		name string
		edit func(*webhooks.Subscription)
		want string
	}{
		{"bad name", func(s *webhooks.Subscription) { s.Name = "CI hook" }, "webhooks[0].name:"},
		{"no url", func(s *webhooks.Subscription) { s.URL = "" }, "webhooks[0].url: required"},
		{"ftp", func(s *webhooks.Subscription) { s.URL = "ftp://hooks.example.com/" }, "webhooks[0].url: the scheme must be https or http"},
		{"plain http out", func(s *webhooks.Subscription) { s.URL = "http://hooks.example.com/x?token=zzsecretzz" }, "webhooks[0].url: http://hooks.example.com/x?token=xxxxx is plain http"},
		{"no host", func(s *webhooks.Subscription) { s.URL = "https:///x" }, "webhooks[0].url:"},
		{"short secret", func(s *webhooks.Subscription) { s.Secret = "short" }, "webhooks[0].secret: required, at least 16"},
		{"no events", func(s *webhooks.Subscription) { s.Events = nil }, "webhooks[0].events: name at least one"},
		{"unknown event", func(s *webhooks.Subscription) { s.Events = []string{"audit", "servce.*"} }, `webhooks[0].events[1]: "servce.*" matches no event type`},
		{"bad glob", func(s *webhooks.Subscription) { s.Events = []string{"service.["} }, "webhooks[0].events[0]:"},
		{"bad selector", func(s *webhooks.Subscription) { s.Selector = "team in (a" }, "webhooks[0].selector:"},
	}
	for _, tc := range cases {
		s := good
		tc.edit(&s)
		err := webhooks.Check([]webhooks.Subscription{s})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "zzsecretzz")) {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
	}
	if err := webhooks.Check([]webhooks.Subscription{good, good}); err == nil || !strings.Contains(err.Error(), "webhooks[1].name: a second webhook called ci") {
		t.Errorf("duplicate: %v", err)
	}
}

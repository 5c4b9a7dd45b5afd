package web_test

import (
	"context"
	"testing"

	"github.com/wharfhq/wharf/web/internal/webtest"
)

// A connection whose plugin trapped five times in a row (the default
// failure policy) shows its "failing" badge on the connections page, and
// the plugin's page counts it.
func TestPortalShowsFailingConnection(t *testing.T) {
	env, c := newEnv(t, webtest.Options{ExtraPlugins: []string{"./internal/testplugins/panics"}})
	for range 5 {
		if _, err := env.Host.GetService(context.Background(), webtest.Admin, "panics", "x"); err == nil {
			t.Fatal("the panics plugin's get answered")
		}
	}
	expect(t, c.Get("/plugins"), 200, "data-failing", ">failing</span>", "failed 5 times in a row (last: trap:", "retried at")
	expect(t, c.Get("/plugins/panics"), 200, "after 5 traps or timeouts in a row", "for 30s (doubling up to 5m0s)", "1 failing")
}

package ops_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

// Each connection's health is its last check: the periodic one or a Test,
// with latency and the error when it failed; a hung platform costs the
// timeout; a deleted connection takes its health with it.
func TestConnectionHealth(t *testing.T) {
	ctx := context.Background()
	e := opstest.New(t, opstest.Options{})
	bad := []byte(`{"endpoint":"` + e.PlatformURL + `","token":"wrong"}`)
	if _, err := e.Host.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: "bad", Plugin: "fake", Config: bad}); err != nil {
		t.Fatal(err)
	}
	health := func(name string) *ops.Health {
		t.Helper()
		c, err := e.Host.GetConnection(ctx, e.Admin, name)
		if err != nil {
			t.Fatal(err)
		}
		return c.Health
	}
	if h := health(opstest.Conn); h != nil {
		t.Fatalf("health before any check: %+v", h)
	}
	before := time.Now().Add(-time.Second)
	e.Host.CheckConnections(ctx, 5*time.Second)
	good, wrong := health(opstest.Conn), health("bad")
	if good == nil || !good.OK || good.Error != nil || good.Manual || good.CheckedAt.Before(before) || good.LatencyMS < 0 {
		t.Fatalf("a working connection's health: %+v", good)
	}
	if wrong == nil || wrong.OK || wrong.Error == nil || wrong.Error.Code != pluginapi.CodeUnauthorized {
		t.Fatalf("a connection with a wrong token: %+v", wrong)
	}

	// A hung platform: the check gives up at its timeout.
	release := make(chan struct{})
	e.Platform.Hold = func(*http.Request) { <-release }
	began := time.Now()
	e.Host.CheckConnections(ctx, 300*time.Millisecond)
	took := time.Since(began)
	close(release)
	e.Platform.Hold = nil
	if h := health(opstest.Conn); h.OK || h.Error == nil || took > 5*time.Second {
		t.Fatalf("a hung platform: %+v after %v", h, took)
	}

	// A Test is recorded too, as manual.
	if res, err := e.Host.TestConnection(ctx, e.Admin, opstest.Conn); err != nil || !res.OK {
		t.Fatalf("test: %+v %v", res, err)
	}
	if h := health(opstest.Conn); !h.OK || !h.Manual {
		t.Fatalf("after a Test: %+v", h)
	}

	// Deleted and made again: no health from the old one.
	if err := e.Host.DeleteConnection(ctx, e.Admin, "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Host.CreateConnection(ctx, e.Admin, ops.ConnectionInput{Name: "bad", Plugin: "fake", Config: e.Config()}); err != nil {
		t.Fatal(err)
	}
	if h := health("bad"); h != nil {
		t.Fatalf("a new connection of a deleted one's name has its health: %+v", h)
	}
}

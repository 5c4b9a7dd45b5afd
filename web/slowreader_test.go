package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// TestSlowLogReaderCannotGrowMemory: a viewer that never reads, on a chatty
// service, is skipped and then dropped by the write deadline, while the
// server's held bytes stay bounded and a normal viewer keeps receiving.
func TestSlowLogReaderCannotGrowMemory(t *testing.T) {
	var p *portal
	registered = func(x *portal) { p = x }
	// Small server-side socket buffers stand for a slow network, so that a
	// reader that does not read blocks the server's writes quickly.
	wsConnHook = func(c *websocket.Conn) {
		if tc, ok := c.UnderlyingConn().(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(8192)
		}
	}
	defer func() { registered, wsConnHook = nil, nil }()
	env := webtest.New(t, webtest.Options{
		Docker: dockeremu.Options{StartDelay: 50 * time.Millisecond, LogEvery: 5 * time.Millisecond},
		Faces:  []server.Face{Face(Options{WSWriteTimeout: 300 * time.Millisecond, WSPingInterval: time.Second, LogBuffer: 200})},
	})
	res, err := env.Host.CreateService(context.Background(), webtest.Admin, "swarm",
		json.RawMessage(`{"name":"chatty","image":"busybox","replicas":2}`))
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/services/swarm/" + res.Service.ID + "/logs/ws?tail=1000"

	// The slow viewer: a tiny receive buffer, and it never reads.
	slowDialer := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	slow, _, err := slowDialer.Dial(wsURL, http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// A normal viewer keeps receiving meanwhile.
	fast, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	fastLines := 0
	deadline := time.Now().Add(30 * time.Second)
	for p.logs.dropped.Load() == 0 && time.Now().Before(deadline) {
		_ = fast.SetReadDeadline(time.Now().Add(20 * time.Second))
		var m wireMsg
		if err := fast.ReadJSON(&m); err != nil {
			t.Fatalf("the fast viewer stopped receiving after %d items: %v (skipped=%d dropped=%d)", fastLines, err, p.logs.skipped.Load(), p.logs.dropped.Load())
		}
		fastLines += len(m.Items)
	}
	if p.logs.dropped.Load() == 0 {
		t.Fatalf("the viewer that never reads was not dropped (skipped=%d, max held=%d bytes)", p.logs.skipped.Load(), p.logs.maxQueued.Load())
	}
	for p.logs.active.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.logs.active.Load(); n != 1 {
		t.Errorf("%d log viewers still served, want only the fast one", n)
	}
	// The fast viewer is still served after the slow one is gone.
	_ = fast.SetReadDeadline(time.Now().Add(20 * time.Second))
	var m wireMsg
	if err := fast.ReadJSON(&m); err != nil {
		t.Fatalf("the fast viewer stopped after the slow one was dropped: %v", err)
	}
	// At most one bounded message per viewer is held besides the
	// subscription buffers (bounded by logfanout).
	if held, limit := p.logs.maxQueued.Load(), int64(2*(wireBatchMax+wireLineMax)); held > limit {
		t.Errorf("server held %d bytes for log viewers at once, over %d", held, limit)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 64<<20 {
		t.Errorf("heap grew by %d MiB while a viewer did not read", grow>>20)
	}
	if fastLines == 0 {
		t.Error("the fast viewer got no lines")
	}
	t.Logf("fast viewer got %d items; slow viewer skipped ~%d entries before being dropped; max held %d bytes",
		fastLines, p.logs.skipped.Load(), p.logs.maxQueued.Load())
}

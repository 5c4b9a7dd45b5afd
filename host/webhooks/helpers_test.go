package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const secret = "a-webhook-secret-of-some-length"

// connectionsKey is the key of connection configs, which a PostgreSQL
// host must be given (and a SQLite one may).
var connectionsKey = bytes.Repeat([]byte{7}, connstore.KeySize)

// received is one request a receiver got, its signature checked.
type received struct {
	header  http.Header
	body    []byte
	payload webhooks.Payload
	// verified is Verify's verdict with the right secret.
	verified error
}

// receiver is a real HTTP server that verifies signatures and records
// what it got. answer, if set, picks the status of the n-th request
// (from 1); hold, if set, blocks each request until it is closed or the
// client goes away.
type receiver struct {
	*httptest.Server
	t      testing.TB
	mu     sync.Mutex
	got    []received
	notify chan struct{}
	answer func(n int) int
	hold   chan struct{}
	// entered is signalled when a request arrives (before hold).
	entered chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, notify: make(chan struct{}, 1000), entered: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	rec := received{header: req.Header.Clone(), body: body, verified: webhooks.Verify(secret, req.Header, body, 5*time.Minute, time.Now())}
	if err := json.Unmarshal(body, &rec.payload); err != nil {
		r.t.Errorf("receiver: body is not a payload: %v\n%s", err, body)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("receiver: Content-Type %q", ct)
	}
	r.entered <- struct{}{}
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	r.got = append(r.got, rec)
	n := len(r.got)
	answer := r.answer
	r.mu.Unlock()
	status := 204
	if answer != nil {
		status = answer(n)
	}
	w.WriteHeader(status)
	r.notify <- struct{}{}
}

// wait waits until the receiver has answered n requests and returns them.
func (r *receiver) wait(n int) []received {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]received(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("receiver: %d requests, waited for %d", len(r.all()), n)
		}
	}
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// types are the event types of rs, in order.
func types(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.payload.Type)
	}
	return out
}

// host is a real host: SQLite, audit log, the fake plugin in the wasm
// runtime, the fake platform, and the webhooks.
type host struct {
	*server.Server
	plat    *fakeplatform.Server
	platURL string
	dir     string
	db      string // the database URL, "" for SQLite
}

var owner = ops.Caller{Actor: "alice", Role: ops.RoleOwner}

// newHost starts a host in dir (a new folder if empty) with subs.
func newHost(t *testing.T, dir string, subs []webhooks.Subscription, o webhooks.Options) *host {
	t.Helper()
	return newHostOn(t, dir, "", subs, o)
}

// newHostOn is newHost on a database (a PostgreSQL URL; "": SQLite in dir).
func newHostOn(t *testing.T, dir, database string, subs []webhooks.Subscription, o webhooks.Options) *host {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := server.New(context.Background(), server.Config{DataDir: dir, PluginFiles: []string{opstest.PluginPath(t)},
		Logger: slog.New(slog.DiscardHandler), Database: database, ConnectionsKey: connectionsKey,
		Runtime: runtime.Config{CacheDir: opstest.CacheDir()}, Webhooks: subs, WebhookOptions: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	plat := fakeplatform.New(opstest.PlatformToken)
	srv := httptest.NewServer(plat)
	t.Cleanup(srv.Close)
	return &host{Server: s, plat: plat, platURL: srv.URL, dir: dir, db: database}
}

// connect creates (or replaces) connection name with labels.
func (h *host) connect(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	cfg := `{"endpoint":"` + h.platURL + `","token":"` + opstest.PlatformToken + `"}`
	if _, err := h.Host.PutConnection(context.Background(), owner, ops.ConnectionInput{Name: name, Plugin: "fake",
		Config: json.RawMessage(cfg), Labels: labels}); err != nil {
		t.Fatal(err)
	}
}

// onEngines runs f as the subtests sqlite and postgres, with the database
// URL to give newHostOn.
func onEngines(t *testing.T, f func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "") })
	t.Run("postgres", func(t *testing.T) { f(t, pgtest.New(t)) })
}

func fastBackoff(int) time.Duration { return time.Millisecond }

func sub(name, url string, events []string, selector string) webhooks.Subscription {
	return webhooks.Subscription{Name: name, URL: url, Secret: secret, Events: events, Selector: selector}
}

// deliveries reads a subscription's delivery log through the owner view.
func deliveries(t *testing.T, s *webhooks.Service, name string) []webhooks.Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), owner, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// view is a subscription's view.
func view(t *testing.T, s *webhooks.Service, name string) webhooks.View {
	t.Helper()
	vs, err := s.List(owner)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no subscription %s in %v", name, vs)
	return webhooks.View{}
}

// waitFor polls cond (the delivery log is written after the receiver
// answers), failing after a long bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

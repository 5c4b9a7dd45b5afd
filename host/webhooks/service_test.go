package webhooks_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/host/webhooks"
	"github.com/wharfhq/wharf/internal/pgtest"
)

// forEachEngine runs f on a new SQLite file and a new PostgreSQL database.
func forEachEngine(t *testing.T, f func(t *testing.T, db *sql.DB)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "wharf.db")
			if engine == "postgres" {
				dsn = pgtest.New(t)
			}
			db, err := store.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f(t, db)
		})
	}
}

func newService(t *testing.T, db *sql.DB, subs []webhooks.Subscription, o webhooks.Options) *webhooks.Service {
	t.Helper()
	o.DB = db
	s, err := webhooks.New(context.Background(), subs, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func event(n int) ops.Event {
	return ops.Event{Type: ops.EventServiceUpdated, Time: time.Now(), Connection: "c", ServiceID: fmt.Sprint("svc-", n),
		Data: map[string]any{"n": n}}
}

// counter is a Metrics that counts.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) WebhookDelivery(sub, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[sub+"/"+outcome]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// TestRetries: 500 then 200 is retried and delivered; 429 and 408 are
// retried; another 4xx and a redirect are not; attempts stop at MaxAttempts.
func TestRetries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		answers := map[string][]int{"flaky": {500, 200}, "busy": {429, 408, 204}, "gone": {410}, "moved": {302}, "down": {503}}
		var subs []webhooks.Subscription
		recv := map[string]*receiver{}
		for name, seq := range answers {
			r := newReceiver(t)
			r.answer = func(n int) int { return seq[min(n, len(seq))-1] }
			recv[name] = r
			subs = append(subs, sub(name, r.URL, []string{"*"}, ""))
		}
		m := &counter{}
		s := newService(t, db, subs, webhooks.Options{Backoff: fastBackoff, MaxAttempts: 4, Metrics: m})
		s.HostEvent(event(1))

		want := map[string]struct {
			requests int
			status   string
			http     int
		}{
			"flaky": {2, webhooks.StatusDelivered, 200}, "busy": {3, webhooks.StatusDelivered, 204},
			"gone": {1, webhooks.StatusFailed, 410}, "moved": {1, webhooks.StatusFailed, 302}, "down": {4, webhooks.StatusFailed, 503},
		}
		for name, w := range want {
			got := recv[name].wait(w.requests)
			for _, r := range got {
				if r.verified != nil || r.header.Get(webhooks.HeaderID) != got[0].payload.ID {
					t.Errorf("%s: %v, id %s", name, r.verified, r.header.Get(webhooks.HeaderID))
				}
			}
			waitFor(t, name+" settled", func() bool {
				ds := deliveries(t, s, name)
				return len(ds) == 1 && ds[0].Status != webhooks.StatusPending
			})
			d := deliveries(t, s, name)[0]
			if d.Status != w.status || d.Attempts != w.requests || d.HTTPStatus != w.http || d.NextAttempt != nil {
				t.Errorf("%s: delivery %+v, want %s after %d attempts", name, d, w.status, w.requests)
			}
			if w.status == webhooks.StatusFailed && d.Error == "" {
				t.Errorf("%s: failed without an error", name)
			}
			if n := len(recv[name].all()); n != w.requests {
				t.Errorf("%s: %d requests, want %d", name, n, w.requests)
			}
		}
		if d := deliveries(t, s, "moved")[0]; !strings.Contains(d.Error, "redirect") {
			t.Errorf("redirect error %q", d.Error)
		}
		if d := deliveries(t, s, "down")[0]; !strings.Contains(d.Error, "giving up") {
			t.Errorf("exhausted error %q", d.Error)
		}
		if m.get("flaky/retry") != 1 || m.get("flaky/delivered") != 1 || m.get("down/retry") != 3 || m.get("down/failed") != 1 || m.get("gone/failed") != 1 {
			t.Errorf("metrics %v", m.n)
		}
	})
}

// TestOverflowDropsOldest: with the worker held by a hanging receiver,
// events beyond the queue's bound drop the oldest queued ones, which the
// delivery log records as dropped and the counters count.
func TestOverflowDropsOldest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		r := newReceiver(t)
		r.hold = make(chan struct{})
		s := newService(t, db, []webhooks.Subscription{sub("small", r.URL, []string{"*"}, "")}, webhooks.Options{QueueSize: 2, Timeout: time.Minute})
		s.HostEvent(event(0))
		<-r.entered // event 0 is being sent; the queue is empty
		for i := 1; i <= 5; i++ {
			s.HostEvent(event(i))
		}
		if v := view(t, s, "small"); v.Queued != 2 || v.Dropped != 3 {
			t.Fatalf("view %+v, want 2 queued and 3 dropped", v)
		}
		close(r.hold)
		got := r.wait(3)
		var sent []string
		for _, g := range got {
			sent = append(sent, g.payload.Service.ID)
		}
		if strings.Join(sent, ",") != "svc-0,svc-4,svc-5" {
			t.Fatalf("sent %v, want the first and the two newest", sent)
		}
		waitFor(t, "drops recorded", func() bool { return len(deliveries(t, s, "small")) == 6 })
		dropped := 0
		for _, d := range deliveries(t, s, "small") {
			if d.Status == webhooks.StatusDropped {
				dropped++
				if d.Attempts != 0 || !strings.Contains(d.Error, "queue was full") {
					t.Errorf("dropped delivery %+v", d)
				}
			}
		}
		if dropped != 3 {
			t.Fatalf("%d dropped deliveries in the log, want 3", dropped)
		}
	})
}

// TestLogKeepsNewest: the delivery log keeps a bounded number of
// finished deliveries per subscription.
func TestLogKeepsNewest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sql.DB) {
		r := newReceiver(t)
		s := newService(t, db, []webhooks.Subscription{sub("ci", r.URL, []string{"*"}, "")}, webhooks.Options{Keep: 5})
		for i := range 40 {
			s.HostEvent(event(i))
		}
		r.wait(40)
		waitFor(t, "all delivered", func() bool { return view(t, s, "ci").Delivered == 40 })
		ds, err := s.Deliveries(context.Background(), owner, "ci", webhooks.MaxDeliveries)
		if err != nil {
			t.Fatal(err)
		}
		// Trimmed every 16 new rows: at most Keep plus that many.
		if len(ds) < 5 || len(ds) > 5+16 {
			t.Fatalf("%d deliveries kept, want 5 to 21", len(ds))
		}
		if ds[0].CreatedAt.Before(ds[len(ds)-1].CreatedAt) {
			t.Fatalf("not newest first: %+v", ds)
		}
	})
}

// TestDialerRefusesMetadata: a subscription aimed at the cloud metadata
// address (allowed by config: http there needs allow_http) is refused by
// the dialer, before any packet leaves.
func TestDialerRefusesMetadata(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	subs := []webhooks.Subscription{
		{Name: "v4", URL: "http://169.254.169.254/latest/meta-data/", Secret: secret, Events: []string{"*"}, AllowHTTP: true},
		{Name: "v6", URL: "http://[fd00:ec2::254]/latest/", Secret: secret, Events: []string{"*"}, AllowHTTP: true},
	}
	s := newService(t, db, subs, webhooks.Options{MaxAttempts: 1})
	for _, name := range []string{"v4", "v6"} {
		d, err := s.Test(context.Background(), owner, name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != webhooks.StatusFailed || !strings.Contains(d.Error, "link-local and cloud metadata") || d.HTTPStatus != 0 {
			t.Fatalf("%s: %+v", name, d)
		}
	}
}

// TestSignature: Sign is HMAC-SHA256 of "<timestamp>.<body>"; Verify
// refuses a wrong secret, a changed body and an old timestamp.
func TestSignature(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	// Computed independently: printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac a-webhook-secret-of-some-length
	want := "v1=ccc82c92dde28a666b7e17b6266dd3c6f2394eb59ae2f9ca9905ab0d7b6c4abc"
	if got := webhooks.Sign(secret, 1700000000, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set(webhooks.HeaderTimestamp, "1700000000")
	h.Set(webhooks.HeaderSignature, want)
	at := time.Unix(1700000000, 0)
	if err := webhooks.Verify(secret, h, body, time.Minute, at.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"wrong secret": webhooks.Verify("another-secret-of-some-length", h, body, time.Minute, at),
		"changed body": webhooks.Verify(secret, h, []byte(`{"id":"evt_2"}`), time.Minute, at),
		"replayed":     webhooks.Verify(secret, h, body, time.Minute, at.Add(2*time.Minute)),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestRedirectNotFollowed: the receiver's redirect target never gets the
// delivery.
func TestRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t)
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	db, err := store.Open(filepath.Join(t.TempDir(), "wharf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newService(t, db, []webhooks.Subscription{sub("r", redirector.URL, []string{"*"}, "")}, webhooks.Options{})
	d, err := s.Test(context.Background(), owner, "r")
	if err != nil || d.Status != webhooks.StatusFailed || d.HTTPStatus != 307 {
		t.Fatalf("%+v %v", d, err)
	}
	if n := len(target.all()); n != 0 {
		t.Fatalf("the redirect was followed: %d requests", n)
	}
}

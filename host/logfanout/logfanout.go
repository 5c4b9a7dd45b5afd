// Package logfanout follows a service's logs once and shares the lines with
// every subscriber: one upstream follower per (connection, service), polling
// the plugin's "logs" operation with its cursor, however many browsers or
// CLI clients are watching.
//
// Each subscriber has a bounded buffer. A subscriber that reads too slowly
// loses the oldest lines and receives an explicit Item{Skipped: N} in their
// place, so that memory stays bounded and the fast subscribers are never
// held back by the slow ones. The follower stops when its last subscriber
// leaves.
package logfanout

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Key names what is followed: a service of a connection.
type Key struct {
	Connection string
	Service    string
}

// Item is one element of a batch: a log entry, or a marker saying that
// Skipped entries were dropped here because the subscriber fell behind, or
// a transient Error of the upstream follower (which keeps trying).
type Item struct {
	Entry   *pluginapi.LogEntry `json:"entry,omitempty"`
	Skipped int                 `json:"skipped,omitempty"`
	Error   *pluginapi.Error    `json:"error,omitempty"`
}

// Source fetches log pages for a key. The ops facade implements it on top
// of plugin calls; it carries the connection's config and credentials, so
// the hub itself knows nothing of plugins.
type Source interface {
	// Logs makes one "logs" call. Connection and Config of req are filled
	// in by the Source.
	Logs(ctx context.Context, key Key, req pluginapi.LogsRequest) (*pluginapi.LogsResponse, error)
	// LogsCapabilities says what the plugin behind key honours (poll
	// interval, since, tail). An error (unknown connection) refuses the
	// subscription.
	LogsCapabilities(ctx context.Context, key Key) (pluginapi.LogsCapabilities, error)
}

// Config configures a Hub.
type Config struct {
	Source Source
	// Buffer is the default number of entries a subscriber may have
	// waiting before the oldest are dropped; default 1000.
	Buffer int
	// DefaultInterval is the poll interval when the plugin does not say
	// one; default 1s.
	DefaultInterval time.Duration
	// MaxBackoff caps the wait after upstream errors; default 30s.
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

// Hub owns the followers.
type Hub struct {
	cfg       Config
	mu        sync.Mutex
	followers map[followKey]*follower
	closed    bool
}

// followKey names a follower: followers with an until are separate from
// the open-ended one, since the plugin filters and ends by it.
type followKey struct {
	Key
	until int64 // Unix nanoseconds; 0 for none
}

func keyOf(key Key, until *time.Time) followKey {
	fk := followKey{Key: key}
	if until != nil {
		fk.until = until.UnixNano()
	}
	return fk
}

// New returns a Hub reading from cfg.Source.
func New(cfg Config) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1000
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{cfg: cfg, followers: map[followKey]*follower{}}
}

// Options shape one subscription.
type Options struct {
	// Tail asks for the last Tail entries first (one "logs" call), before
	// the followed ones; 0 means only new entries. The first subscriber's
	// follower continues exactly from the tail's cursor; one joining a
	// running follower may see a line twice or miss one at the seam.
	Tail int
	// Since asks for the entries since this time first, like Tail (both
	// may be combined when the plugin honours both).
	Since *time.Time
	// Stdout and Stderr select streams; both false means both. Entries
	// whose stream is unknown always pass.
	Stdout, Stderr bool
	// Details keeps the platform's details on entries.
	Details bool
	// Instance keeps only the entries of one instance.
	Instance string
	// Until ends the subscription once every entry up to this time has
	// been delivered (the plugin answers End). Subscriptions with the same
	// Until share a follower of their own, which passes it on every call.
	Until *time.Time
	// Buffer overrides the hub's default buffer size.
	Buffer int
}

// Followers returns how many upstream followers are running.
func (h *Hub) Followers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.followers)
}

// Subscribers returns how many subscriptions the running followers feed
// (portal viewers, API streams).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	fs := make([]*follower, 0, len(h.followers))
	for _, f := range h.followers {
		fs = append(fs, f)
	}
	h.mu.Unlock()
	n := 0
	for _, f := range fs {
		f.mu.Lock()
		n += len(f.subs)
		f.mu.Unlock()
	}
	return n
}

// Close stops every follower and ends every subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	fs := h.followers
	h.followers = map[followKey]*follower{}
	h.mu.Unlock()
	for _, f := range fs {
		f.stop(pluginapi.Errorf(pluginapi.CodeUnavailable, "log follower stopped: host shutting down"))
	}
}

// Subscribe starts receiving key's log entries on the returned
// Subscription until ctx ends or Close is called. The first batch holds the
// requested tail (if any); later batches hold entries as they appear.
func (h *Hub) Subscribe(ctx context.Context, key Key, opts Options) (*Subscription, error) {
	caps, err := h.cfg.Source.LogsCapabilities(ctx, key)
	if err != nil {
		return nil, pluginapi.AsError(err)
	}
	var first []Item
	startCursor := ""
	ended := false // the first read already reached until
	if opts.Tail > 0 || opts.Since != nil {
		resp, err := h.cfg.Source.Logs(ctx, key, pluginapi.LogsRequest{
			Tail: opts.Tail, Since: opts.Since, Until: opts.Until, Details: true})
		if err != nil {
			return nil, pluginapi.AsError(err)
		}
		startCursor, ended = resp.Cursor, resp.End
		for i := range resp.Entries {
			first = append(first, Item{Entry: &resp.Entries[i]})
		}
	}
	if opts.Buffer <= 0 {
		opts.Buffer = h.cfg.Buffer
	}
	s := newSubscription(opts)
	s.queue = filter(first, opts)
	if ended {
		// Nothing can follow: deliver the first batch and end, no follower.
		s.leave = func() {}
		s.end(nil)
		go s.pump(ctx)
		return s, nil
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "log follower stopped: host shutting down")
	}
	fk := keyOf(key, opts.Until)
	f := h.followers[fk]
	if f == nil {
		f = h.startFollower(fk, opts.Until, caps, startCursor)
		h.followers[fk] = f
	}
	f.add(s)
	h.mu.Unlock()

	s.leave = func() { h.leave(f, s) }
	go s.pump(ctx)
	if len(s.queue) > 0 {
		s.signal()
	}
	return s, nil
}

func (h *Hub) leave(f *follower, s *Subscription) {
	h.mu.Lock()
	last := f.remove(s)
	if last && h.followers[f.fkey] == f {
		delete(h.followers, f.fkey)
	}
	h.mu.Unlock()
	if last {
		f.cancel()
	}
}

func filter(items []Item, o Options) []Item {
	out := items[:0:0]
	for _, it := range items {
		if it.Entry != nil {
			e := it.Entry
			if o.Stdout != o.Stderr && e.Stream != "" {
				if (o.Stdout && e.Stream != "stdout") || (o.Stderr && e.Stream != "stderr") {
					continue
				}
			}
			if o.Instance != "" && e.Instance != o.Instance {
				continue
			}
			if !o.Details && e.Details != nil {
				c := *e
				c.Details = nil
				it.Entry = &c
			}
		}
		out = append(out, it)
	}
	return out
}

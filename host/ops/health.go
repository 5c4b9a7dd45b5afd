package ops

import (
	"context"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Health is the last check of a connection: the same one-item list as
// TestConnection, made by the host every health interval and by each
// Test. It is this replica's view (replicas check on their own).
type Health struct {
	OK        bool             `json:"ok"`
	CheckedAt time.Time        `json:"checked_at"`
	LatencyMS int64            `json:"latency_ms"`
	Error     *pluginapi.Error `json:"error,omitempty"`
	// Manual says it was a Test by someone, not the periodic check.
	Manual bool `json:"manual,omitempty"`
}

// Health check defaults.
const (
	DefaultHealthInterval = time.Minute
	DefaultHealthTimeout  = 10 * time.Second
	healthWorkers         = 4
)

// healthBook keeps one Health per connection, so it is bounded by the
// connections there are; a deleted connection's entry goes with it.
type healthBook struct {
	mu sync.Mutex
	by map[string]Health
}

func (b *healthBook) set(name string, hl Health) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.by == nil {
		b.by = map[string]Health{}
	}
	b.by[name] = hl
}

func (b *healthBook) get(name string) *Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	if hl, ok := b.by[name]; ok {
		return &hl
	}
	return nil
}

// keep drops the entries of connections not in names.
func (b *healthBook) keep(names map[string]bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for n := range b.by {
		if !names[n] {
			delete(b.by, n)
		}
	}
}

func (b *healthBook) forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.by, name)
}

// probe makes the check's call and says how it went. A plugin error is
// the result, not a failure of the probe.
func (h *Host) probe(ctx context.Context, t *target) Health {
	start := time.Now()
	var resp pluginapi.ListResponse
	err := h.call(ctx, t, pluginapi.OpList, pluginapi.ListRequest{Request: t.request(), PageSize: 1}, &resp)
	hl := Health{OK: err == nil, CheckedAt: time.Now().UTC(), LatencyMS: time.Since(start).Milliseconds()}
	if err != nil {
		hl.Error = pluginapi.AsError(err)
	}
	return hl
}

// CheckConnections checks every connection whose plugin is loaded, a few
// at a time, each within timeout, and records the results.
func (h *Host) CheckConnections(ctx context.Context, timeout time.Duration) {
	all, err := h.cfg.Connections.List(ctx)
	if err != nil {
		h.log.Error("health check: cannot list connections", "err", err)
		return
	}
	names := make(map[string]bool, len(all))
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range min(healthWorkers, len(all)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				t, err := h.resolve(cctx, name)
				switch {
				case err != nil:
					h.health.set(name, Health{CheckedAt: time.Now().UTC(), Error: pluginapi.AsError(err)})
				default:
					h.health.set(name, h.probe(cctx, t))
				}
				cancel()
			}
		}()
	}
	for _, c := range all {
		names[c.Name] = true
		if h.plugin(c.Plugin) == nil {
			continue // shown as plugin missing already
		}
		select {
		case jobs <- c.Name:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	h.health.keep(names)
}

// CheckHealthEvery runs CheckConnections every interval (at once first)
// until the returned function is called.
func (h *Host) CheckHealthEvery(interval, timeout time.Duration) (stop func()) {
	return every(interval, true, func(ctx context.Context) { h.CheckConnections(ctx, timeout) })
}

// every runs fn every interval (and at once first, if now) in a goroutine
// of its own until the returned function is called, which cancels fn's
// context and waits for it to return.
func every(interval time.Duration, now bool, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		if now {
			fn(ctx)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

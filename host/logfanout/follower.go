package logfanout

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// follower polls one key's logs and hands each batch to its subscribers.
type follower struct {
	hub    *Hub
	key    Key
	fkey   followKey
	until  *time.Time // passed on every call; the plugin answers End past it
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex // guards subs
	subs map[*Subscription]struct{}
}

// startFollower is called with h.mu held.
func (h *Hub) startFollower(fk followKey, until *time.Time, caps pluginapi.LogsCapabilities, cursor string) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{hub: h, key: fk.Key, fkey: fk, until: until, ctx: ctx, cancel: cancel, subs: map[*Subscription]struct{}{}}
	interval := h.cfg.DefaultInterval
	if caps.PollIntervalMS > 0 {
		interval = time.Duration(caps.PollIntervalMS) * time.Millisecond
	}
	go f.run(caps, cursor, interval)
	return f
}

func (f *follower) add(s *Subscription) {
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
}

// remove drops s and reports whether it was the last subscriber.
func (f *follower) remove(s *Subscription) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; !ok {
		return false
	}
	delete(f.subs, s)
	return len(f.subs) == 0
}

// stop ends every subscription with err and the follower itself.
func (f *follower) stop(err error) {
	f.cancel()
	f.mu.Lock()
	subs := f.subs
	f.subs = map[*Subscription]struct{}{}
	f.mu.Unlock()
	for s := range subs {
		s.end(err)
	}
}

func (f *follower) publish(items []Item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.push(filter(items, s.opts))
	}
}

// permanent reports errors after which following makes no sense.
func permanent(err error) bool {
	switch pluginapi.CodeOf(err) {
	case pluginapi.CodeNotFound, pluginapi.CodeUnauthorized, pluginapi.CodeForbidden,
		pluginapi.CodeUnsupported, pluginapi.CodeInvalid:
		return true
	}
	return false
}

func (f *follower) run(caps pluginapi.LogsCapabilities, cursor string, interval time.Duration) {
	src := f.hub.cfg.Source
	log := f.hub.cfg.Logger.With("connection", f.key.Connection, "service", f.key.Service)
	if cursor == "" {
		// Position at "now": nobody asked for history, so the entries
		// this answers are discarded; only the cursor matters.
		req := pluginapi.LogsRequest{Until: f.until}
		if caps.Since {
			now := time.Now()
			req.Since = &now
		} else {
			req.Tail = 1
		}
		for i := 0; i < 100; i++ {
			resp, err := src.Logs(f.ctx, f.key, req)
			if err != nil {
				if f.ctx.Err() != nil {
					return
				}
				if permanent(err) {
					f.hub.drop(f)
					f.stop(err)
					return
				}
				break // try again from the loop below, with no cursor
			}
			cursor = resp.Cursor
			if resp.End {
				f.finish()
				return
			}
			if !resp.More {
				break
			}
			req = pluginapi.LogsRequest{Cursor: cursor, Until: f.until}
		}
	}
	wait := time.Duration(0)
	backoff := interval
	failing := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(wait)
		select {
		case <-f.ctx.Done():
			return
		case <-timer.C:
		}
		resp, err := src.Logs(f.ctx, f.key, pluginapi.LogsRequest{Cursor: cursor, Until: f.until, Details: true})
		if err != nil {
			if f.ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return
			}
			if permanent(err) {
				log.Info("log follower stopped", "err", err)
				f.hub.drop(f)
				f.stop(err)
				return
			}
			if !failing {
				// Say it once per streak: the follower keeps trying.
				f.publish([]Item{{Error: pluginapi.AsError(err)}})
				failing = true
			}
			backoff = min(backoff*2, f.hub.cfg.MaxBackoff)
			wait = backoff
			continue
		}
		failing = false
		backoff = interval
		if resp.Cursor != "" {
			cursor = resp.Cursor
		}
		if len(resp.Entries) > 0 {
			items := make([]Item, len(resp.Entries))
			for i := range resp.Entries {
				items[i] = Item{Entry: &resp.Entries[i]}
			}
			f.publish(items)
		}
		if resp.End {
			f.finish()
			return
		}
		if resp.More {
			wait = 0
		} else {
			wait = interval
		}
	}
}

// finish ends every subscription cleanly: the plugin said End (until passed).
func (f *follower) finish() {
	f.hub.drop(f)
	f.stop(nil)
}

// drop forgets f if it is still the follower of its key.
func (h *Hub) drop(f *follower) {
	h.mu.Lock()
	if h.followers[f.fkey] == f {
		delete(h.followers, f.fkey)
	}
	h.mu.Unlock()
}

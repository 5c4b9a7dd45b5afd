package ops

import (
	"context"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/pluginapi"
)

// ListCacheTTL is how long ListAllServices reuses a connection's full
// listing. Listing a connection means following every plugin page (for
// thousands of services, seconds of plugin work), and the portal asks for
// it on every page, filter and reload. A listing is dropped early when a
// change to the connection or one of its services goes through this host,
// so only changes made elsewhere (and status moves) show up to this late.
const ListCacheTTL = 5 * time.Second

// listCache holds each connection's last full listing, and shares one
// listing in progress among concurrent callers.
type listCache struct {
	mu      sync.Mutex
	entries map[string]*listEntry // by connection name
	// publish, when set (FollowReplicas), tells the other replicas that a
	// connection's listing changed through this one.
	publish func(conn string)
}

type listEntry struct {
	version int64  // the connection's version it was listed with
	plugin  string // and its plugin
	done    chan struct{}
	at      time.Time // when the listing finished
	svcs    []pluginapi.Service
	err     error
}

// invalidate drops conn's listing, here and (see publish) on the other
// replicas; a listing in progress is not reused.
func (c *listCache) invalidate(conn string) {
	c.mu.Lock()
	delete(c.entries, conn)
	publish := c.publish
	c.mu.Unlock()
	if publish != nil {
		publish(conn)
	}
}

// drop drops conn's listing here only, every listing if conn is "".
func (c *listCache) drop(conn string) {
	c.mu.Lock()
	if conn == "" {
		clear(c.entries)
	} else {
		delete(c.entries, conn)
	}
	c.mu.Unlock()
}

// get returns conn's listing, from the cache while fresh, else from fetch
// (one fetch per connection at a time; concurrent callers wait for it).
// Failures are not kept: the next caller tries again. The slice returned
// is shared and must not be modified.
func (c *listCache) get(ctx context.Context, conn connstore.Connection, now func() time.Time,
	fetch func(context.Context) ([]pluginapi.Service, error)) ([]pluginapi.Service, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*listEntry{}
	}
	e := c.entries[conn.Name]
	fresh := e != nil && e.version == conn.Version && e.plugin == conn.Plugin
	if fresh {
		select {
		case <-e.done:
			fresh = e.err == nil && now().Sub(e.at) < ListCacheTTL
		default: // in progress: wait for it
		}
	}
	if !fresh {
		e = &listEntry{version: conn.Version, plugin: conn.Plugin, done: make(chan struct{})}
		c.entries[conn.Name] = e
		c.mu.Unlock()
		// The listing is shared, so it does not end with this caller.
		e.svcs, e.err = fetch(context.WithoutCancel(ctx))
		e.at = now()
		close(e.done)
		if e.err != nil {
			c.mu.Lock()
			if c.entries[conn.Name] == e {
				delete(c.entries, conn.Name)
			}
			c.mu.Unlock()
		}
		return e.svcs, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.svcs, e.err
	case <-ctx.Done():
		return nil, pluginapi.Errorf(pluginapi.CodeUnavailable, "listing %s: %v", conn.Name, ctx.Err())
	}
}

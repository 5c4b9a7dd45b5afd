package ops

import (
	"context"
	"time"
)

// ReplicaPoll is how often FollowReplicas reads the connections'
// generation, the bound on how late a change made through another
// replica shows here when its notice was lost (a notice itself arrives
// within milliseconds of the commit).
const ReplicaPoll = time.Second

// publishTimeout bounds telling the other replicas of a change.
const publishTimeout = 5 * time.Second

// FollowReplicas keeps this host's per-connection caches in step with
// other replicas on a shared PostgreSQL database, until stop is called:
// the listing cache (ListAllServices) and the scrubbers drop a
// connection's entries when another replica changes the connection or
// one of its services, and each change through this host is announced
// to them (connstore.Store.Touch). The other caches need nothing: the
// connection itself is read from the database on every call, and the
// scrubbers are checked against its stored version anyway. On SQLite it
// does nothing. Call it once.
func (h *Host) FollowReplicas() (stop func()) {
	conns := h.cfg.Connections
	ctx, cancel := context.WithCancel(context.Background())
	h.lists.mu.Lock()
	h.lists.publish = func(conn string) {
		pctx, done := context.WithTimeout(ctx, publishTimeout)
		defer done()
		if err := conns.Touch(pctx, conn); err != nil {
			// The others then see the change within ListCacheTTL.
			h.log.Warn("could not tell the other replicas of a change", "connection", conn, "err", err)
		}
	}
	h.lists.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		if err := conns.Watch(ctx, ReplicaPoll, h.connectionChanged); err != nil && ctx.Err() == nil {
			h.log.Error("not following the other replicas' connection changes", "err", err)
		}
	}()
	return func() {
		cancel()
		<-ended
	}
}

// connectionChanged drops what this host keeps of the connection called
// name, of every connection if name is "".
func (h *Host) connectionChanged(name string) {
	h.lists.drop(name)
	if name == "" {
		h.scrubs.Clear()
	} else {
		h.scrubs.Delete(name)
	}
}

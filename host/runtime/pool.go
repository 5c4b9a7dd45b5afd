package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// pool bounds the live instances of one plugin and shares them among the
// keys (connections) its calls are made for.
//
// A call holds one of size slots while it runs; an instance is only made
// by a slot holder when none is idle, so live instances never exceed size.
// One key holds at most perKey slots at once, so a connection whose calls
// hang (an endpoint that never answers) cannot take the whole pool. Calls
// that cannot get a slot wait in one queue per key, and a freed slot goes
// to the first waiting key, in round-robin order, that is below its limit:
// a key just served goes to the back, so a busy connection cannot win every
// freed slot by sheer numbers. A call waits at most maxWait.
type pool struct {
	size    int
	perKey  int
	maxWait time.Duration
	newInst func(context.Context) (*instance, error)

	mu      sync.Mutex
	idle    []*instance
	live    int            // instances: idle, in use or being made
	busy    int            // slots held
	running map[string]int // slots held per key
	queues  []*keyQueue    // keys with waiting calls, next to serve first
	closed  bool
	drained chan struct{} // closed when busy is 0 after close
}

// keyQueue is the waiting calls of one key, oldest first.
type keyQueue struct {
	key     string
	waiters []*waiter
}

// waiter is one call waiting for a slot. ready is closed when the slot is
// granted or the pool closes.
type waiter struct {
	ready   chan struct{}
	granted bool
}

func newPool(size, perKey int, maxWait time.Duration, newInst func(context.Context) (*instance, error)) *pool {
	return &pool{size: size, perKey: min(max(perKey, 1), size), maxWait: maxWait,
		newInst: newInst, running: map[string]int{}}
}

// errClosed is what acquire returns once the pool is closed.
var errClosed = errors.New("plugin is closed")

// busyError says why a call waited maxWait without getting an instance.
type busyError struct {
	key     string
	running int // the key's calls running when the wait ended
	perKey  int // the most one key may run at once
	size    int
	wait    time.Duration
}

func (e *busyError) Error() string {
	if e.key != "" && e.running >= e.perKey {
		return fmt.Sprintf("connection %s already has %d calls running, the most one connection may run at once; no slot came free within %s", e.key, e.running, e.wait)
	}
	return fmt.Sprintf("all %d instances were busy for %s", e.size, e.wait)
}

// limit is the most slots key may hold: calls made for no key (Call) are
// the embedder's own and only bounded by the pool.
func (pl *pool) limit(key string) int {
	if key == "" {
		return pl.size
	}
	return pl.perKey
}

// acquire returns an idle instance or a new one for a call made for key,
// waiting for a slot until ctx is done or maxWait has passed.
func (pl *pool) acquire(ctx context.Context, key string) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil, errClosed
	}
	if pl.busy < pl.size && pl.running[key] < pl.limit(key) {
		pl.grant(key)
	} else if err := pl.wait(ctx, key); err != nil {
		return nil, err // wait unlocked pl.mu
	}
	// pl.mu is held, and so is a slot.
	if pl.closed {
		pl.mu.Unlock()
		pl.release(nil, key, false)
		return nil, errClosed
	}
	if n := len(pl.idle); n > 0 {
		inst := pl.idle[n-1] // most recently used: its memory is warm
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		return inst, nil
	}
	pl.live++
	pl.mu.Unlock()

	inst, err := pl.newInst(ctx)
	if err != nil {
		pl.mu.Lock()
		pl.live--
		pl.mu.Unlock()
		pl.release(nil, key, false)
		return nil, err
	}
	return inst, nil
}

// grant gives key a slot; pl.mu is held.
func (pl *pool) grant(key string) {
	pl.busy++
	pl.running[key]++
}

// wait queues a call for key until it is granted a slot, with pl.mu held
// on entry. It returns with pl.mu held and the slot granted, or with pl.mu
// unlocked and the reason it gave up.
func (pl *pool) wait(ctx context.Context, key string) error {
	w := &waiter{ready: make(chan struct{})}
	i := slices.IndexFunc(pl.queues, func(q *keyQueue) bool { return q.key == key })
	if i < 0 {
		pl.queues = append(pl.queues, &keyQueue{key: key})
		i = len(pl.queues) - 1
	}
	q := pl.queues[i]
	q.waiters = append(q.waiters, w)
	pl.mu.Unlock()

	timer := time.NewTimer(pl.maxWait)
	var why error
	select {
	case <-w.ready:
	case <-ctx.Done():
		why = ctx.Err()
	case <-timer.C:
	}
	timer.Stop()

	pl.mu.Lock()
	if w.granted {
		return nil // even if ctx ended meanwhile: acquire's caller sees ctx
	}
	if pl.closed {
		pl.mu.Unlock()
		return errClosed
	}
	pl.forget(q, w)
	if why == nil {
		why = &busyError{key: key, running: pl.running[key], perKey: pl.limit(key), size: pl.size, wait: pl.maxWait}
	}
	pl.mu.Unlock()
	return why
}

// forget removes a waiter that gave up; pl.mu is held.
func (pl *pool) forget(q *keyQueue, w *waiter) {
	q.waiters = slices.DeleteFunc(q.waiters, func(x *waiter) bool { return x == w })
	if len(q.waiters) == 0 {
		pl.queues = slices.DeleteFunc(pl.queues, func(x *keyQueue) bool { return x == q })
	}
}

// dispatch hands free slots to waiting calls: to the oldest call of the
// first queued key below its limit, which then goes to the back of the
// queue of keys. pl.mu is held.
func (pl *pool) dispatch() {
	for pl.busy < pl.size {
		i := slices.IndexFunc(pl.queues, func(q *keyQueue) bool { return pl.running[q.key] < pl.limit(q.key) })
		if i < 0 {
			return
		}
		q := pl.queues[i]
		w := q.waiters[0]
		q.waiters = q.waiters[1:]
		pl.queues = slices.Delete(pl.queues, i, i+1)
		if len(q.waiters) > 0 {
			pl.queues = append(pl.queues, q)
		}
		pl.grant(q.key)
		w.granted = true
		close(w.ready)
	}
}

// release gives back the slot a call for key held, with its instance inst
// (nil if it got none): pooled when keep is true, else closed.
func (pl *pool) release(inst *instance, key string, keep bool) {
	pl.mu.Lock()
	if inst != nil {
		if keep && !pl.closed {
			pl.idle = append(pl.idle, inst)
			inst = nil
		} else {
			pl.live--
		}
	}
	pl.busy--
	if pl.running[key]--; pl.running[key] <= 0 {
		delete(pl.running, key)
	}
	if pl.closed {
		if pl.busy == 0 && pl.drained != nil {
			close(pl.drained)
			pl.drained = nil
		}
	} else {
		pl.dispatch()
	}
	pl.mu.Unlock()
	if inst != nil {
		inst.close()
	}
}

// close refuses new calls, wakes every waiting one, closes idle instances
// and waits for busy ones to come back until ctx is done.
func (pl *pool) close(ctx context.Context) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	idle := pl.idle
	pl.idle = nil
	pl.live -= len(idle)
	for _, q := range pl.queues {
		for _, w := range q.waiters {
			close(w.ready)
		}
	}
	pl.queues = nil
	var drained chan struct{}
	if pl.busy > 0 {
		drained = make(chan struct{})
		pl.drained = drained
	}
	pl.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}
	if drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
		}
	}
}

// PoolStats is a plugin's instance pool at one moment (for metrics).
type PoolStats struct {
	Size    int // the most live instances (Config.PoolSize)
	Live    int // instances idle, in use or being made
	Idle    int // instances waiting for a call
	Busy    int // calls holding a slot
	Waiting int // calls waiting for a slot
}

// snapshot is the pool's PoolStats.
func (pl *pool) snapshot() PoolStats {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	st := PoolStats{Size: pl.size, Live: pl.live, Idle: len(pl.idle), Busy: pl.busy}
	for _, q := range pl.queues {
		st.Waiting += len(q.waiters)
	}
	return st
}

// stats reports the live and idle instances, for tests.
func (pl *pool) stats() (live, idle int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.live, len(pl.idle)
}

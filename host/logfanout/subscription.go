package logfanout

import (
	"context"
	"sync"
)

// Subscription receives one subscriber's batches on C. C is closed when
// the subscription ends: its context ended, Close was called, or the
// follower stopped for good (then Err says why).
type Subscription struct {
	// C yields batches of items, oldest first. At most the buffer's worth
	// of entries waits for a slow reader; older ones become a Skipped marker.
	C <-chan []Item

	opts   Options
	out    chan []Item
	notify chan struct{}
	done   chan struct{}
	leave  func()

	mu       sync.Mutex
	queue    []Item
	entries  int   // entries in queue
	skipped  int   // entries dropped before queue[0]
	received int64 // entries pushed in all
	err      error
	user     bool // ended by the subscriber: nothing left to deliver
	once     sync.Once
}

func newSubscription(o Options) *Subscription {
	out := make(chan []Item)
	return &Subscription{C: out, opts: o, out: out, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// Err returns why the subscription ended, or nil while it runs and when
// the subscriber ended it.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription; the follower stops if it was the last one.
func (s *Subscription) Close() {
	s.mu.Lock()
	s.user = true
	s.mu.Unlock()
	if s.leave != nil {
		s.leave()
	}
	s.end(nil)
}

func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *Subscription) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// push queues items, dropping the oldest entries beyond the buffer.
func (s *Subscription) push(items []Item) {
	if len(items) == 0 {
		return
	}
	s.mu.Lock()
	for _, it := range items {
		s.queue = append(s.queue, it)
		if it.Entry != nil {
			s.entries++
			s.received++
		}
	}
	for s.entries > s.opts.Buffer && len(s.queue) > 0 {
		if s.queue[0].Entry != nil {
			s.entries--
			s.skipped++
		}
		s.queue[0] = Item{} // let the dropped entry be collected
		s.queue = s.queue[1:]
	}
	s.mu.Unlock()
	s.signal()
}

// take empties the queue into one batch, led by a Skipped marker if
// entries were dropped.
func (s *Subscription) take() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	if s.skipped > 0 {
		batch = append([]Item{{Skipped: s.skipped}}, batch...)
	}
	s.queue, s.entries, s.skipped = nil, 0, 0
	return batch
}

func (s *Subscription) pump(ctx context.Context) {
	defer close(s.out)
	var pending []Item // a batch waiting for the reader
	for {
		var out chan []Item
		if len(pending) > 0 {
			out = s.out
		}
		select {
		case <-ctx.Done():
			s.Close()
			return
		case <-s.done:
			s.mu.Lock()
			user := s.user
			s.mu.Unlock()
			if !user {
				// The follower stopped: deliver what is queued, then end.
				pending = append(pending, s.take()...)
				if len(pending) > 0 {
					select {
					case s.out <- pending:
					case <-ctx.Done():
					}
				}
			}
			return
		case out <- pending:
			pending = nil
			if b := s.take(); len(b) > 0 {
				pending = b
			}
		case <-s.notify:
			if pending == nil {
				pending = s.take()
			}
		}
	}
}

package breaker

import (
	"sync"
	"time"
)

// MaxTracked bounds the connections a Set keeps state for. Beyond it a
// new connection's failures are not counted until an entry is dropped
// (only connections that failed since their last success have one).
const MaxTracked = 4096

// Outcome is what became of a call the Set allowed.
type Outcome int

const (
	// NotRun: the call never reached the plugin (a full pool, the caller
	// gone). Nothing changes; a probe's turn passes to the next call.
	NotRun Outcome = iota
	// Succeeded: the plugin answered without error. The count resets and
	// an open breaker closes.
	Succeeded
	// Answered: the plugin ran to completion and answered an error of its
	// own (often its platform's). Neither counts nor resets; as a probe it
	// closes the breaker.
	Answered
	// Failed: the plugin trapped, crashed or ran past its timeout.
	Failed
)

// Ticket is a call the Set allowed; give it back to Done.
type Ticket struct {
	key, plugin string
	probe       bool
}

// Probe reports whether the call is the one let through a half-open breaker.
func (t Ticket) Probe() bool { return t.probe }

// State is a connection whose breaker is open: what the faces show.
type State struct {
	Connection string
	Plugin     string
	// Since is when the breaker opened (the first time, if probes failed since).
	Since time.Time
	// Failures is the consecutive traps and timeouts, failed probes included.
	Failures int
	// LastError is the last failure's message; Reason is "trap" or "timeout".
	LastError string
	Reason    string
	// RetryAt is when the next probe may go through; Backoff the window
	// that ends then.
	RetryAt time.Time
	Backoff time.Duration
	// Probing says a probe call is running now.
	Probing bool
}

// Event is a breaker that opened (Opened) or closed: for the log and the
// metrics. Trip is set when it opened from closed (not after a failed probe).
type Event struct {
	State
	Opened bool
	Trip   bool
}

// Set is the breakers of a host's connections. It is safe for concurrent
// use.
type Set struct {
	now      func() time.Time
	onChange func(Event)

	mu sync.Mutex
	m  map[string]*state
}

// state is one connection's breaker; open when !retryAt.IsZero().
type state struct {
	plugin   string
	failures int
	since    time.Time
	retryAt  time.Time
	backoff  time.Duration
	probing  bool
	lastErr  string
	reason   string
}

// New returns an empty Set. now is the clock (time.Now if nil); onChange,
// if set, hears of every breaker that opens or closes, after the Set's
// lock is released.
func New(now func() time.Time, onChange func(Event)) *Set {
	if now == nil {
		now = time.Now
	}
	return &Set{now: now, onChange: onChange, m: map[string]*state{}}
}

// Allow asks whether a call for connection key, of plugin, may go to the
// plugin. It is refused (ok false, with the open breaker's state) while
// the window runs or a probe is out; once the window is over, the first
// call becomes the probe.
func (s *Set) Allow(key, plugin string) (t Ticket, open State, ok bool) {
	t = Ticket{key: key, plugin: plugin}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[key]
	if st == nil || st.retryAt.IsZero() || st.plugin != plugin {
		return t, State{}, true
	}
	if st.probing || s.now().Before(st.retryAt) {
		return t, st.view(key), false
	}
	st.probing = true
	t.probe = true
	return t, State{}, true
}

// Done records what became of an allowed call, under policy p (its
// defaults filled). reason ("trap", "timeout") and msg describe a Failed
// call.
func (s *Set) Done(t Ticket, o Outcome, p Policy, reason, msg string) {
	ev, changed := s.done(t, o, p, reason, msg)
	if changed && s.onChange != nil {
		s.onChange(ev)
	}
}

func (s *Set) done(t Ticket, o Outcome, p Policy, reason, msg string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[t.key]
	if st != nil && st.plugin != t.plugin {
		// The connection now uses another plugin (or a call of the old
		// one finished late): start afresh for the new one.
		delete(s.m, t.key)
		st = nil
	}
	open := st != nil && !st.retryAt.IsZero()
	if t.probe && st != nil {
		st.probing = false
	}
	switch {
	case o == Succeeded || (o == Answered && t.probe):
		if st == nil {
			return Event{}, false
		}
		delete(s.m, t.key)
		if open {
			return Event{State: st.view(t.key)}, true
		}
		return Event{}, false
	case o != Failed:
		return Event{}, false
	case open && !t.probe:
		// A call let in before the breaker opened: the window stands.
		return Event{}, false
	}
	if st == nil {
		if len(s.m) >= MaxTracked {
			return Event{}, false
		}
		st = &state{plugin: t.plugin}
		s.m[t.key] = st
	}
	st.failures++
	st.lastErr, st.reason = msg, reason
	now := s.now()
	switch {
	case open: // a failed probe: twice the window
		st.backoff = min(2*st.backoff, p.MaxBackoff)
		st.retryAt = now.Add(st.backoff)
		return Event{State: st.view(t.key), Opened: true}, true
	case st.failures >= p.Threshold:
		st.since, st.backoff = now, p.Backoff
		st.retryAt = now.Add(st.backoff)
		return Event{State: st.view(t.key), Opened: true, Trip: true}, true
	}
	return Event{}, false
}

// Get returns connection key's breaker if it is open.
func (s *Set) Get(key string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[key]
	if st == nil || st.retryAt.IsZero() {
		return State{}, false
	}
	return st.view(key), true
}

// Open lists the open breakers, in no order.
func (s *Set) Open() []State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []State
	for k, st := range s.m {
		if !st.retryAt.IsZero() {
			out = append(out, st.view(k))
		}
	}
	return out
}

// Forget drops connection key's breaker (the connection was deleted).
func (s *Set) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// ForgetPlugin closes the breakers of plugin's connections: a new version
// of it was swapped in, which deserves a chance at once. It returns the
// breakers that were open, for the caller to report (onChange does not
// hear of them: they did not recover).
func (s *Set) ForgetPlugin(plugin string) []State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var closed []State
	for k, st := range s.m {
		if st.plugin != plugin {
			continue
		}
		if !st.retryAt.IsZero() {
			closed = append(closed, st.view(k))
		}
		delete(s.m, k)
	}
	return closed
}

func (st *state) view(key string) State {
	return State{Connection: key, Plugin: st.plugin, Since: st.since, Failures: st.failures, LastError: st.lastErr,
		Reason: st.reason, RetryAt: st.retryAt, Backoff: st.backoff, Probing: st.probing}
}

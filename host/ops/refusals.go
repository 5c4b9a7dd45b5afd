package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

// RefusalLimit bounds how many refused mutations of one kind (denied,
// invalid, other errors) are audited for one actor, so that nobody can
// flood the audit log with refusals, which cost them nothing to cause.
// Beyond the limit, attempts are counted and summed up in one entry per
// Window (operation SuppressedOperation).
type RefusalLimit struct {
	// Burst is how many refusals an actor may have recorded in a row; 20.
	Burst int
	// Window is the time in which Burst are allowed again, and after which
	// the attempts left out are summed up; one minute.
	Window time.Duration
}

// SuppressedOperation is the operation of an audit entry that stands for
// refusals left out by the RefusalLimit: its note says how many, by whom,
// when.
const SuppressedOperation = "audit.refusals_suppressed"

// maxRefusalActors bounds the actors the limiter tracks. Only callers
// with a valid token are ever refused here, so the tokens configured
// bound them already; past this, the rest share one bucket.
const maxRefusalActors = 1024

// otherActors is the bucket actors share once maxRefusalActors are tracked.
const otherActors = "(other actors)"

type refusalKey struct{ actor, kind string }

type refusalBucket struct {
	tokens      float64
	at          time.Time // of the last refill
	suppressed  int       // attempts left out since first
	first, last time.Time
	code        pluginapi.Code // of the last attempt left out
	addr        string         // its client address
	timer       *time.Timer    // sums up the suppressed ones at the end of the window
}

// refusalLimiter is a token bucket per actor and kind, with bounded memory.
type refusalLimiter struct {
	lim   RefusalLimit
	flush func(k refusalKey, b refusalBucket) // writes the summary entry

	mu      sync.Mutex
	buckets map[refusalKey]*refusalBucket
	closed  bool
}

func newRefusalLimiter(lim RefusalLimit, flush func(refusalKey, refusalBucket)) *refusalLimiter {
	if lim.Burst <= 0 {
		lim.Burst = 20
	}
	if lim.Window <= 0 {
		lim.Window = time.Minute
	}
	return &refusalLimiter{lim: lim, flush: flush, buckets: map[refusalKey]*refusalBucket{}}
}

// allow reports whether this refusal is recorded; if not, it is counted.
func (l *refusalLimiter) allow(k refusalKey, addr string, code pluginapi.Code, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= maxRefusalActors {
			l.prune(now)
		}
		if len(l.buckets) >= maxRefusalActors {
			k.actor = otherActors
			b = l.buckets[k]
		}
		if b == nil {
			b = &refusalBucket{tokens: float64(l.lim.Burst), at: now}
			l.buckets[k] = b
		}
	}
	rate := float64(l.lim.Burst) / l.lim.Window.Seconds()
	b.tokens = min(float64(l.lim.Burst), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	if b.suppressed == 0 {
		b.first = now
		if !l.closed {
			b.timer = time.AfterFunc(l.lim.Window, func() { l.fire(k) })
		}
	}
	b.suppressed++
	b.last, b.code, b.addr = now, code, addr
	return false
}

// prune drops the buckets that are full and have nothing left to sum up.
func (l *refusalLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.suppressed == 0 && now.Sub(b.at) >= l.lim.Window {
			delete(l.buckets, k)
		}
	}
}

// take removes and returns what bucket k has to sum up.
func (l *refusalLimiter) take(k refusalKey) (refusalBucket, bool) {
	b := l.buckets[k]
	if b == nil || b.suppressed == 0 {
		return refusalBucket{}, false
	}
	out := *b
	b.suppressed, b.timer = 0, nil
	return out, true
}

// fire sums up bucket k's suppressed attempts at the end of its window.
func (l *refusalLimiter) fire(k refusalKey) {
	l.mu.Lock()
	b, ok := l.take(k)
	l.mu.Unlock()
	if ok {
		l.flush(k, b)
	}
}

// close sums up every bucket now and stops the timers.
func (l *refusalLimiter) close() {
	l.mu.Lock()
	l.closed = true
	var keys []refusalKey
	var pending []refusalBucket
	for k := range l.buckets {
		if b, ok := l.take(k); ok {
			if b.timer != nil {
				b.timer.Stop()
			}
			keys, pending = append(keys, k), append(pending, b)
		}
	}
	l.mu.Unlock()
	for i, k := range keys {
		l.flush(k, pending[i])
	}
}

// refusalKind is the audit outcome of a refusal with code: denied for an
// authorization refusal, invalid for a validation refusal, error else.
func refusalKind(code pluginapi.Code) string {
	switch code {
	case pluginapi.CodeForbidden:
		return audit.OutcomeDenied
	case pluginapi.CodeInvalid:
		return audit.OutcomeInvalid
	}
	return audit.OutcomeError
}

// auditRefusal records a mutation that was refused before it ran (*errp
// set, ev never started): one entry, rate limited per actor. Use it
// deferred, with the named error result of a mutating method.
func (h *Host) auditRefusal(ctx context.Context, c Caller, ev *auditEvent, errp *error) {
	if *errp == nil || ev.ran {
		return
	}
	refusal := *errp
	if ev.denied != nil {
		refusal = ev.denied
	}
	pe := pluginapi.AsError(ev.scrub.Error(refusal))
	kind := refusalKind(pe.Code)
	if !h.refusals.allow(refusalKey{actor: c.Actor, kind: kind}, c.ClientAddr, pe.Code, time.Now()) {
		return
	}
	var body json.RawMessage
	// A denied caller's request is not kept: it is theirs to shape, and
	// who tried what on which target is the story.
	if ev.request != nil && kind != audit.OutcomeDenied {
		if b, err := json.Marshal(ev.request); err == nil {
			body = ev.scrub.JSON(b)
		}
	}
	o := audit.Outcome{Error: pe}
	if kind != audit.OutcomeError {
		o.Refused = kind
	}
	if kind == audit.OutcomeDenied && c.Auth != "" {
		// Who was refused includes how they proved it: a session, a token.
		o.Note = "authenticated by " + c.Auth
	}
	_, err := h.cfg.Audit.Record(context.WithoutCancel(ctx), audit.Event{Actor: c.Actor, ClientAddr: c.ClientAddr,
		RequestID: c.RequestID, Connection: ev.conn, Plugin: ev.plugin, Operation: ev.op, Target: ev.target,
		TargetName: h.targetName(ev), Request: body}, o)
	if err != nil {
		h.log.Error("audit of a refused operation failed", "op", ev.op, "actor", c.Actor, "refusal", pe.Code, "err", err)
	}
}

// auditSuppressed writes the entry that stands for refusals left out.
func (h *Host) auditSuppressed(k refusalKey, b refusalBucket) {
	what := map[string]string{audit.OutcomeDenied: "denied", audit.OutcomeInvalid: "invalid"}[k.kind]
	if what == "" {
		what = "refused"
	}
	note := fmt.Sprintf("%d more %s attempts by %s were not recorded between %s and %s (at most %d are recorded per %s per actor)",
		b.suppressed, what, k.actor, b.first.UTC().Format(time.RFC3339), b.last.UTC().Format(time.RFC3339),
		h.refusals.lim.Burst, h.refusals.lim.Window)
	o := audit.Outcome{Error: &pluginapi.Error{Code: b.code, Message: note}, Note: note, Duration: b.last.Sub(b.first)}
	if k.kind != audit.OutcomeError {
		o.Refused = k.kind
	}
	_, err := h.cfg.Audit.Record(context.Background(), audit.Event{Time: b.first, Actor: k.actor, ClientAddr: b.addr,
		Operation: SuppressedOperation}, o)
	if err != nil {
		h.log.Error("audit of suppressed refusals failed", "actor", k.actor, "count", b.suppressed, "err", err)
	}
}

// ServiceName is the name of service id on conn as the plugin last
// reported it through this host, or "" if it has not.
func (h *Host) ServiceName(conn, id string) string { return h.svcNames.name(conn, id) }

// targetName is the name of ev's target: given, or remembered from
// plugin answers for a service.
func (h *Host) targetName(ev *auditEvent) string {
	if ev.targetName != "" || !isServiceOp(ev.op) {
		return ev.targetName
	}
	return h.svcNames.name(ev.conn, ev.target)
}

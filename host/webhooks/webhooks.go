// Package webhooks sends the host's events to other systems: outgoing
// webhooks configured by the host's administrators (the config file's
// "webhooks" list).
//
// Events are the service events of host/ops (service.created, .updated,
// .deleted, .action after a successful change; service.status when a get
// or list shows a service failed, or running again after it failed;
// service.rollout when a rollout is seen finished) and "audit", every
// audit log entry once its outcome is written. A subscription takes the
// types its Events patterns match, of the connections its Selector matches
// by label; audit entries of no connection (sign-ins, tokens, bindings) go
// only to subscriptions without a selector.
//
// Each delivery is a POST of the JSON Payload with the headers
// Wharf-Webhook-Id (the event id, the same on every retry),
// Wharf-Webhook-Timestamp (Unix seconds) and Wharf-Webhook-Signature:
// "v1=" and the hex HMAC-SHA256, keyed by the subscription's secret, of
// the timestamp, a dot and the body. A receiver recomputes it over the raw
// body, compares in constant time and refuses a timestamp too far from its
// clock (a replay); see Verify.
//
// Delivery never holds up the operation that caused it: an event is put
// in the subscription's bounded queue in memory (when full, the oldest
// event is dropped, counted and recorded in the delivery log). One worker
// per subscription sends in order; a failed attempt (no answer, a 5xx, 408
// or 429) is retried with exponential backoff and jitter, at most
// MaxAttempts times, while later events go on; other 4xx answers and
// redirects are not retried. The delivery log (a table in the host's
// database) keeps every subscription's newest deliveries and the pending
// ones, which are retried after a restart; events still queued in memory
// when the host stops are written as pending too. Delivery is at least
// once: receivers should drop a Wharf-Webhook-Id they have seen.
package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/ops"
)

// Options tune a Service. DB is required.
type Options struct {
	DB *sql.DB
	// Audit, if set, is the log whose entries are sent as "audit" events;
	// New makes it report them (audit.Log.ObserveEntries).
	Audit *audit.Log
	// Labels looks up a connection's labels, for audit entries (service
	// events carry them). ok false: the connection is unknown (deleted),
	// and the labels last seen for it are used.
	Labels func(ctx context.Context, conn string) (labels map[string]string, ok bool)
	Logger *slog.Logger
	// Metrics, if set, counts deliveries (host/metrics).
	Metrics Metrics

	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one delivery (default 8).
	MaxAttempts int
	// Backoff is the wait before retry n (default the package's Backoff).
	Backoff func(n int) time.Duration
	// QueueSize bounds the events waiting for a subscription's worker, and
	// separately the deliveries waiting for a retry (default 1000 each).
	QueueSize int
	// Keep is how many finished deliveries the log keeps per subscription
	// (default 100).
	Keep int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Metrics counts deliveries by subscription and outcome: delivered,
// retry (an attempt failed, another will come), failed (given up) or
// dropped.
type Metrics interface {
	WebhookDelivery(subscription, outcome string)
}

// Outcomes Metrics hears.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	OutcomeDropped   = "dropped"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Time       time.Time   `json:"time"`
	Connection string      `json:"connection"`
	Service    *ServiceRef `json:"service"`
	Actor      string      `json:"actor"`
	Data       any         `json:"data"`
}

// ServiceRef names a payload's service.
type ServiceRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// maxBody bounds a payload; a larger one is sent with its data replaced
// by a note (an audit entry's request can be large).
const maxBody = 256 << 10

// Service sends events to subscriptions. It implements ops.EventSink and
// audit.EntryObserver. Safe for concurrent use.
type Service struct {
	opts   Options
	log    *slog.Logger
	dlog   *deliveryLog
	client *http.Client
	subs   []*sub
	byName map[string]*sub
	labels labelCache

	auditIDs    chan []int64
	auditMissed atomic.Int64

	ctx    context.Context // ends at Close: stops the workers
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

// sub is one subscription and its queues.
type sub struct {
	cfg Subscription
	sel *access.Scope // nil: every connection

	mu      sync.Mutex
	queue   []*Payload // new events, oldest first
	dropped []dropNote // drops not yet recorded
	retries []*pending // waiting for their next attempt
	wake    chan struct{}
	added   int // deliveries written since the last trim

	delivered, failed, droppedN, attempts atomic.Int64
	lastStatus                            atomic.Value // string: the newest delivery's status
}

// maxDropNotes bounds the drops waiting to be recorded; beyond it drops
// are only counted.
const maxDropNotes = 1000

// dropNote is an event dropped before it got a delivery row.
type dropNote struct {
	p   *Payload
	why string
}

// New checks subs, opens the delivery log (creating its table), loads the
// pending deliveries and starts a worker per subscription. Close stops it.
func New(ctx context.Context, subs []Subscription, o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("webhooks: DB is required")
	}
	if err := Check(subs); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff == nil {
		o.Backoff = Backoff
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.Keep <= 0 {
		o.Keep = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dlog, err := openLog(ctx, o.DB)
	if err != nil {
		return nil, fmt.Errorf("webhooks: delivery log: %w", err)
	}
	s := &Service{opts: o, log: o.Logger, dlog: dlog, client: newClient(o.Timeout), byName: map[string]*sub{},
		auditIDs: make(chan []int64, 1024)}
	s.ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	names := make([]string, 0, len(subs))
	for _, c := range subs {
		sel, _ := parseSelector(c.Selector) // checked
		sb := &sub{cfg: c, sel: sel, wake: make(chan struct{}, 1)}
		s.subs = append(s.subs, sb)
		s.byName[c.Name] = sb
		names = append(names, c.Name)
	}
	if n, err := dlog.forgetOthers(ctx, names); err != nil {
		return nil, fmt.Errorf("webhooks: delivery log: %w", err)
	} else if n > 0 {
		s.log.Info("webhooks: deliveries of subscriptions no longer configured removed", "deliveries", n)
	}
	for _, sb := range s.subs {
		if err := s.loadPending(ctx, sb); err != nil {
			return nil, fmt.Errorf("webhooks: delivery log: %w", err)
		}
	}
	for _, sb := range s.subs {
		s.wg.Go(func() { s.run(sb) })
	}
	if len(s.subs) > 0 {
		s.wg.Go(s.auditLoop)
		if o.Audit != nil {
			o.Audit.ObserveEntries(s)
		}
	}
	return s, nil
}

// maxLoad bounds the pending deliveries read at start per subscription.
const maxLoad = 100000

// loadPending takes the deliveries a previous run left pending into the
// retry set (the newest QueueSize; older ones are dropped).
func (s *Service) loadPending(ctx context.Context, sb *sub) error {
	ps, more, err := s.dlog.pendingOf(ctx, sb.cfg.Name, maxLoad)
	if err != nil {
		return err
	}
	now := s.now()
	if len(ps) > s.opts.QueueSize {
		for _, p := range ps[:len(ps)-s.opts.QueueSize] {
			if err := s.dlog.drop(ctx, p.id, "too many pending deliveries at start", now); err != nil {
				return err
			}
			s.count(sb, OutcomeDropped)
		}
		ps = ps[len(ps)-s.opts.QueueSize:]
	}
	if more > 0 {
		s.log.Warn("webhooks: more pending deliveries than can be loaded; the rest stay pending", "subscription", sb.cfg.Name, "left", more)
	}
	sb.retries = ps
	if len(ps) > 0 {
		s.log.Info("webhooks: retrying deliveries pending since the last run", "subscription", sb.cfg.Name, "deliveries", len(ps))
	}
	return nil
}

func (s *Service) now() time.Time { return s.opts.Now() }

// Close stops the workers (an attempt under way is cut short and stays
// pending), writes the events still queued as pending deliveries, to be
// sent after the next start, and records the drops not yet recorded.
func (s *Service) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.opts.Audit != nil {
		s.opts.Audit.ObserveEntries(nil)
	}
	s.stop()
	close(s.auditIDs)
	s.wg.Wait()
	var errs []error
	now := s.now()
	for _, sb := range s.subs {
		sb.mu.Lock()
		queue, drops := sb.queue, sb.dropped
		sb.queue, sb.dropped = nil, nil
		sb.mu.Unlock()
		errs = append(errs, s.recordDrops(ctx, sb, drops))
		for _, p := range queue {
			pd, err := s.newPending(sb, p, now)
			if err == nil {
				err = s.dlog.insert(ctx, pd, StatusPending, "", now)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HostEvent queues an event of host/ops for the subscriptions that take it.
func (s *Service) HostEvent(e ops.Event) {
	if s.closed.Load() {
		return
	}
	s.labels.learn(e.Connection, e.Labels, s.now())
	p := &Payload{ID: newID("evt_"), Type: e.Type, Time: e.Time.UTC(), Connection: e.Connection, Actor: e.Actor, Data: e.Data}
	if e.ServiceID != "" || e.ServiceName != "" {
		p.Service = &ServiceRef{ID: e.ServiceID, Name: e.ServiceName}
	}
	if p.Data == nil {
		p.Data = map[string]any{}
	}
	s.dispatch(p, e.Labels)
}

// AuditEntriesDone hears of completed audit entries: they are read and
// queued by another goroutine, so the audit writer is never held up (if
// that goroutine falls far behind, entries are missed and counted).
func (s *Service) AuditEntriesDone(ids []int64) {
	if s.closed.Load() {
		return
	}
	defer func() { _ = recover() }() // closed channel: Close raced with a commit
	select {
	case s.auditIDs <- slices.Clone(ids):
	default:
		if s.auditMissed.Add(int64(len(ids))) == int64(len(ids)) {
			s.log.Warn("webhooks: audit entries come faster than they are read; some are not sent")
		}
	}
}

// auditLoop reads the entries AuditEntriesDone reported and queues them.
func (s *Service) auditLoop() {
	for ids := range s.auditIDs {
		if s.opts.Audit == nil {
			continue
		}
		slices.Sort(ids)
		for len(ids) > 0 {
			// One query per span of at most audit.MaxLimit ids.
			n := 1
			for n < len(ids) && ids[n]-ids[0] < audit.MaxLimit {
				n++
			}
			span := ids[:n]
			ids = ids[n:]
			ctx, cancel := context.WithTimeout(s.ctx, dbTimeout)
			es, err := s.opts.Audit.Query(ctx, audit.Filter{BeforeID: span[len(span)-1] + 1, Limit: int(span[len(span)-1]-span[0]) + 1})
			cancel()
			if err != nil {
				s.log.Error("webhooks: read audit entries", "err", err)
				continue
			}
			slices.Reverse(es) // oldest first
			for i := range es {
				if _, ok := slices.BinarySearch(span, es[i].ID); ok {
					s.auditEvent(&es[i])
				}
			}
		}
	}
}

// auditEvent queues one audit entry.
func (s *Service) auditEvent(e *audit.Entry) {
	p := &Payload{ID: newID("evt_"), Type: EventAudit, Time: e.Time.UTC(), Connection: e.Connection, Actor: e.Actor, Data: e}
	if e.FinishedAt != nil {
		p.Time = e.FinishedAt.UTC()
	}
	if strings.HasPrefix(e.Operation, "service.") && (e.Target != "" || e.ResultTarget != "") {
		p.Service = &ServiceRef{ID: e.ResultTarget, Name: e.TargetName}
		if p.Service.ID == "" {
			p.Service.ID = e.Target
		}
	}
	var labels map[string]string
	if e.Connection != "" {
		labels = s.labelsOf(e.Connection)
	}
	s.dispatch(p, labels)
}

// labelsOf is a connection's labels: looked up, else the last seen.
func (s *Service) labelsOf(conn string) map[string]string {
	now := s.now()
	if l, fresh := s.labels.get(conn, now); fresh || s.opts.Labels == nil {
		return l
	}
	ctx, cancel := context.WithTimeout(s.ctx, dbTimeout)
	defer cancel()
	if l, ok := s.opts.Labels(ctx, conn); ok {
		s.labels.learn(conn, l, now)
		return l
	}
	l, _ := s.labels.get(conn, now)
	return l
}

// dispatch queues p for every subscription that takes it. An event of no
// connection goes only to subscriptions without a selector.
func (s *Service) dispatch(p *Payload, labels map[string]string) {
	for _, sb := range s.subs {
		if !wants(sb.cfg.Events, p.Type) {
			continue
		}
		if sb.sel != nil && (p.Connection == "" || !sb.sel.Matches(access.Target{Name: p.Connection, Labels: labels})) {
			continue
		}
		s.enqueue(sb, p)
	}
}

// enqueue adds p to sb's queue, dropping the oldest event when it is full.
func (s *Service) enqueue(sb *sub, p *Payload) {
	sb.mu.Lock()
	if len(sb.queue) >= s.opts.QueueSize {
		old := sb.queue[0]
		sb.queue = sb.queue[1:]
		if len(sb.dropped) < maxDropNotes {
			sb.dropped = append(sb.dropped, dropNote{old, "the queue was full: the receiver is too slow or down"})
		}
		s.count(sb, OutcomeDropped)
	}
	sb.queue = append(sb.queue, p)
	sb.mu.Unlock()
	sb.poke()
}

func (sb *sub) poke() {
	select {
	case sb.wake <- struct{}{}:
	default:
	}
}

func (s *Service) count(sb *sub, outcome string) {
	switch outcome {
	case OutcomeDelivered:
		sb.delivered.Add(1)
	case OutcomeFailed:
		sb.failed.Add(1)
	case OutcomeDropped:
		sb.droppedN.Add(1)
	}
	if m := s.opts.Metrics; m != nil {
		m.WebhookDelivery(sb.cfg.Name, outcome)
	}
}

// run is sb's worker: due retries first, then new events, one at a time.
func (s *Service) run(sb *sub) {
	for s.ctx.Err() == nil {
		now := s.now()
		sb.mu.Lock()
		drops := sb.dropped
		sb.dropped = nil
		due, wait := takeDue(&sb.retries, now)
		var next *Payload
		if due == nil && len(sb.queue) > 0 {
			next = sb.queue[0]
			sb.queue[0] = nil
			sb.queue = sb.queue[1:]
		}
		sb.mu.Unlock()

		if err := s.recordDrops(s.ctx, sb, drops); err != nil {
			s.log.Error("webhooks: record dropped events", "subscription", sb.cfg.Name, "err", err)
		}
		switch {
		case due != nil:
			s.attempt(s.ctx, sb, due)
			continue
		case next != nil:
			p, err := s.newPending(sb, next, now)
			if err == nil {
				err = s.dlog.insert(s.ctx, p, StatusPending, "", now)
			}
			if err != nil {
				s.log.Error("webhooks: delivery not recorded, event not sent", "subscription", sb.cfg.Name, "event", next.ID, "err", err)
				continue
			}
			s.trimLater(sb)
			s.attempt(s.ctx, sb, p)
			continue
		}
		var timer *time.Timer
		var tick <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			tick = timer.C
		}
		select {
		case <-sb.wake:
		case <-tick:
		case <-s.ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// takeDue removes and returns the oldest retry that is due (so that a
// backlog, after a restart, goes out in the order of its events), or
// returns nil and how long until the next is due (-1: none waits).
func takeDue(rs *[]*pending, now time.Time) (*pending, time.Duration) {
	best, wait := -1, time.Duration(-1)
	for i, r := range *rs {
		if r.next.After(now) {
			if d := r.next.Sub(now); wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		if best < 0 || r.created.Before((*rs)[best].created) {
			best = i
		}
	}
	if best < 0 {
		return nil, wait
	}
	due := (*rs)[best]
	*rs = slices.Delete(*rs, best, best+1)
	return due, 0
}

// newPending makes the delivery of p to sb.
func (s *Service) newPending(sb *sub, p *Payload, now time.Time) (*pending, error) {
	body, err := encode(p)
	if err != nil {
		return nil, err
	}
	return &pending{id: newID("dlv_"), sub: sb.cfg.Name, eventID: p.ID, typ: p.Type, body: body, created: now}, nil
}

// encode is p's body, its data replaced by a note when too large.
func encode(p *Payload) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", p.ID, err)
	}
	if len(b) <= maxBody {
		return b, nil
	}
	q := *p
	q.Data = map[string]any{"truncated": true, "bytes": len(b)}
	return json.Marshal(&q)
}

// recordDrops writes a dropped delivery per event dropped from the queue.
func (s *Service) recordDrops(ctx context.Context, sb *sub, drops []dropNote) error {
	var errs []error
	now := s.now()
	for _, d := range drops {
		p, err := s.newPending(sb, d.p, now)
		if err == nil {
			err = s.dlog.insert(ctx, p, StatusDropped, d.why, now)
		}
		errs = append(errs, err)
	}
	if len(drops) > 0 {
		s.trimLater(sb)
	}
	return errors.Join(errs...)
}

// trimLater trims sb's log every few new rows.
func (s *Service) trimLater(sb *sub) {
	sb.mu.Lock()
	sb.added++
	due := sb.added >= 16
	if due {
		sb.added = 0
	}
	sb.mu.Unlock()
	if due {
		if err := s.dlog.trim(s.ctx, sb.cfg.Name, s.opts.Keep); err != nil {
			s.log.Error("webhooks: trim the delivery log", "subscription", sb.cfg.Name, "err", err)
		}
	}
}

// attempt claims p, sends it and records the outcome; a retryable failure
// goes to sb's retry set.
func (s *Service) attempt(ctx context.Context, sb *sub, p *pending) {
	now := s.now()
	ok, err := s.dlog.claim(ctx, p, now, now.Add(s.opts.Timeout+time.Minute))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("webhooks: claim a delivery", "subscription", sb.cfg.Name, "delivery", p.id, "err", err)
			s.retryLater(sb, p, now.Add(s.opts.Backoff(max(p.attempts, 1))))
		}
		return
	}
	if !ok {
		return // another replica took it, or it was dropped
	}
	p.attempts++
	sb.attempts.Add(1)
	start := time.Now()
	status, sendErr := s.send(ctx, sb, p)
	p.lastTook, p.lastStatus, p.lastErr = time.Since(start), status, ""
	if sendErr != nil {
		p.lastErr = errText(sendErr)
	}
	now = s.now()
	closing := s.ctx.Err() != nil
	res := classify(status)
	if sendErr != nil && res == delivered {
		res = retry
	}
	final := StatusPending
	p.next = time.Time{}
	switch {
	case closing:
		// The attempt was cut short; the next start retries it.
		p.lastErr, p.next = "the host stopped during the attempt", now
	case res == delivered:
		final = StatusDelivered
	case res == permanent:
		final = StatusFailed
	case p.attempts >= s.opts.MaxAttempts:
		final = StatusFailed
		p.lastErr += " (attempt " + strconv.Itoa(p.attempts) + " of " + strconv.Itoa(s.opts.MaxAttempts) + ": giving up)"
	default:
		p.next = now.Add(s.opts.Backoff(p.attempts))
	}
	if err := s.dlog.finish(context.WithoutCancel(ctx), p, final, now); err != nil {
		s.log.Error("webhooks: record a delivery", "subscription", sb.cfg.Name, "delivery", p.id, "err", err)
	}
	sb.lastStatus.Store(final)
	switch {
	case closing:
	case final == StatusDelivered:
		s.count(sb, OutcomeDelivered)
	case final == StatusFailed:
		s.count(sb, OutcomeFailed)
		s.log.Warn("webhooks: delivery failed", "subscription", sb.cfg.Name, "event", p.eventID, "type", p.typ,
			"attempts", p.attempts, "status", status, "err", p.lastErr)
	default:
		s.count(sb, OutcomeRetry)
		s.retryLater(sb, p, p.next)
	}
}

// retryLater puts p in sb's retry set, dropping the oldest when it is full.
func (s *Service) retryLater(sb *sub, p *pending, at time.Time) {
	p.next = at
	sb.mu.Lock()
	var drop *pending
	if len(sb.retries) >= s.opts.QueueSize {
		oldest := 0
		for i, r := range sb.retries {
			if r.created.Before(sb.retries[oldest].created) {
				oldest = i
			}
		}
		drop = sb.retries[oldest]
		sb.retries = slices.Delete(sb.retries, oldest, oldest+1)
	}
	sb.retries = append(sb.retries, p)
	sb.mu.Unlock()
	if drop != nil {
		s.count(sb, OutcomeDropped)
		if err := s.dlog.drop(s.ctx, drop.id, "too many deliveries waiting for a retry", s.now()); err != nil {
			s.log.Error("webhooks: record a dropped delivery", "subscription", sb.cfg.Name, "err", err)
		}
	}
	sb.poke()
}

// errText is an attempt's error without the URL (it may hold a token).
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "no answer in time: " + ue.Err.Error()
		}
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "…"
	}
	return msg
}

// newID is prefix and 12 random bytes in hex.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// labelCache remembers connections' labels: looked up at most every
// labelTTL, and kept after a connection is deleted, so the entry of its
// deletion still reaches the subscriptions that selected it.
type labelCache struct {
	mu sync.Mutex
	m  map[string]cachedLabels
}

type cachedLabels struct {
	labels map[string]string
	at     time.Time
}

const (
	labelTTL       = 10 * time.Second
	maxCachedConns = 4096
)

func (c *labelCache) learn(conn string, labels map[string]string, now time.Time) {
	if conn == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedLabels{}
	}
	if _, ok := c.m[conn]; !ok && len(c.m) >= maxCachedConns {
		for k := range c.m { // any one will do
			delete(c.m, k)
			break
		}
	}
	c.m[conn] = cachedLabels{labels: labels, at: now}
}

// get returns the labels remembered for conn and whether they are fresh.
func (c *labelCache) get(conn string, now time.Time) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[conn]
	return l.labels, ok && now.Sub(l.at) < labelTTL
}

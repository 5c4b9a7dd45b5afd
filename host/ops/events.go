package ops

import (
	"cmp"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Event types the host tells its EventSink of.
const (
	// A service changed through the host (after the operation succeeded
	// and its audit entry was written).
	EventServiceCreated = "service.created"
	EventServiceUpdated = "service.updated"
	EventServiceDeleted = "service.deleted"
	EventServiceAction  = "service.action"
	// EventServiceStatus: a get or list the host made showed a service
	// failed, or running again after it was seen failed.
	EventServiceStatus = "service.status"
	// EventServiceRollout: a get, list or change showed a rollout
	// finished (the platform's Service.Rollout got a completion time).
	EventServiceRollout = "service.rollout"
)

// ServiceEventTypes lists the types above.
var ServiceEventTypes = []string{EventServiceCreated, EventServiceUpdated, EventServiceDeleted,
	EventServiceAction, EventServiceStatus, EventServiceRollout}

// Event is something the host did or saw that other systems may want to
// hear of (host/webhooks sends them out).
type Event struct {
	Type string
	Time time.Time
	// Connection and its Labels (what subscriptions select by).
	Connection string
	Labels     map[string]string
	// ServiceID and ServiceName name the service, as far as known.
	ServiceID, ServiceName string
	// Actor is who asked; empty for what the host observed by itself.
	Actor string
	// Data is the event's details, JSON-encodable; see the Event* types.
	Data map[string]any
}

// EventSink hears of the host's events. HostEvent runs on the path of the
// operation or the read that caused it, so it must return at once (queue,
// never send); events of one caller arrive in order.
type EventSink interface {
	HostEvent(Event)
}

// Events is the sink of Config.Events (nil when none).
func (h *Host) Events() EventSink { return h.cfg.Events }

// serviceSummary is a service as an event carries it: without the spec
// and the platform's raw object, which may be large and are the faces'
// business.
func serviceSummary(s *pluginapi.Service) *pluginapi.Service {
	if s == nil {
		return nil
	}
	out := *s
	out.Spec, out.Raw = nil, nil
	return &out
}

// emitChange tells the sink of a service changed by the operation ev
// records; produced is what the operation returned (a created id).
func (h *Host) emitChange(c Caller, ev *auditEvent, produced string) {
	sink := h.cfg.Events
	if !isServiceOp(ev.op) {
		return
	}
	data := map[string]any{"operation": ev.op}
	var typ string
	switch {
	case ev.op == "service.create":
		typ = EventServiceCreated
	case ev.op == "service.update":
		typ = EventServiceUpdated
	case ev.op == "service.delete":
		typ = EventServiceDeleted
	case strings.HasPrefix(ev.op, "service.action:"):
		typ = EventServiceAction
		data["action"] = strings.TrimPrefix(ev.op, "service.action:")
	default:
		return // invoke: it changes nothing the host knows of
	}
	e := Event{Type: typ, Time: time.Now(), Connection: ev.conn, Labels: ev.labels, Actor: c.Actor,
		ServiceID: ev.target, ServiceName: h.targetName(ev)}
	if produced != "" {
		e.ServiceID = produced
	}
	if ev.answer != nil && ev.answer.Service != nil {
		s := ev.answer.Service
		e.ServiceID, e.ServiceName = cmp.Or(e.ServiceID, s.ID), cmp.Or(s.Name, e.ServiceName)
		data["service"] = serviceSummary(s)
	}
	e.Data = data
	if sink != nil {
		sink.HostEvent(e)
	}
	if typ == EventServiceDeleted {
		h.watch.forget(ev.conn, e.ServiceID)
		return
	}
	if ev.answer != nil && ev.answer.Service != nil {
		h.observe(ev.conn, ev.labels, []pluginapi.Service{*ev.answer.Service})
	}
}

// expectChange readies the watcher for the operation ev is about to run:
// a rollout a change starts is reported when it finishes, even for a
// service this host had not seen before.
func (h *Host) expectChange(ev *auditEvent) {
	if ev.target == "" {
		return
	}
	if ev.op == "service.update" || strings.HasPrefix(ev.op, "service.action:") {
		h.watch.expect(ev.conn, ev.target)
	}
}

// observeAnswer watches the services a get or list answer shows (also
// without an EventSink: the timeline shows the status transitions seen).
func (h *Host) observeAnswer(t *target, op string, resp any) {
	if op != pluginapi.OpGet && op != pluginapi.OpList {
		return
	}
	switch r := resp.(type) {
	case *pluginapi.ServiceResponse:
		if r.Service != nil {
			h.observe(t.conn.Name, t.conn.Labels, []pluginapi.Service{*r.Service})
		}
	case *pluginapi.ListResponse:
		h.observe(t.conn.Name, t.conn.Labels, r.Services)
	}
}

// observe records the status transitions of svcs and reports their
// status and rollout edges to the sink, if any.
func (h *Host) observe(conn string, labels map[string]string, svcs []pluginapi.Service) {
	if len(svcs) == 0 {
		return
	}
	events := h.watch.see(conn, svcs, time.Now())
	sink := h.cfg.Events
	if sink == nil {
		return
	}
	for _, e := range events {
		e.Labels = labels
		sink.HostEvent(e)
	}
}

// maxWatched bounds the services whose last state the host remembers.
// Forgetting one costs at most a repeated "failed" event for it, and its
// timeline's status transitions.
const maxWatched = 16384

// Bounds of the status transitions kept per service (for the timeline):
// at most maxTransitions, each message cut to maxTransitionMessage bytes,
// so the watcher holds at most ~16384 × 20 × 300 B ≈ 100 MB in the worst
// case, and far less in practice (transitions are rare).
const (
	maxTransitions       = 20
	maxTransitionMessage = 200
)

// transition is a status change the host observed in a get or list.
type transition struct {
	at       time.Time
	from, to pluginapi.Status
	// running and desired are the service's counts then (nil: unknown).
	running, desired *int
	message          string
}

// watcher remembers, per service, what the last get or list showed, so
// that status changes and finished rollouts are reported once (edges, not
// levels).
type watcher struct {
	mu   sync.Mutex
	seen map[nameKey]watched
}

type watched struct {
	status pluginapi.Status
	// failed: seen failed and not running since (a failed service that
	// goes through deploying before running is "back to running").
	failed bool
	// rollout identifies the last rollout seen ("" for none).
	rollout string
	// history is the last status transitions seen, oldest first; a new
	// slice on every change, so a copy of watched may keep reading it.
	history []transition
}

// rolloutKey identifies a rollout by its times and state.
func rolloutKey(r *pluginapi.Rollout) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(r.State)
	for _, t := range []*time.Time{r.StartedAt, r.CompletedAt} {
		b.WriteByte('|')
		if t != nil {
			b.WriteString(t.UTC().Format(time.RFC3339Nano))
		}
	}
	return b.String()
}

// expect marks a service about to change as known, keeping what is
// remembered of it.
func (w *watcher) expect(conn, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := nameKey{conn, id}
	if _, ok := w.seen[k]; !ok {
		w.put(k, watched{})
	}
}

func (w *watcher) forget(conn, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.seen, nameKey{conn, id})
}

// put stores v under k, making room first when the map is full.
func (w *watcher) put(k nameKey, v watched) {
	if w.seen == nil {
		w.seen = map[nameKey]watched{}
	}
	if _, ok := w.seen[k]; !ok && len(w.seen) >= maxWatched {
		drop := len(w.seen) / 2 // in map order: any will do
		for old := range w.seen {
			if drop == 0 {
				break
			}
			delete(w.seen, old)
			drop--
		}
	}
	w.seen[k] = v
}

// see records svcs and returns the events their changes make:
//   - service.status when a service is seen failed (first sight included:
//     a failure is news) or running after it was seen failed;
//   - service.rollout when a known service shows a finished rollout other
//     than the one last seen (a service seen for the first time only
//     records its rollout, so a restart does not report old ones).
func (w *watcher) see(conn string, svcs []pluginapi.Service, now time.Time) []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Event
	for i := range svcs {
		s := &svcs[i]
		if s.ID == "" {
			continue
		}
		k := nameKey{conn, s.ID}
		prev, known := w.seen[k]
		cur := watched{status: s.Status, failed: prev.failed, rollout: rolloutKey(s.Rollout), history: prev.history}
		// A change of status is a transition; so is a first sight
		// failed (as for the event below).
		if s.Status != prev.status && (prev.status != "" || s.Status == pluginapi.StatusFailed) {
			cur.history = appendTransition(prev.history, transition{at: now, from: prev.status, to: s.Status,
				running: copyInt(s.Running), desired: copyInt(s.Desired), message: clip(s.StatusMessage, maxTransitionMessage)})
		}
		event := func(typ string, data map[string]any) {
			data["service"] = serviceSummary(s)
			out = append(out, Event{Type: typ, Time: now, Connection: conn, ServiceID: s.ID, ServiceName: s.Name, Data: data})
		}
		switch {
		case s.Status == pluginapi.StatusFailed && !prev.failed:
			cur.failed = true
			event(EventServiceStatus, map[string]any{"status": s.Status, "previous": prev.status, "message": s.StatusMessage})
		case s.Status == pluginapi.StatusRunning && prev.failed:
			cur.failed = false
			event(EventServiceStatus, map[string]any{"status": s.Status, "previous": prev.status, "message": s.StatusMessage})
		}
		if known && cur.rollout != prev.rollout && s.Rollout != nil && s.Rollout.CompletedAt != nil {
			event(EventServiceRollout, map[string]any{"rollout": s.Rollout})
		}
		w.put(k, cur)
	}
	return out
}

// appendTransition returns a new slice: hist (at most maxTransitions-1 of
// its newest) and t.
func appendTransition(hist []transition, t transition) []transition {
	if len(hist) >= maxTransitions {
		hist = hist[len(hist)-maxTransitions+1:]
	}
	out := make([]transition, 0, len(hist)+1)
	return append(append(out, hist...), t)
}

// transitions returns the status transitions seen of a service, oldest
// first (the slice is never written again).
func (w *watcher) transitions(conn, id string) []transition {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[nameKey{conn, id}].history
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	n := *p
	return &n
}

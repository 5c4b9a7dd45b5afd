package webhooks

import (
	"context"
	"slices"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// View is a subscription as the API and the portal show it: never its
// secret, its URL without credentials (Shown).
type View struct {
	Name      string   `json:"name"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Selector  string   `json:"selector"`
	AllowHTTP bool     `json:"allow_http"`
	// Queued events wait for the worker; Retrying deliveries wait for a
	// retry.
	Queued   int `json:"queued"`
	Retrying int `json:"retrying"`
	// Counters since the host started.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	Dropped   int64 `json:"dropped"`
	Attempts  int64 `json:"attempts"`
	// LastStatus is the status of the newest attempt's delivery, "" before any.
	LastStatus string `json:"last_status,omitempty"`
}

// Delivery log bounds of the views.
const (
	DefaultDeliveries = 50
	MaxDeliveries     = 500
)

func requireOwner(c ops.Caller) error {
	if c.Owner() {
		return nil
	}
	return pluginapi.Errorf(pluginapi.CodeForbidden, "webhooks need the owner role; %s is not an owner", actor(c))
}

func actor(c ops.Caller) string {
	if c.Actor == "" {
		return "the caller"
	}
	return c.Actor
}

// List shows every subscription, in the config's order. Owner.
func (s *Service) List(c ops.Caller) ([]View, error) {
	if err := requireOwner(c); err != nil {
		return nil, err
	}
	out := []View{}
	if s == nil {
		return out, nil
	}
	for _, sb := range s.subs {
		sb.mu.Lock()
		queued, retrying := len(sb.queue), len(sb.retries)
		sb.mu.Unlock()
		last, _ := sb.lastStatus.Load().(string)
		out = append(out, View{Name: sb.cfg.Name, URL: Shown(sb.cfg.URL), Events: slices.Clone(sb.cfg.Events),
			Selector: sb.cfg.Selector, AllowHTTP: sb.cfg.AllowHTTP, Queued: queued, Retrying: retrying,
			Delivered: sb.delivered.Load(), Failed: sb.failed.Load(), Dropped: sb.droppedN.Load(),
			Attempts: sb.attempts.Load(), LastStatus: last})
	}
	return out, nil
}

// subscription finds a subscription by name for an owner.
func (s *Service) subscription(c ops.Caller, name string) (*sub, error) {
	if err := requireOwner(c); err != nil {
		return nil, err
	}
	var sb *sub
	if s != nil {
		sb = s.byName[name]
	}
	if sb == nil {
		return nil, pluginapi.NotFound("no webhook called %q", name)
	}
	return sb, nil
}

// Deliveries returns a subscription's newest deliveries, newest first: at
// most limit (0: DefaultDeliveries; at most MaxDeliveries). Owner.
func (s *Service) Deliveries(ctx context.Context, c ops.Caller, name string, limit int) ([]Delivery, error) {
	sb, err := s.subscription(c, name)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, pluginapi.Invalid("/limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultDeliveries
	case limit > MaxDeliveries:
		limit = MaxDeliveries
	}
	ds, err := s.dlog.latest(ctx, sb.cfg.Name, limit)
	if err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "webhooks: read the delivery log: %v", err)
	}
	return ds, nil
}

// Test sends a ping event to a subscription at once, whatever its Events,
// and returns its delivery after the first attempt (a failed ping is
// retried like any delivery). Owner.
func (s *Service) Test(ctx context.Context, c ops.Caller, name string) (Delivery, error) {
	sb, err := s.subscription(c, name)
	if err != nil {
		return Delivery{}, err
	}
	if s.closed.Load() {
		return Delivery{}, pluginapi.Errorf(pluginapi.CodeUnavailable, "the host is stopping")
	}
	now := s.now()
	p := &Payload{ID: newID("evt_"), Type: EventPing, Time: now.UTC(), Actor: c.Actor,
		Data: map[string]any{"subscription": sb.cfg.Name, "message": "a test of this webhook, sent by " + actor(c)}}
	d, err := s.newPending(sb, p, now)
	if err == nil {
		err = s.dlog.insert(ctx, d, StatusPending, "", now)
	}
	if err != nil {
		return Delivery{}, pluginapi.Errorf(pluginapi.CodeInternal, "webhooks: record the ping: %v", err)
	}
	s.trimLater(sb)
	// The caller's context bounds the attempt too; the host's ends it at Close.
	actx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	s.attempt(actx, sb, d)
	out, err := s.dlog.one(context.WithoutCancel(ctx), sb.cfg.Name, d.id)
	if err != nil {
		return Delivery{}, pluginapi.Errorf(pluginapi.CodeInternal, "webhooks: read the delivery log: %v", err)
	}
	return out, nil
}

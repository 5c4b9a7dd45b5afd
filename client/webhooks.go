package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/wharfhq/wharf/host/webhooks"
)

// Webhooks are the host's outgoing webhooks (owners only).
type Webhooks struct{ c *Client }

// List lists the webhooks with their counters, never their secrets.
func (w *Webhooks) List(ctx context.Context, opts ...CallOption) ([]webhooks.View, error) {
	var out struct {
		Webhooks []webhooks.View `json:"webhooks"`
	}
	err := w.c.do(ctx, req{method: "GET", path: "/webhooks", out: &out}, opts)
	return out.Webhooks, err
}

// Deliveries returns a webhook's newest deliveries, newest first; limit 0
// is the host's default.
func (w *Webhooks) Deliveries(ctx context.Context, name string, limit int, opts ...CallOption) ([]webhooks.Delivery, error) {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
	}
	err := w.c.do(ctx, req{method: "GET", path: "/webhooks/{name}/deliveries", args: []string{name}, query: q, out: &out}, opts)
	return out.Deliveries, err
}

// Test sends a ping to a webhook and returns its delivery after the
// first attempt.
func (w *Webhooks) Test(ctx context.Context, name string, opts ...CallOption) (webhooks.Delivery, error) {
	var out webhooks.Delivery
	err := w.c.do(ctx, req{method: "POST", path: "/webhooks/{name}/test", args: []string{name}, out: &out}, opts)
	return out, err
}

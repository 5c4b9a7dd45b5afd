package logfanout

import (
	"context"
	"testing"
)

// TestSubscribersCount: the count follows subscriptions as they come and
// go, whichever way they leave, across followers.
func TestSubscribersCount(t *testing.T) {
	src := &memSource{}
	h := New(Config{Source: src})
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := h.Subscribe(ctx, key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe(context.Background(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := Key{Connection: "c", Service: "other"}
	c, err := h.Subscribe(context.Background(), other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f, s := h.Followers(), h.Subscribers(); f != 2 || s != 3 {
		t.Fatalf("followers %d, subscribers %d; want 2 and 3", f, s)
	}
	cancel() // a leaves through its context
	waitFor(t, "a gone", func() bool { return h.Subscribers() == 2 })
	b.Close()
	if s := h.Subscribers(); s != 1 {
		t.Fatalf("subscribers %d after b closed, want 1", s)
	}
	h.Close() // ends c as the host's shutdown does
	if f, s := h.Followers(), h.Subscribers(); f != 0 || s != 0 {
		t.Fatalf("after Close: followers %d, subscribers %d", f, s)
	}
	if _, ok := <-c.C; ok {
		t.Fatal("c still open after Close")
	}
}

package logfanout

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// memSource is a log that grows when the test says so, read with an
// index cursor, at most pageLimit entries per call (More set beyond).
type memSource struct {
	mu        sync.Mutex
	lines     []pluginapi.LogEntry
	pageLimit int
	calls     atomic.Int64
	fail      error
	// lastCtx is the context of the latest Logs call: a follower's own,
	// cancelled when it stops.
	lastCtx context.Context
	// lateCalls counts calls made with an already cancelled context.
	lateCalls atomic.Int64
}

func (m *memSource) add(n int, stream string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		m.lines = append(m.lines, pluginapi.LogEntry{Stream: stream, Message: "line " + strconv.Itoa(len(m.lines)),
			Details: map[string]string{"k": "v"}})
	}
}

func (m *memSource) LogsCapabilities(ctx context.Context, key Key) (pluginapi.LogsCapabilities, error) {
	if key.Service == "missing" {
		return pluginapi.LogsCapabilities{}, pluginapi.NotFound("service missing not found")
	}
	return pluginapi.LogsCapabilities{Tail: true, PollIntervalMS: 2}, nil
}

func (m *memSource) Logs(ctx context.Context, key Key, req pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	m.calls.Add(1)
	if ctx.Err() != nil {
		m.lateCalls.Add(1)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastCtx = ctx
	if m.fail != nil {
		return nil, m.fail
	}
	start := 0
	if req.Cursor != "" {
		start, _ = strconv.Atoi(req.Cursor)
	} else if req.Tail > 0 {
		start = max(0, len(m.lines)-req.Tail)
	}
	end := len(m.lines)
	if m.pageLimit > 0 {
		end = min(end, start+m.pageLimit)
	}
	out := append([]pluginapi.LogEntry(nil), m.lines[start:end]...)
	return &pluginapi.LogsResponse{Entries: out, Cursor: strconv.Itoa(end), More: end < len(m.lines)}, nil
}

func (m *memSource) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

var key = Key{Connection: "c", Service: "s"}

// collect reads batches until it has n entries; a Skipped marker, an
// early end or a timeout is an error. It may run in another goroutine.
func collect(sub *Subscription, n int) ([]string, error) {
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case b, ok := <-sub.C:
			if !ok {
				return got, fmt.Errorf("subscription ended after %d entries: %v", len(got), sub.Err())
			}
			for _, it := range b {
				if it.Skipped > 0 {
					return got, fmt.Errorf("fast subscriber skipped %d entries", it.Skipped)
				}
				if it.Entry != nil {
					got = append(got, it.Entry.Message)
				}
			}
		case <-timeout:
			return got, fmt.Errorf("got %d of %d entries", len(got), n)
		}
	}
	return got, nil
}

func mustCollect(t *testing.T, sub *Subscription, n int) []string {
	t.Helper()
	got, err := collect(sub, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestFastSubscribersGetEveryLineFromOneFollower(t *testing.T) {
	src := &memSource{pageLimit: 7}
	src.add(3, "stdout")                        // history: not delivered without a tail
	h := New(Config{Source: src, Buffer: 1000}) // room for all: no skips, whatever the scheduling
	defer h.Close()
	ctx := context.Background()

	subs := make([]*Subscription, 3)
	for i := range subs {
		s, err := h.Subscribe(ctx, key, Options{})
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	if n := h.Followers(); n != 1 {
		t.Fatalf("followers = %d, want 1 shared follower", n)
	}
	// Give the follower time to position itself at the end before new lines.
	waitFor(t, "follower positioned", func() bool { return src.calls.Load() >= 2 })

	const total = 300
	results := make([][]string, len(subs))
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := collect(s, total)
			if err != nil {
				t.Error(err)
			}
			results[i] = got
		}()
	}
	for i := 0; i < total; i += 10 {
		src.add(10, "stdout")
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	for i, got := range results {
		for j, msg := range got {
			if want := fmt.Sprintf("line %d", j+3); msg != want {
				t.Fatalf("subscriber %d entry %d = %q, want %q", i, j, msg, want)
			}
		}
	}
}

func TestSlowSubscriberIsBoundedAndToldWhatItMissed(t *testing.T) {
	src := &memSource{pageLimit: 100}
	h := New(Config{Source: src})
	defer h.Close()
	ctx := context.Background()

	const buffer = 10
	slow, err := h.Subscribe(ctx, key, Options{Buffer: buffer})
	if err != nil {
		t.Fatal(err)
	}
	// The fast one's buffer holds everything, however the goroutines are scheduled.
	fast, err := h.Subscribe(ctx, key, Options{Buffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "follower positioned", func() bool { return src.calls.Load() >= 2 })

	const total = 2000
	done := make(chan []string)
	go func() {
		got, err := collect(fast, total)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	for i := 0; i < total; i += 100 {
		src.add(100, "stdout")
		// The slow subscriber never reads meanwhile: its queue must stay bounded.
		slow.mu.Lock()
		q := slow.entries
		slow.mu.Unlock()
		if q > buffer {
			t.Fatalf("slow subscriber queues %d entries, buffer is %d", q, buffer)
		}
	}
	if got := <-done; len(got) != total || got[total-1] != fmt.Sprintf("line %d", total-1) {
		t.Fatalf("fast subscriber got %d entries", len(got))
	}
	// Wait until the last line reached the slow subscriber too (publish
	// order among subscribers is not fixed), so that nothing more arrives.
	waitFor(t, "every line pushed to the slow subscriber", func() bool {
		slow.mu.Lock()
		defer slow.mu.Unlock()
		return slow.received == total
	})
	// Every entry is either delivered or counted as skipped, in order.
	seen, skipped, last := 0, 0, -1
	for seen+skipped < total {
		select {
		case b := <-slow.C:
			for _, it := range b {
				if it.Skipped > 0 {
					skipped += it.Skipped
					last += it.Skipped
					continue
				}
				if it.Entry == nil {
					continue
				}
				n, _ := strconv.Atoi(it.Entry.Message[len("line "):])
				if n != last+1 {
					t.Fatalf("slow subscriber got line %d after %d (skipped so far %d)", n, last, skipped)
				}
				last = n
				seen++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("slow subscriber: seen %d, skipped %d of %d", seen, skipped, total)
		}
	}
	if skipped == 0 {
		t.Fatal("slow subscriber skipped nothing: the test did not exercise the bound")
	}
	if seen > 2*buffer {
		t.Fatalf("slow subscriber received %d entries, more than buffer plus one in-flight batch", seen)
	}
}

func TestFollowerStopsWithLastSubscriber(t *testing.T) {
	src := &memSource{}
	h := New(Config{Source: src})
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := h.Subscribe(ctx, key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe(context.Background(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // a leaves through its context
	waitFor(t, "a's channel closed", func() bool {
		select {
		case _, ok := <-a.C:
			return !ok
		default:
			return false
		}
	})
	if n := h.Followers(); n != 1 {
		t.Fatalf("followers = %d after one of two left, want 1", n)
	}
	waitFor(t, "the follower's first poll", func() bool { return src.calls.Load() > 0 })
	b.Close()
	if n := h.Followers(); n != 0 {
		t.Fatalf("followers = %d after the last left, want 0", n)
	}
	// The follower stops: the context its polls carry is cancelled, and
	// at most one poll already decided on goes out after that.
	src.mu.Lock()
	fctx := src.lastCtx
	src.mu.Unlock()
	select {
	case <-fctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the follower's polls are still live after the last subscriber left")
	}
	if n := src.lateCalls.Load(); n > 1 {
		t.Fatalf("%d polls with the follower's context already cancelled", n)
	}
}

func TestTailFirstAndStreamFilter(t *testing.T) {
	src := &memSource{}
	src.add(5, "stdout")
	src.add(5, "stderr")
	h := New(Config{Source: src})
	defer h.Close()
	sub, err := h.Subscribe(context.Background(), key, Options{Tail: 6, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := mustCollect(t, sub, 5)
	if got[0] != "line 5" || got[4] != "line 9" {
		t.Fatalf("tail with stderr only = %v, want lines 5..9", got)
	}
	src.add(1, "stdout")
	src.add(1, "stderr")
	if got := mustCollect(t, sub, 1); got[0] != "line 11" {
		t.Fatalf("followed stderr entry = %q, want line 11", got[0])
	}
}

func TestDetailsStrippedUnlessAsked(t *testing.T) {
	src := &memSource{}
	src.add(1, "stdout")
	h := New(Config{Source: src})
	defer h.Close()
	for _, details := range []bool{false, true} {
		sub, err := h.Subscribe(context.Background(), key, Options{Tail: 1, Details: details})
		if err != nil {
			t.Fatal(err)
		}
		b := <-sub.C
		if has := b[0].Entry.Details != nil; has != details {
			t.Fatalf("details=%v: entry has details %v", details, has)
		}
		sub.Close()
	}
}

func TestPermanentErrorEndsSubscriptions(t *testing.T) {
	src := &memSource{}
	h := New(Config{Source: src})
	defer h.Close()
	if _, err := h.Subscribe(context.Background(), Key{Connection: "c", Service: "missing"}, Options{}); pluginapi.CodeOf(err) != pluginapi.CodeNotFound {
		t.Fatalf("subscribe to a missing service: %v, want not_found", err)
	}
	sub, err := h.Subscribe(context.Background(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.setFail(pluginapi.NotFound("service s not found"))
	for range sub.C {
	}
	if pluginapi.CodeOf(sub.Err()) != pluginapi.CodeNotFound {
		t.Fatalf("Err = %v, want not_found", sub.Err())
	}
	waitFor(t, "follower gone", func() bool { return h.Followers() == 0 })
}

func TestTransientErrorIsReportedOnceAndFollowingResumes(t *testing.T) {
	src := &memSource{}
	h := New(Config{Source: src, MaxBackoff: 10 * time.Millisecond})
	defer h.Close()
	sub, err := h.Subscribe(context.Background(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitFor(t, "follower positioned", func() bool { return src.calls.Load() >= 2 })
	src.setFail(pluginapi.Errorf(pluginapi.CodeUnavailable, "platform down"))
	b := <-sub.C
	if len(b) != 1 || b[0].Error == nil || b[0].Error.Code != pluginapi.CodeUnavailable {
		t.Fatalf("first batch after failure = %+v, want one unavailable error item", b)
	}
	src.setFail(nil)
	src.add(1, "stdout")
	if got := mustCollect(t, sub, 1); got[0] != "line 0" {
		t.Fatalf("after recovery got %q", got[0])
	}
}

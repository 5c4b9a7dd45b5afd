package logfanout

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// timedSource is a log whose line n is at base+n seconds, read with an
// index cursor. It honours Until as a plugin declaring logs.until must:
// later lines are dropped and End is answered once a line after Until
// exists (so nothing at or before Until can still come).
type timedSource struct {
	mu    sync.Mutex
	n     int
	base  time.Time
	until []*time.Time // the Until of every call, in order
}

func (m *timedSource) at(n int) time.Time { return m.base.Add(time.Duration(n) * time.Second) }

func (m *timedSource) add(k int) {
	m.mu.Lock()
	m.n += k
	m.mu.Unlock()
}

func (m *timedSource) LogsCapabilities(context.Context, Key) (pluginapi.LogsCapabilities, error) {
	return pluginapi.LogsCapabilities{Tail: true, Until: true, PollIntervalMS: 2}, nil
}

func (m *timedSource) Logs(_ context.Context, _ Key, req pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.until = append(m.until, req.Until)
	start, last := m.n, m.n // last: lines at or before Until
	if req.Until != nil {
		for last > 0 && m.at(last-1).After(*req.Until) {
			last--
		}
	}
	switch {
	case req.Cursor != "":
		start, _ = strconv.Atoi(req.Cursor)
	case req.Tail > 0:
		start = max(0, last-req.Tail)
	}
	resp := &pluginapi.LogsResponse{Entries: []pluginapi.LogEntry{}, Cursor: strconv.Itoa(m.n)}
	for i := start; i < m.n; i++ {
		t := m.at(i)
		if req.Until != nil && t.After(*req.Until) {
			break
		}
		resp.Entries = append(resp.Entries, pluginapi.LogEntry{Time: &t, Message: "line " + strconv.Itoa(i)})
	}
	resp.End = req.Until != nil && m.n > 0 && m.at(m.n-1).After(*req.Until)
	return resp, nil
}

// drain reads the subscription to its end and returns the messages.
func drain(t *testing.T, sub *Subscription) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b, ok := <-sub.C:
			if !ok {
				return got
			}
			for _, it := range b {
				if it.Entry != nil {
					got = append(got, it.Entry.Message)
				}
			}
		case <-timeout:
			t.Fatalf("subscription did not end; got %v", got)
		}
	}
}

func TestFollowWithUntilEndsAtUntilAndLeavesOthersRunning(t *testing.T) {
	src := &timedSource{base: time.Unix(1_700_000_000, 0)}
	src.add(3) // lines 0..2: history, not asked for
	h := New(Config{Source: src})
	defer h.Close()
	until := src.at(5)
	bounded, err := h.Subscribe(context.Background(), key, Options{Until: &until})
	if err != nil {
		t.Fatal(err)
	}
	open, err := h.Subscribe(context.Background(), key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if n := h.Followers(); n != 2 {
		t.Fatalf("followers = %d, want 2: a bounded follow cannot share the open-ended follower", n)
	}
	waitFor(t, "followers positioned", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(src.until) >= 4
	})
	src.add(5) // lines 3..7; until is line 5's time

	got := drain(t, bounded)
	if want := []string{"line 3", "line 4", "line 5"}; !equal(got, want) {
		t.Fatalf("bounded follow got %v, want %v", got, want)
	}
	if err := bounded.Err(); err != nil {
		t.Fatalf("a follow that reached until ended with %v, want a clean end", err)
	}
	waitFor(t, "bounded follower gone", func() bool { return h.Followers() == 1 })
	if got := mustCollect(t, open, 5); got[4] != "line 7" {
		t.Fatalf("open-ended follow got %v, want lines 3..7", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	with, without := 0, 0
	for _, u := range src.until {
		switch {
		case u == nil:
			without++
		case u.Equal(until):
			with++
		default:
			t.Fatalf("a call carried until %v", u)
		}
	}
	if with == 0 || without == 0 {
		t.Fatalf("calls with until %d, without %d: the bounded follower must pass until on every call", with, without)
	}
}

func TestTailWithPastUntilEndsWithoutAFollower(t *testing.T) {
	src := &timedSource{base: time.Unix(1_700_000_000, 0)}
	src.add(10)
	h := New(Config{Source: src})
	defer h.Close()
	until := src.at(6)
	sub, err := h.Subscribe(context.Background(), key, Options{Tail: 2, Until: &until})
	if err != nil {
		t.Fatal(err)
	}
	if n := h.Followers(); n != 0 {
		t.Fatalf("followers = %d after a first read that reached until", n)
	}
	if got := drain(t, sub); !equal(got, []string{"line 5", "line 6"}) {
		t.Fatalf("got %v, want the last two lines at or before until", got)
	}
	until = src.at(9)
	sub, err = h.Subscribe(context.Background(), key, Options{Tail: 2, Until: &until})
	if err != nil {
		t.Fatal(err)
	}
	// Line 9 is the last: nothing after until exists yet, so the follow goes on.
	src.add(1)
	if got := drain(t, sub); !equal(got, []string{"line 8", "line 9"}) {
		t.Fatalf("got %v, want the tail then the end", got)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

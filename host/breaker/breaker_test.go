package breaker

import (
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var pol = Policy{Threshold: 3, Backoff: 30 * time.Second, MaxBackoff: 100 * time.Second}

func fail(s *Set, key string) bool {
	t, _, ok := s.Allow(key, "p")
	if ok {
		s.Done(t, Failed, pol, "trap", "boom")
	}
	return ok
}

func TestOpensAfterConsecutiveFailuresOnly(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	var events []Event
	s := New(c.now, func(e Event) { events = append(events, e) })
	fail(s, "a")
	fail(s, "a")
	// A plugin's error answer neither counts nor resets; a success resets.
	tk, _, _ := s.Allow("a", "p")
	s.Done(tk, Answered, pol, "", "")
	fail(s, "a")
	if _, open := s.Get("a"); !open {
		t.Fatal("3 failures with an answered error between: want open")
	}
	if len(events) != 1 || !events[0].Opened || !events[0].Trip || events[0].Failures != 3 {
		t.Fatalf("events %+v", events)
	}
	fail(s, "b")
	fail(s, "b")
	tk, _, _ = s.Allow("b", "p")
	s.Done(tk, Succeeded, pol, "", "")
	fail(s, "b")
	fail(s, "b")
	if _, open := s.Get("b"); open {
		t.Fatal("a success between failures must reset the count")
	}
	_, st, ok := s.Allow("a", "p")
	if ok || st.Connection != "a" || st.Reason != "trap" || st.LastError != "boom" || !st.RetryAt.Equal(c.t.Add(30*time.Second)) {
		t.Fatalf("open breaker allowed %v or state %+v", ok, st)
	}
	if got := len(s.Open()); got != 1 {
		t.Fatalf("Open lists %d", got)
	}
}

func TestHalfOpenProbeDoublesUpToMax(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	s := New(c.now, nil)
	for range 3 {
		fail(s, "a")
	}
	for i, want := range []time.Duration{60 * time.Second, 100 * time.Second, 100 * time.Second} {
		st, _ := s.Get("a")
		c.t = st.RetryAt.Add(-time.Millisecond)
		if _, _, ok := s.Allow("a", "p"); ok {
			t.Fatalf("round %d: allowed before the window ended", i)
		}
		c.t = st.RetryAt
		probe, _, ok := s.Allow("a", "p")
		if !ok || !probe.Probe() {
			t.Fatalf("round %d: no probe after the window", i)
		}
		if _, st, ok := s.Allow("a", "p"); ok || !st.Probing {
			t.Fatalf("round %d: a second call went through while the probe ran", i)
		}
		s.Done(probe, Failed, pol, "timeout", "slow")
		st, _ = s.Get("a")
		if st.Backoff != want || !st.RetryAt.Equal(c.t.Add(want)) || st.Reason != "timeout" {
			t.Fatalf("round %d: backoff %s retry %s, want %s", i, st.Backoff, st.RetryAt, want)
		}
	}
	// A probe that never ran passes its turn; one that succeeds closes.
	st, _ := s.Get("a")
	c.t = st.RetryAt
	probe, _, _ := s.Allow("a", "p")
	s.Done(probe, NotRun, pol, "", "")
	probe, _, ok := s.Allow("a", "p")
	if !ok || !probe.Probe() {
		t.Fatal("the next call after a probe that did not run is the probe")
	}
	s.Done(probe, Answered, pol, "", "")
	if _, open := s.Get("a"); open {
		t.Fatal("a probe the plugin answered must close the breaker")
	}
	if _, _, ok := s.Allow("a", "p"); !ok {
		t.Fatal("closed breaker refused a call")
	}
}

func TestForgetAndPluginChange(t *testing.T) {
	c := &clock{time.Unix(1000, 0)}
	var closed int
	s := New(c.now, func(e Event) {
		if !e.Opened {
			closed++
		}
	})
	for range 3 {
		fail(s, "a")
		fail(s, "b")
	}
	s.Forget("b")
	if _, open := s.Get("b"); open {
		t.Fatal("forgotten breaker still open")
	}
	if got := s.ForgetPlugin("p"); len(got) != 1 || got[0].Connection != "a" || closed != 0 {
		t.Fatalf("ForgetPlugin closed %+v (%d events)", got, closed)
	}
	for range 3 {
		fail(s, "a")
	}
	// The connection now uses plugin q: p's breaker does not fence it.
	if _, _, ok := s.Allow("a", "q"); !ok {
		t.Fatal("another plugin's calls fenced by p's breaker")
	}
}

func TestPolicyCheckNamesTheField(t *testing.T) {
	names := [3]string{"failure_policy.consecutive_failures", "failure_policy.backoff", "failure_policy.max_backoff"}
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{Threshold: -1}, "failure_policy.consecutive_failures: -1"},
		{Policy{Threshold: MaxThreshold + 1}, "consecutive_failures: 1001"},
		{Policy{Backoff: time.Millisecond}, "failure_policy.backoff: 1ms"},
		{Policy{MaxBackoff: 48 * time.Hour}, "failure_policy.max_backoff: 48h"},
		{Policy{Backoff: time.Minute, MaxBackoff: 30 * time.Second}, "max_backoff: 30s is shorter than failure_policy.backoff 1m0s"},
	} {
		err := tc.p.Check(names)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
	if err := (Policy{}).Check(names); err != nil {
		t.Errorf("unset policy: %v", err)
	}
	got := Policy{Backoff: 10 * time.Minute}.WithDefaults(Default)
	if got.Threshold != DefaultThreshold || got.MaxBackoff != 10*time.Minute {
		t.Errorf("WithDefaults: %+v", got)
	}
}

// BenchmarkAllowDone is the cost the breaker adds to every plugin call
// (a closed breaker, a successful call).
func BenchmarkAllowDone(b *testing.B) {
	s := New(nil, nil)
	for b.Loop() {
		t, _, _ := s.Allow("conn", "p")
		s.Done(t, Succeeded, pol, "", "")
	}
}

// BenchmarkAllowOpen is a fenced call's refusal.
func BenchmarkAllowOpen(b *testing.B) {
	s := New(nil, nil)
	for range 3 {
		fail(s, "conn")
	}
	for b.Loop() {
		if _, _, ok := s.Allow("conn", "p"); ok {
			b.Fatal("allowed")
		}
	}
}

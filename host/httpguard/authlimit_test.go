package httpguard

import (
	"fmt"
	"testing"
	"time"
)

func TestAuthLimiterLocksOutAndForgives(t *testing.T) {
	l := NewAuthLimiter(AuthLimit{Burst: 3, Every: 10 * time.Second}, nil)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if w := l.Wait("198.51.100.7"); w != 0 {
			t.Fatalf("attempt %d: wait %s", i, w)
		}
		l.Fail("198.51.100.7", "wrong token")
	}
	if w := l.Wait("198.51.100.7"); w <= 0 || w > 10*time.Second {
		t.Fatalf("after the burst: wait %s", w)
	}
	if w := l.Wait("198.51.100.8"); w != 0 {
		t.Fatalf("another address is locked too: %s", w)
	}
	now = now.Add(10 * time.Second)
	if w := l.Wait("198.51.100.7"); w != 0 {
		t.Fatalf("after one period: wait %s", w)
	}
	// IPv6 addresses count per /64.
	for range 3 {
		l.Fail("[2001:db8:1:2::10]:443", "wrong token")
	}
	if w := l.Wait("2001:db8:1:2::99"); w <= 0 {
		t.Fatal("another address of the same /64 is not locked")
	}
}

func TestAuthLimiterMemoryIsBounded(t *testing.T) {
	l := NewAuthLimiter(AuthLimit{MaxClients: 1000}, nil)
	for i := range 100000 {
		l.Fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "wrong token")
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d addresses remembered, want at most 1000", n)
	}
}

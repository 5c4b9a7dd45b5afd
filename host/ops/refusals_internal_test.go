package ops

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// TestRefusalLimiter: a burst per actor and kind, refilled over the
// window; what is left out is summed up once the window ends; memory is
// bounded however many actors there are.
func TestRefusalLimiter(t *testing.T) {
	type flushed struct {
		k refusalKey
		b refusalBucket
	}
	got := make(chan flushed, 10)
	l := newRefusalLimiter(RefusalLimit{Burst: 2, Window: 50 * time.Millisecond}, func(k refusalKey, b refusalBucket) { got <- flushed{k, b} })
	t0 := time.Now()
	k := refusalKey{actor: "a", kind: "denied"}
	var allowed int
	for i := 0; i < 5; i++ {
		if l.allow(k, "10.0.0.1:1", pluginapi.CodeForbidden, t0) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d of 5 allowed at once, want the burst of 2", allowed)
	}
	if !l.allow(refusalKey{actor: "a", kind: "invalid"}, "", pluginapi.CodeInvalid, t0) || !l.allow(refusalKey{actor: "b", kind: "denied"}, "", pluginapi.CodeForbidden, t0) {
		t.Fatal("another kind or actor shares the bucket")
	}
	select {
	case f := <-got:
		if f.k != k || f.b.suppressed != 3 || f.b.addr != "10.0.0.1:1" || f.b.code != pluginapi.CodeForbidden {
			t.Fatalf("summary: %+v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the suppressed attempts were never summed up")
	}
	// Half a window later one more is allowed, a whole window refills the burst.
	half := t0.Add(25 * time.Millisecond)
	if first, second := l.allow(k, "", pluginapi.CodeForbidden, half), l.allow(k, "", pluginapi.CodeForbidden, half); !first || second {
		t.Fatal("refill after half a window")
	}
	later := t0.Add(time.Second)
	first := l.allow(k, "", pluginapi.CodeForbidden, later)
	second := l.allow(k, "", pluginapi.CodeForbidden, later)
	if !first || !second {
		t.Fatal("refill after a window")
	}

	// Many actors: the map stays bounded, the extra ones share a bucket.
	big := newRefusalLimiter(RefusalLimit{Burst: 1, Window: time.Hour}, func(refusalKey, refusalBucket) {})
	for i := 0; i < maxRefusalActors+50; i++ {
		big.allow(refusalKey{actor: fmt.Sprint("actor-", i), kind: "denied"}, "", pluginapi.CodeForbidden, t0)
	}
	if n := len(big.buckets); n > maxRefusalActors+1 {
		t.Fatalf("%d buckets for %d actors, want at most %d", n, maxRefusalActors+50, maxRefusalActors+1)
	}
	if big.allow(refusalKey{actor: "yet-another", kind: "denied"}, "", pluginapi.CodeForbidden, t0) {
		t.Fatal("an actor past the bound got a bucket of its own")
	}
	big.close()
}

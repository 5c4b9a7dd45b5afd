package web

import (
	"sync"

	"github.com/wharfhq/wharf/host/httpguard"
)

// perClient counts what each client address holds (live log viewers), so
// one client cannot hold them all. Entries exist only while in use, so its
// memory is bounded by what the connection caps let in.
type perClient struct {
	max  int
	mu   sync.Mutex
	held map[string]int
}

func newPerClient(max int) *perClient { return &perClient{max: max, held: map[string]int{}} }

// take reserves one for addr; false when addr holds max already. A true
// take must be followed by a give.
func (p *perClient) take(addr string) bool {
	k := httpguard.ClientKey(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[k] >= p.max {
		return false
	}
	p.held[k]++
	return true
}

// give returns what take reserved.
func (p *perClient) give(addr string) {
	k := httpguard.ClientKey(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[k]--; p.held[k] <= 0 {
		delete(p.held, k)
	}
}

package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryBudget is the host-wide bound on plugin memory: every instance's
// wasm linear memory and Extism block memory take their bytes from it as
// they grow and give them back when freed. A growth the budget cannot
// cover fails inside the plugin (memory.grow answers -1, alloc answers 0),
// which ends the call; the call's error then says the host's budget, not
// the plugin's own limit, was reached.
type memoryBudget struct {
	limit uint64
	used  atomic.Uint64
}

// take reserves n bytes, or reports false when that would pass the limit.
func (b *memoryBudget) take(n uint64) bool {
	for {
		used := b.used.Load()
		if n > b.limit-used {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// give returns n bytes taken before.
func (b *memoryBudget) give(n uint64) { b.used.Add(-n) }

// instanceMemory is the memory allocator of one instance
// (experimental.MemoryAllocator): its linear memory lives in a mapping of
// its own, outside the Go heap, sized from the budget as it grows and
// unmapped when the instance is closed, so that the memory goes back to
// the system at once rather than when Go's scavenger gets to it.
//
// wazero frees a module's memory when the module is closed, which Close on
// a plugin (or its runtime) may do while a call still runs on it; unmapping
// then would crash the host. So calls are bracketed by enter and leave,
// and a memory freed during a call is unmapped when the call leaves.
type instanceMemory struct {
	budget *memoryBudget

	mu      sync.Mutex
	mems    []*linearMemory
	inCall  bool
	refused bool // a growth was refused by the budget since the last enter
}

// linearMemory is one wasm memory of an instance (experimental.LinearMemory).
type linearMemory struct {
	owner *instanceMemory
	max   uint64
	buf   backing
	size  uint64 // bytes usable and taken from the budget
	freed bool   // Free was called; unmapped unless a call is running
	gone  bool   // unmapped and given back
}

// backing is where a linear memory's bytes live: a reserved mapping made
// usable as it grows (mmap, on Linux and macOS) or a Go slice.
type backing interface {
	// grow makes the first size bytes usable and returns them.
	grow(size uint64) ([]byte, error)
	// release gives every byte back to the system.
	release()
}

// Allocate implements experimental.MemoryAllocator.
func (im *instanceMemory) Allocate(_, max uint64) experimental.LinearMemory {
	m := &linearMemory{owner: im, max: max, buf: newBacking(max)}
	im.mu.Lock()
	im.mems = append(im.mems, m)
	im.mu.Unlock()
	return m
}

// Reallocate implements experimental.LinearMemory: it grows the memory to
// size bytes, or answers nil when the budget or the system refuses.
func (m *linearMemory) Reallocate(size uint64) []byte {
	im := m.owner
	im.mu.Lock()
	defer im.mu.Unlock()
	if m.gone || size > m.max {
		return nil
	}
	if size > m.size {
		if !im.budget.take(size - m.size) {
			im.refused = true
			return nil
		}
		b, err := m.buf.grow(size)
		if err != nil {
			im.budget.give(size - m.size)
			return nil
		}
		m.size = size
		return b
	}
	b, _ := m.buf.grow(size)
	return b
}

// Free implements experimental.LinearMemory.
func (m *linearMemory) Free() {
	im := m.owner
	im.mu.Lock()
	defer im.mu.Unlock()
	m.freed = true
	if !im.inCall {
		m.unmap()
	}
}

// unmap gives the memory back; owner.mu is held.
func (m *linearMemory) unmap() {
	if m.gone {
		return
	}
	m.gone = true
	m.buf.release()
	m.owner.budget.give(m.size)
	m.size = 0
}

// enter marks the start of plugin code running on the instance. It
// reports false, and marks nothing, when a memory of the instance was
// freed already: its module was closed, and wazero's machine code would
// run on unmapped memory.
func (im *instanceMemory) enter() bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, m := range im.mems {
		if m.freed {
			return false
		}
	}
	im.inCall = true
	im.refused = false
	return true
}

// leave marks its end, unmapping memories freed meanwhile, and reports
// whether the budget refused a growth in between.
func (im *instanceMemory) leave() (refused bool) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.inCall = false
	for _, m := range im.mems {
		if m.freed {
			m.unmap()
		}
	}
	return im.refused
}

// close gives back every memory the instance still holds, even one wazero
// never freed (an instantiation that failed half-way).
func (im *instanceMemory) close() {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, m := range im.mems {
		m.unmap()
	}
}

// budgetError is the call error when the host's memory budget is used up.
func budgetError(b *memoryBudget) string {
	return fmt.Sprintf("the host's wasm memory budget of %d MiB is used up by the running plugin instances", b.limit>>20)
}

// heapBacking keeps a memory in a Go slice, where no mapping is available.
type heapBacking struct{ b []byte }

func (h *heapBacking) grow(size uint64) ([]byte, error) {
	if size > uint64(cap(h.b)) {
		grown := make([]byte, size) // exactly: the budget counts size
		copy(grown, h.b)
		h.b = grown
	}
	h.b = h.b[:size]
	return h.b, nil
}

func (h *heapBacking) release() { h.b = nil }

var (
	_ experimental.MemoryAllocator = (*instanceMemory)(nil)
	_ experimental.LinearMemory    = (*linearMemory)(nil)
)

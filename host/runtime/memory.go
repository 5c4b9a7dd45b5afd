package runtime

import (
	"cmp"
	"slices"
)

// blockMemory is the Extism memory of one instance: the place where a
// plugin and the host exchange data (input, output, error, HTTP requests
// and answers). Extism calls its pieces blocks and names each by the offset
// of its first byte; offset 0 means "no block". Extism's reference host
// keeps this memory in a second wasm module (its kernel) that every host
// call goes through; here it is a plain Go byte slice, so a host call is a
// slice access.
//
// Blocks are carved from the end of the used space and freed blocks are
// reused by later allocations of a similar size; freeing the last block
// gives its space back. reset empties everything between calls.
type blockMemory struct {
	mem    []byte  // the address space: an offset is an index into mem
	top    uint64  // end of the last block
	blocks []block // every block, live or free, by increasing offset
	nfree  int     // free entries in blocks
	limit  uint64  // the most bytes mem may grow to
	budget *memoryBudget
	// refused says the budget refused a growth during the call.
	refused bool
}

type block struct {
	off  uint64 // first byte
	size uint64 // bytes reserved, a multiple of blockAlign
	used uint64 // bytes asked for: what length reports
	free bool
}

const (
	// blockAlign keeps blocks 8-byte aligned, as the kernel does, so that
	// load_u64 and store_u64 of a block's words are aligned.
	blockAlign = 8
	// firstBlock is where the first block starts: offset 0 must never be
	// a block, since the ABI uses it for "none".
	firstBlock = blockAlign
	// minMemory is the size mem starts with.
	minMemory = 4 << 10
	// keepMemory is the most memory reset keeps for the next call; a
	// larger one (after a call with a big answer) goes back to the Go heap.
	keepMemory = 1 << 20
)

// newBlockMemory makes an empty memory of at most limit bytes, which
// takes its bytes from budget.
func newBlockMemory(limit uint64, budget *memoryBudget) blockMemory {
	return blockMemory{top: firstBlock, limit: limit, budget: budget}
}

// alloc reserves a block of n bytes and returns its offset, or 0 when n is
// 0 or the block would take the memory past its limit (as the kernel
// answers when its memory cannot grow).
func (m *blockMemory) alloc(n uint64) uint64 {
	if n == 0 || n > m.limit {
		return 0
	}
	size := (n + blockAlign - 1) &^ (blockAlign - 1)
	if m.nfree > 0 {
		// Reuse a free block unless it is much larger than needed.
		for i := range m.blocks {
			b := &m.blocks[i]
			if b.free && b.size >= size && b.size <= 2*size+64 {
				b.free, b.used = false, n
				m.nfree--
				return b.off
			}
		}
	}
	off := m.top
	end := off + size
	if end > m.limit {
		return 0
	}
	if end > uint64(len(m.mem)) && !m.grow(end) {
		return 0
	}
	m.blocks = append(m.blocks, block{off: off, size: size, used: n})
	m.top = end
	return off
}

// grow makes mem at least end bytes long, doubling to keep appends cheap,
// or reports false when the host's budget cannot cover it.
func (m *blockMemory) grow(end uint64) bool {
	n := max(end, 2*uint64(len(m.mem)), minMemory)
	n = min(n, m.limit)
	if !m.budget.take(n - uint64(len(m.mem))) {
		if !m.budget.take(end - uint64(len(m.mem))) { // without doubling, then
			m.refused = true
			return false
		}
		n = end
	}
	grown := make([]byte, n)
	copy(grown, m.mem)
	m.mem = grown
	return true
}

// release gives the memory back to the Go heap and its bytes to the budget.
func (m *blockMemory) release() {
	m.budget.give(uint64(len(m.mem)))
	m.mem = nil
}

// find returns the index of the block starting at off.
func (m *blockMemory) find(off uint64) (int, bool) {
	return slices.BinarySearchFunc(m.blocks, off, func(b block, off uint64) int { return cmp.Compare(b.off, off) })
}

// free releases the block at off. Like the kernel, it ignores offsets that
// are not a live block (0, the middle of a block, a block freed already).
func (m *blockMemory) free(off uint64) {
	i, ok := m.find(off)
	if !ok || m.blocks[i].free {
		return
	}
	m.blocks[i].free = true
	m.nfree++
	// Free blocks at the end give their space back.
	for n := len(m.blocks); n > 0 && m.blocks[n-1].free; n-- {
		m.top = m.blocks[n-1].off
		m.blocks = m.blocks[:n-1]
		m.nfree--
	}
}

// length is the size asked for when the block at off was allocated, or 0
// when off is not a live block.
func (m *blockMemory) length(off uint64) uint64 {
	i, ok := m.find(off)
	if !ok || m.blocks[i].free {
		return 0
	}
	return m.blocks[i].used
}

// bytes returns the contents of the live block at off (nil if none). The
// slice aliases the memory: copy it before the next allocation.
func (m *blockMemory) bytes(off uint64) []byte {
	n := m.length(off)
	if n == 0 {
		return nil
	}
	return m.mem[off : off+n]
}

// span returns n bytes at off, or false when they are not all inside the
// memory.
func (m *blockMemory) span(off, n uint64) ([]byte, bool) {
	if off > uint64(len(m.mem)) || n > uint64(len(m.mem))-off {
		return nil, false
	}
	return m.mem[off : off+n], true
}

// write copies b into a new block and returns its offset, or 0 when it
// does not fit (or b is empty).
func (m *blockMemory) write(b []byte) uint64 {
	off := m.alloc(uint64(len(b)))
	if off != 0 {
		copy(m.mem[off:], b)
	}
	return off
}

// reset frees every block and wipes what the last call left, so that
// nothing of one call is readable in the next.
func (m *blockMemory) reset() {
	if cap(m.mem) > keepMemory {
		m.release()
	} else {
		clear(m.mem[:min(m.top, uint64(len(m.mem)))])
	}
	m.blocks = m.blocks[:0]
	m.nfree = 0
	m.top = firstBlock
}

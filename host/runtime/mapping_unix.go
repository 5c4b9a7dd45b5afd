//go:build linux || darwin

package runtime

import (
	"math"

	"golang.org/x/sys/unix"
)

// mapping is a linear memory in an anonymous mapping of its own: the
// whole maximum is reserved at once (address space only, PROT_NONE) and
// made readable and writable as the memory grows, so it never moves or
// copies, and munmap gives it back to the system at once.
type mapping struct {
	b    []byte // the whole reservation, as mmap returned it
	open uint64 // bytes made read-write
}

// newBacking reserves max bytes, or falls back to the Go heap when the
// reservation fails.
func newBacking(max uint64) backing {
	if max == 0 || max > math.MaxInt {
		return &heapBacking{}
	}
	b, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return &heapBacking{}
	}
	return &mapping{b: b}
}

func (m *mapping) grow(size uint64) ([]byte, error) {
	if size > m.open {
		page := uint64(unix.Getpagesize())
		end := min((size+page-1)/page*page, uint64(len(m.b)))
		if err := unix.Mprotect(m.b[m.open:end], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil, err
		}
		m.open = end
	}
	return m.b[:size:size], nil
}

func (m *mapping) release() {
	if m.b != nil {
		_ = unix.Munmap(m.b)
		m.b, m.open = nil, 0
	}
}

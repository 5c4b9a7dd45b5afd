package runtime

import (
	"fmt"
	"sync"
)

// stderrBuffer keeps the first and the last bytes a plugin writes to stderr
// during one call. Go prints a panic's message first and its stack after,
// while a plugin that logged a lot before crashing would push the message
// out of a plain tail: keeping both ends keeps the message and the end of
// the story.
type stderrBuffer struct {
	mu      sync.Mutex
	half    int
	head    []byte
	tail    []byte
	dropped int
}

func newStderrBuffer(limit int) *stderrBuffer { return &stderrBuffer{half: limit / 2} }

// Write keeps what fits in the head, then the latest bytes in the tail.
func (b *stderrBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.half - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) > 0 {
		b.tail = append(b.tail, p...)
		if over := len(b.tail) - b.half; over > 0 {
			b.dropped += over
			b.tail = append(b.tail[:0], b.tail[over:]...)
		}
	}
	return n, nil
}

// Reset empties the buffer before a call.
func (b *stderrBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.head, b.tail, b.dropped = b.head[:0], b.tail[:0], 0
}

// String returns what was kept, marking the gap if bytes were dropped.
func (b *stderrBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == 0 {
		return string(b.head) + string(b.tail)
	}
	return fmt.Sprintf("%s\n[… %d bytes dropped …]\n%s", b.head, b.dropped, b.tail)
}

package httpguard

import (
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/netutil"
)

// ConnLimit caps the connections a listener holds.
type ConnLimit struct {
	// Total is the most connections held at once (default 1024); beyond it
	// new connections wait in the kernel's backlog, costing the host nothing.
	Total int
	// PerClient is the most connections one client address holds (default
	// 64); one more is answered 429 and closed at once. Trusted proxies are
	// not counted, only the total applies to them.
	PerClient int
}

func (l ConnLimit) withDefaults() ConnLimit {
	if l.Total <= 0 {
		l.Total = 1024
	}
	if l.PerClient <= 0 {
		l.PerClient = 64
	}
	return l
}

// LimitListener wraps ln with limit's caps. exempt (may be nil) names the
// peers not counted per client: the trusted proxies (Guard.Trusts).
func LimitListener(ln net.Listener, limit ConnLimit, exempt func(addr string) bool) net.Listener {
	limit = limit.withDefaults()
	pc := &perClient{Listener: ln, max: limit.PerClient, exempt: exempt, open: map[string]int{}}
	return netutil.LimitListener(pc, limit.Total)
}

// perClient refuses a peer's connection beyond its share.
type perClient struct {
	net.Listener
	max    int
	exempt func(string) bool
	mu     sync.Mutex
	open   map[string]int // client key → connections held; no zero entries
}

// tooMany is what a refused connection reads before it is closed.
var tooMany = func() []byte {
	const msg = "too many connections from your address at once; close some and retry\n"
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nRetry-After: 5\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
}()

func (l *perClient) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := c.RemoteAddr().String()
		if l.exempt != nil && l.exempt(addr) {
			return c, nil
		}
		key := ClientKey(addr)
		l.mu.Lock()
		n := l.open[key]
		if n < l.max {
			l.open[key] = n + 1
		}
		l.mu.Unlock()
		if n >= l.max {
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(tooMany)
			_ = c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *perClient) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

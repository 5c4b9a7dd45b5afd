package httpguard

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowBodies opens n connections that each send the headers of a POST and
// then a body byte by byte, never finishing: the slow-body attack. It
// returns how many were answered 429 at once.
func slowBodies(t *testing.T, addr string, n int) (refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\nx")); err != nil {
			mu.Lock()
			refused++ // already closed by the server
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.Contains(line, "429") {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return refused
}

// holdingServer serves with a handler that reads its body until the
// client goes, counting the requests it holds at once.
func holdingServer(t *testing.T, ln net.Listener) (running, peak *atomic.Int64) {
	running, peak = &atomic.Int64{}, &atomic.Int64{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		b := make([]byte, 1)
		for {
			if _, err := r.Body.Read(b); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return running, peak
}

func TestSlowBodyConnectionsPerClientAreCapped(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(raw, ConnLimit{Total: 1000, PerClient: 20}, nil)
	running, peak := holdingServer(t, ln)
	refused := slowBodies(t, raw.Addr().String(), 300)
	if p := peak.Load(); p > 20 {
		t.Fatalf("one client holds %d slow requests, want at most 20", p)
	}
	if refused < 280 {
		t.Fatalf("%d of 300 connections refused, want 280 (running %d)", refused, running.Load())
	}
}

func TestTotalConnectionsAreCapped(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Every peer exempt from the per-client cap, as a trusted proxy is.
	ln := LimitListener(raw, ConnLimit{Total: 30, PerClient: 5}, func(string) bool { return true })
	_, peak := holdingServer(t, ln)
	for range 100 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for peak.Load() < 30 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // room for a 31st to show up if the cap leaked
	if p := peak.Load(); p != 30 {
		t.Fatalf("%d requests held at once, want the cap of 30", p)
	}
}

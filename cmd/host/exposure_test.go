package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
)

// defaults are the serve flags' defaults, for tests that call serve.
func defaults(o *serveOptions) *serveOptions {
	o.logLevel = "warn"
	o.readTimeout, o.idleTimeout = time.Minute, time.Minute
	o.maxConns, o.maxConnsPerIP = 1024, 64
	return o
}

func TestServeRefusesOpenModeOnTheNetwork(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	err := a.serve(context.Background(), defaults(&serveOptions{listen: "0.0.0.0:0", dataDir: t.TempDir(), pluginsDir: "/nonexistent"}))
	if err == nil || !strings.Contains(err.Error(), "--allow-open-mode-on-network") {
		t.Fatalf("open mode on 0.0.0.0: %v", err)
	}
	// Allowed explicitly, a wildcard address still needs the host's names.
	err = a.serve(context.Background(), defaults(&serveOptions{listen: "0.0.0.0:0", dataDir: t.TempDir(), pluginsDir: "/nonexistent", openOnNetwork: true}))
	if err == nil || !strings.Contains(err.Error(), "--public-url") {
		t.Fatalf("0.0.0.0 without names: %v", err)
	}
}

func TestCheckExposure(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	o := defaults(&serveOptions{})
	if _, err := o.checkExposure(tcp("127.0.0.1:8080"), true); err != nil {
		t.Errorf("open mode on loopback: %v", err)
	}
	if _, err := o.checkExposure(tcp("10.0.0.5:8080"), true); err == nil {
		t.Error("open mode on a LAN address was allowed")
	}
	hosts, err := o.checkExposure(tcp("10.0.0.5:8080"), false)
	if err != nil || len(hosts) != 1 || hosts[0] != "10.0.0.5" {
		t.Errorf("tokens on a LAN address: %v %v", hosts, err)
	}
	o.publicURL = "https://wharf.example.com"
	if _, err := o.checkExposure(tcp("0.0.0.0:8080"), false); err != nil {
		t.Errorf("0.0.0.0 with a public URL: %v", err)
	}
}

func TestTokenNew(t *testing.T) {
	var out syncBuffer
	if err := run(context.Background(), []string{"token", "new", "--name", "ci", "--role", "operator"}, nil, &out, &syncBuffer{}); err != nil {
		t.Fatal(err)
	}
	var tok string
	var line ops.Token
	for _, l := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "token:"); ok {
			tok = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "config line:"); ok {
			if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(tok) < ops.MinTokenLength || line.SHA256 != ops.HashToken(tok) || line.Name != "ci" || line.Role != ops.RoleOperator {
		t.Fatalf("token %q, line %+v", tok, line)
	}
	if err := run(context.Background(), []string{"token", "new", "--name", "x", "--role", "root"}, nil, &out, &syncBuffer{}); err == nil {
		t.Fatal("a bad role was accepted")
	}
}

// TestServeBoundsSlowClients: the slow-body attack on a real "wharf serve".
// One address gets its share of connections, the rest are refused at once;
// those held are dropped at ReadTimeout.
func TestServeBoundsSlowClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	a := &app{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	o := defaults(&serveOptions{listen: "127.0.0.1:0", dataDir: filepath.Join(t.TempDir(), "d"), pluginsDir: "/nonexistent",
		ready: func(s string) { addr <- s }})
	o.readTimeout, o.maxConnsPerIP = time.Second, 10
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, o) }()
	var server string
	select {
	case server = <-addr:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}

	type result struct{ refused, closed bool }
	results := make(chan result, 50)
	for range 50 {
		c, err := net.Dial("tcp", server)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nx"))
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			var ne net.Error
			timedOut := errors.As(err, &ne) && ne.Timeout()
			results <- result{refused: strings.Contains(line, "429"), closed: !timedOut}
		}()
	}
	refused := 0
	for range 50 {
		r := <-results
		if r.refused {
			refused++
		} else if !r.closed {
			t.Fatal("a slow-body connection was held past ReadTimeout")
		}
	}
	if refused != 40 {
		t.Fatalf("%d of 50 slow connections from one address refused, want 40", refused)
	}
	// A plain request still gets through once the slow ones are gone.
	resp, err := http.Get("http://" + server + "/api/v1/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	cancel()
	<-done
}

// The server's ReadTimeout bounds reading a request, not handling it: a
// handler (a followed log stream, a slow plugin call) that runs longer
// keeps its context. net/http lifts the deadline once the body is read;
// this guards that assumption, on which --read-timeout rests.
func TestReadTimeoutDoesNotCutHandlers(t *testing.T) {
	const d = 300 * time.Millisecond
	o := defaults(&serveOptions{})
	o.readTimeout = d
	srv := o.httpServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			io.WriteString(w, "cancelled")
		case <-time.After(3 * d):
			io.WriteString(w, "survived")
		}
	}), slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for _, m := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(m, "http://"+ln.Addr().String(), strings.NewReader(`{"a":1}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "survived" {
			t.Errorf("%s: %q", m, b)
		}
	}
}

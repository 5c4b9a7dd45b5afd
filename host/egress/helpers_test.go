package egress

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/pluginapi"
)

// seen is one request as a test server received it.
type seen struct {
	Method, Host, Path, Query string
	Header                    http.Header
	Body                      []byte
}

// recorder is a real HTTP server that records what it receives. Requests
// for /redirect?to=X are redirected to X (302, or the code in "code").
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	conns int // new connections accepted
}

func newRecorder(t *testing.T, extra http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewUnstartedServer(rec.handler(extra))
	rec.Config.ConnState = rec.connState
	rec.Start()
	t.Cleanup(rec.Close)
	return rec
}

// newUnixRecorder serves the same handler on a unix socket in a temp dir.
func newUnixRecorder(t *testing.T, extra http.HandlerFunc) (*recorder, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rec.Server = &httptest.Server{Listener: l, Config: &http.Server{Handler: rec.handler(extra), ConnState: rec.connState}}
	rec.Start()
	t.Cleanup(rec.Close)
	return rec, sock
}

func (rec *recorder) handler(extra http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		rec.mu.Unlock()
		if r.URL.Path == "/redirect" || strings.HasSuffix(r.URL.Path, "/redirect") {
			code := http.StatusFound
			if r.URL.Query().Get("code") == "307" {
				code = http.StatusTemporaryRedirect
			}
			http.Redirect(w, r, r.URL.Query().Get("to"), code)
			return
		}
		if extra != nil {
			extra(w, r)
			return
		}
		w.Header().Set("x-answer", "yes")
		io.WriteString(w, "ok")
	}
}

func (rec *recorder) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		rec.mu.Lock()
		rec.conns++
		rec.mu.Unlock()
	}
}

func (rec *recorder) all() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

func (rec *recorder) last(t *testing.T) seen {
	t.Helper()
	all := rec.all()
	if len(all) == 0 {
		t.Fatal("the server received nothing")
	}
	return all[len(all)-1]
}

func (rec *recorder) connections() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.conns
}

// hostport is the server's host:port.
func (rec *recorder) hostport() string { return strings.TrimPrefix(rec.URL, "http://") }

// logBuffer collects debug logs so tests can check what is (not) logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newClient(t *testing.T, opts Options) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := New(opts)
	t.Cleanup(c.Close)
	return c, logs
}

// wantError asserts resp carries an error with code and returns it.
func wantError(t *testing.T, resp *pluginapi.HTTPResponse, code pluginapi.Code) *pluginapi.Error {
	t.Helper()
	if resp.Error == nil {
		t.Fatalf("no error; status %d body %q", resp.Status, resp.Body)
	}
	if resp.Error.Code != code {
		t.Fatalf("code %q (%s), want %q", resp.Error.Code, resp.Error.Message, code)
	}
	if resp.Status != 0 || resp.Body != nil || resp.Headers != nil {
		t.Errorf("error response carries data: %+v", resp)
	}
	return resp.Error
}

func wantOK(t *testing.T, resp *pluginapi.HTTPResponse) {
	t.Helper()
	if resp.Error != nil {
		t.Fatalf("unexpected error: %v", resp.Error)
	}
}

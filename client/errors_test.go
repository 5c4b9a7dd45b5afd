package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest/fakeplatform"
	"github.com/wharfhq/wharf/pluginapi"
)

func TestNewRefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		url   string
		opts  []client.Option
		field string
	}{
		{"127.0.0.1:8080", nil, "baseURL"},
		{"ftp://example.com", nil, "baseURL"},
		{"http://", nil, "baseURL"},
		{"http://h/?x=1", nil, "baseURL"},
		{"http://h", []client.Option{client.WithMaxBody(0)}, "WithMaxBody"},
		{"http://h", []client.Option{client.WithMaxLogLine(-1)}, "WithMaxLogLine"},
		{"http://h", []client.Option{client.WithToken("a\nb")}, "WithToken"},
		{"http://h", []client.Option{client.WithActor("a\r")}, "WithActor"},
	} {
		_, err := client.New(c.url, c.opts...)
		var e *pluginapi.Error
		if !errors.As(err, &e) || e.Code != pluginapi.CodeInvalid || e.Field != c.field {
			t.Errorf("New(%q): %v, want invalid at %s", c.url, err, c.field)
		}
	}
	if _, err := client.New("https://idp.example.com/wharf/"); err != nil {
		t.Fatalf("a base URL with a prefix: %v", err)
	}
}

// Bad arguments are refused, naming them, before anything is sent.
func TestBadArgumentsSendNothing(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		field string
		err   error
	}{
		{"conn", errOf(c.Services.Get(ctx, "", "svc-1"))},
		{"id", errOf(c.Services.Get(ctx, "c1", ""))},
		{"action", errOf(c.Services.RunAction(ctx, "c1", "s", "", nil))},
		{"name", errOf(c.Plugins.Get(ctx, ""))},
		{"spec", errOf(c.Services.Create(ctx, "c1", json.RawMessage(`{"name":`)))},
		{"spec", errOf(c.Services.Update(ctx, "c1", "s", nil))},
		{"patch", errOf(c.Services.Patch(ctx, "c1", "s", json.RawMessage(" ")))},
		{"patch", errOf(c.Connections.Patch(ctx, "c1", json.RawMessage("nope")))},
		{"params", errOf(c.Services.RunAction(ctx, "c1", "s", "scale", json.RawMessage("{")))},
		{"filter", errOf(c.Services.List(ctx, "c1", ops.ListOptions{Filters: map[string][]string{"a=b": {"c"}}}))},
		{"filter", errOf(c.Instances.ListWith(ctx, "c1", "s", ops.InstancesOptions{Filters: map[string][]string{"": {"c"}}}))},
	} {
		var e *pluginapi.Error
		if !errors.As(tc.err, &e) || e.Code != pluginapi.CodeInvalid || e.Field != tc.field {
			t.Errorf("error %v, want invalid at %s", tc.err, tc.field)
		}
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("bad arguments sent %d requests: %+v", len(got), got)
	}

	// Path parameters are escaped, not interpreted.
	if _, err := c.Connections.Get(ctx, "a b/../c?d"); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 1 || got[0].path != "/connections/a%20b%2F..%2Fc%3Fd" || len(got[0].query) != 0 {
		t.Fatalf("escaped request: %+v", got)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()

	// Nobody listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := client.New("http://" + addr)
	_, err = c.Connections.List(ctx)
	if e := pluginapi.AsError(err); e.Code != pluginapi.CodeUnavailable || !strings.Contains(e.Message, "cannot reach http://"+addr) {
		t.Fatalf("unreachable host: %v", err)
	}

	// Not a Wharf host: a proxy's pages, classified by status, with the
	// proxy's request id if it gave one.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "proxy-7")
		switch r.URL.Path {
		case "/api/v1/connections":
			http.Error(w, "<html>bad gateway</html>", http.StatusServiceUnavailable)
		case "/api/v1/plugins":
			_, _ = io.WriteString(w, "<html>a login page</html>")
		default:
			http.Error(w, "no", http.StatusTeapot)
		}
	}))
	defer proxy.Close()
	c, _ = client.New(proxy.URL)
	_, err = c.Connections.List(ctx)
	if e := pluginapi.AsError(err); e.Code != pluginapi.CodeUnavailable || !e.Retryable || client.RequestIDOf(err) != "proxy-7" ||
		e.Message != proxy.URL+" answered 503 Service Unavailable" {
		t.Fatalf("a proxy's 503: %#v", e)
	}
	_, err = c.Plugins.List(ctx)
	if e := pluginapi.AsError(err); e.Code != pluginapi.CodeInternal || !strings.Contains(e.Message, "not the expected JSON") {
		t.Fatalf("HTML where JSON was expected: %v", err)
	}
	_, err = c.Plugins.Get(ctx, "x")
	if pluginapi.CodeOf(err) != pluginapi.CodeInvalid {
		t.Fatalf("a 418: %v", err)
	}

	// A context deadline ends a call the host does not answer.
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hold.Close()
	c, _ = client.New(hold.URL)
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Connections.List(dctx)
	if pluginapi.CodeOf(err) != pluginapi.CodeTimeout {
		t.Fatalf("a call past its deadline: %v", err)
	}
}

func TestBounds(t *testing.T) {
	e := newEnv(t, false)
	e.connect(t)
	ctx := context.Background()

	// An answer above WithMaxBody (the plugin list with its schemas is
	// more than 256 bytes).
	small := e.client(t, rootToken, client.WithMaxBody(256))
	_, err := small.Plugins.List(ctx)
	if e := pluginapi.AsError(err); e.Code != pluginapi.CodeInternal || !strings.Contains(e.Message, "larger than this client's limit of 256 bytes") {
		t.Fatalf("an answer over the cap: %v", err)
	}
	if _, err := small.Health(ctx); err != nil {
		t.Fatalf("a small answer under the cap: %v", err)
	}

	// A log line above WithMaxLogLine.
	if _, err := e.c.Services.Create(ctx, "c1", json.RawMessage(`{"name":"web","image":"nginx"}`)); err != nil {
		t.Fatal(err)
	}
	e.plat.AddLogs("svc-1", fakeplatform.Line{Stream: "stdout", Message: strings.Repeat("x", 2000)})
	st, err := e.client(t, rootToken, client.WithMaxLogLine(1024)).Logs.Stream(ctx, "c1", "svc-1", logfanout.Options{Tail: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for st.Next() {
		if it := st.Item(); it.Entry != nil && len(it.Entry.Message) > 1024 {
			t.Fatal("a line over the cap was read")
		}
	}
	if e := pluginapi.AsError(st.Err()); e == nil || !strings.Contains(e.Message, "longer than this client's limit of 1024 bytes") {
		t.Fatalf("a log line over the cap: %v", st.Err())
	}
}

// A stream cut in the middle of a line reports the break, not the half line.
func TestLogStreamBroken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, `{"entry":{"message":"one"}}`+"\n"+`{"skipped":3}`+"\n"+`{"entry":{"mess`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-line
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL)
	st, err := c.Logs.Stream(context.Background(), "c1", "s", logfanout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var items []logfanout.Item
	for st.Next() {
		items = append(items, st.Item())
	}
	if len(items) != 2 || items[0].Entry == nil || items[0].Entry.Message != "one" || items[1].Skipped != 3 {
		t.Fatalf("items = %+v", items)
	}
	if e := pluginapi.AsError(st.Err()); e == nil || e.Code != pluginapi.CodeUnavailable || !strings.Contains(e.Message, "log stream interrupted") {
		t.Fatalf("a stream cut mid-line: %v", st.Err())
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// clock is a manual clock driving the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hostDoer plays the host: it only lets requests through the "host"
// endpoint (the plugin must never build URLs itself), maps tcp:// like the
// host's egress does, and counts requests.
type hostDoer struct {
	t      testing.TB
	native *plugin.NativeDoer
	mu     sync.Mutex
	paths  []string
}

func newHostDoer(t testing.TB, host string) *hostDoer {
	base := host
	if rest, ok := strings.CutPrefix(host, "tcp://"); ok {
		base = "http://" + rest
	}
	return &hostDoer{t: t, native: &plugin.NativeDoer{Endpoints: map[string]string{"host": base}}}
}

func (d *hostDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	if r.Endpoint != "host" || r.URL != "" {
		d.t.Errorf("plugin asked for endpoint %q url %q: it must use the host endpoint only", r.Endpoint, r.URL)
	}
	if r.Auth != nil {
		d.t.Errorf("plugin asked for auth %+v: the docker socket has none", r.Auth)
	}
	d.mu.Lock()
	d.paths = append(d.paths, r.Method+" "+r.Path)
	d.mu.Unlock()
	resp := d.native.Do(r)
	if r.MaxBodyBytes > 0 && len(resp.Body) > r.MaxBodyBytes {
		resp.Body, resp.Truncated = resp.Body[:r.MaxBodyBytes], true
	}
	return resp
}

// harness is the plugin wired to an emulator (or a real engine).
type harness struct {
	t    testing.TB
	ctx  context.Context
	cfg  json.RawMessage
	doer *hostDoer
	emu  *dockeremu.Server
	clk  *clock
}

func newHarness(t testing.TB, opts dockeremu.Options) *harness {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.StartDelay == 0 {
		opts.StartDelay = 600 * time.Millisecond
	}
	emu := dockeremu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(emu.DemoConfig(srv.URL))
	h := &harness{t: t, cfg: cfg, emu: emu, clk: clk}
	h.doer = newHostDoer(t, srv.URL)
	h.ctx = plugin.WithDoer(context.Background(), h.doer)
	return h
}

// call runs an operation through plugin.Dispatch, JSON in and out, like the
// wasm export would, and decodes the answer into out. It returns the
// answer's error, if any.
func (h *harness) call(op string, req any, out any) *pluginapi.Error {
	h.t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		h.t.Fatal(err)
	}
	raw := plugin.Dispatch(h.ctx, provider{}, op, in)
	var resp pluginapi.Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		h.t.Fatalf("%s answer %s: %v", op, raw, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s answer %s: %v", op, raw, err)
		}
	}
	return nil
}

func (h *harness) req() pluginapi.Request {
	return pluginapi.Request{Connection: "test", Config: h.cfg}
}

func (h *harness) mustCall(op string, req any, out any) {
	h.t.Helper()
	if err := h.call(op, req, out); err != nil {
		h.t.Fatalf("%s: %v", op, err)
	}
}

func (h *harness) create(spec string) pluginapi.Service {
	h.t.Helper()
	var resp pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(spec)}, &resp)
	return *resp.Service
}

func (h *harness) get(id string) pluginapi.Service {
	h.t.Helper()
	var resp pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: id}, &resp)
	return *resp.Service
}

func (h *harness) lifecycle(id, action, params string) (pluginapi.Service, *pluginapi.Error) {
	h.t.Helper()
	var resp pluginapi.ServiceResponse
	req := pluginapi.LifecycleRequest{Request: h.req(), ID: id, Action: action}
	if params != "" {
		req.Params = json.RawMessage(params)
	}
	if err := h.call(pluginapi.OpLifecycle, req, &resp); err != nil {
		return pluginapi.Service{}, err
	}
	return *resp.Service, nil
}

func (h *harness) logs(req pluginapi.LogsRequest) pluginapi.LogsResponse {
	h.t.Helper()
	req.Request = h.req()
	var resp pluginapi.LogsResponse
	h.mustCall(pluginapi.OpLogs, req, &resp)
	return resp
}

func specOf(t testing.TB, s pluginapi.Service) Spec {
	t.Helper()
	var sp Spec
	if err := json.Unmarshal(s.Spec, &sp); err != nil {
		t.Fatalf("spec %s: %v", s.Spec, err)
	}
	return sp
}

func wantCode(t testing.TB, err *pluginapi.Error, code pluginapi.Code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error containing %q, got success", code, contains)
	}
	if err.Code != code || !strings.Contains(err.Message, contains) {
		t.Fatalf("want %s containing %q, got %v", code, contains, err)
	}
}

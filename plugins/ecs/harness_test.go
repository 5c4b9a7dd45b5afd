package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// signingDoer does what the host does for this plugin: resolve the endpoint
// property, add the connection's secrets as a SigV4 signature with the
// official signer, and send the request.
type signingDoer struct {
	cfg map[string]any // the full config, secrets included

	mu      sync.Mutex
	targets []string
}

func str(v any) string { s, _ := v.(string); return s }

func (d *signingDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	d.mu.Lock()
	d.targets = append(d.targets, r.Headers["X-Amz-Target"])
	d.mu.Unlock()
	target := r.URL
	if r.Endpoint != "" {
		base := str(d.cfg[r.Endpoint])
		if base == "" {
			return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "endpoint %s not configured", r.Endpoint)}
		}
		target = strings.TrimSuffix(base, "/") + r.Path
	}
	u, err := url.Parse(target)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "%v", err)}
	}
	req, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("", "%v", err)}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if a := r.Auth; a != nil && a.Scheme == pluginapi.AuthAWSSigV4 {
		creds := aws.Credentials{AccessKeyID: str(d.cfg[a.AccessKey]), SecretAccessKey: str(d.cfg[a.Secret]), SessionToken: str(d.cfg[a.SessionToken])}
		sum := sha256.Sum256(r.Body)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), a.Service, a.Region, time.Now()); err != nil {
			return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "sign: %v", err)}
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeUnavailable, "%v", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &pluginapi.HTTPResponse{Status: resp.StatusCode, Headers: resp.Header, Body: body}
}

func (d *signingDoer) count(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, t := range d.targets {
		if strings.HasSuffix(t, "."+op) {
			n++
		}
	}
	return n
}

// clock is a manual clock for the emulator: tests move time, never sleep.
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

const step = 100 * time.Millisecond

type env struct {
	t    *testing.T
	clk  *clock
	emu  *ecsemu.Server
	url  string
	cfg  map[string]any
	doer *signingDoer
	ctx  context.Context
}

func newEnv(t *testing.T, opts ecsemu.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now, opts.TaskStart, opts.DrainTime, opts.LogInterval = clk.Now, step, 5*step, step/2
	emu := ecsemu.New(opts)
	hs := httptest.NewServer(emu)
	t.Cleanup(hs.Close)
	cfg := emu.DemoConfig(hs.URL)
	d := &signingDoer{cfg: cfg}
	return &env{t: t, clk: clk, emu: emu, url: hs.URL, cfg: cfg, doer: d, ctx: plugin.WithDoer(context.Background(), d)}
}

// publicConfig is the config the host gives the plugin: secrets stripped.
func (e *env) publicConfig() json.RawMessage {
	pub := map[string]any{}
	for k, v := range e.cfg {
		switch k {
		case "access_key_id", "secret_access_key", "session_token":
		default:
			pub[k] = v
		}
	}
	b, _ := json.Marshal(pub)
	return b
}

// call runs op through plugin.Dispatch, as the wasm export does, and decodes
// the answer into out. It returns the answer's error, if any.
func (e *env) call(op string, req map[string]any, out any) *pluginapi.Error {
	e.t.Helper()
	if _, ok := req["config"]; !ok {
		req["config"] = e.publicConfig()
	}
	req["connection"] = "test"
	in, _ := json.Marshal(req)
	raw := plugin.Dispatch(e.ctx, provider{}, op, in)
	var r pluginapi.Response
	if err := json.Unmarshal(raw, &r); err != nil {
		e.t.Fatalf("%s answer: %v: %s", op, err, raw)
	}
	if r.Error != nil {
		return r.Error
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s answer: %v: %s", op, err, raw)
		}
	}
	return nil
}

func (e *env) must(op string, req map[string]any, out any) {
	e.t.Helper()
	if err := e.call(op, req, out); err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
}

func (e *env) service(op string, req map[string]any) *pluginapi.Service {
	e.t.Helper()
	var r pluginapi.ServiceResponse
	e.must(op, req, &r)
	if r.Service == nil {
		e.t.Fatalf("%s: no service", op)
	}
	return r.Service
}

func (e *env) get(id string) *pluginapi.Service {
	e.t.Helper()
	return e.service("get", map[string]any{"id": id})
}

func (e *env) create(spec map[string]any) *pluginapi.Service {
	e.t.Helper()
	return e.service("create", map[string]any{"spec": spec})
}

func wantCode(t *testing.T, err *pluginapi.Error, code pluginapi.Code) {
	t.Helper()
	if err == nil || err.Code != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
}

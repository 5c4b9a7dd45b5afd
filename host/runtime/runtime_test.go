package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/pluginapi"
)

// sharedCache is one compilation cache folder for the whole test binary:
// each plugin is compiled once, later Runtimes load it from the cache.
var sharedCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wharf-runtime-cache-")
	if err != nil {
		panic(err)
	}
	sharedCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// quietLogger drops log lines unless the test runs verbose.
func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newRuntime starts a Runtime on the shared cache with small limits,
// closed at the end of the test.
func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = sharedCache
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 5 * time.Second
	}
	if cfg.MemoryLimitBytes == 0 {
		cfg.MemoryLimitBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return r
}

// build compiles a test plugin and returns its wasm path.
func build(t testing.TB, name string) string {
	t.Helper()
	return wasmbuild.Build(t, "./internal/testplugins/"+name)
}

// load builds and loads a test plugin into r.
func load(t testing.TB, r *Runtime, name string) *Plugin {
	t.Helper()
	p, err := r.Load(context.Background(), build(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyPlugin copies a built test plugin into dir as <as>.wasm.
func copyPlugin(t testing.TB, name, dir, as string) string {
	t.Helper()
	b, err := os.ReadFile(build(t, name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, as+".wasm")
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// handlerFunc adapts a function to HTTPHandler.
type handlerFunc func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse

func (f handlerFunc) Do(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	return f(ctx, req)
}

// wantCode checks that err is a *pluginapi.Error with the given code and
// that its message contains every one of parts.
func wantCode(t *testing.T, err error, code pluginapi.Code, parts ...string) *pluginapi.Error {
	t.Helper()
	var e *pluginapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T): want *pluginapi.Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("error code %s (%v): want %s", e.Code, e, code)
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("error message %q does not contain %q", e.Message, p)
		}
	}
	return e
}

// mustEcho calls an echoing operation and checks the answer.
func mustEcho(t *testing.T, p *Plugin, op string) {
	t.Helper()
	in := `{"connection":"c1","id":"svc-` + op + `"}`
	out, err := p.Call(context.Background(), op, []byte(in), nil)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if string(out) != in {
		t.Fatalf("%s answered %s, want %s", op, out, in)
	}
}

func TestLoadAndDescribe(t *testing.T) {
	r := newRuntime(t, Config{})
	path := build(t, "good")
	p, err := r.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)

	d := p.Describe()
	if p.Name() != "good" || d.Name != "good" || d.Version != "1.2.3" || d.ABIVersion != pluginapi.ABIVersion {
		t.Errorf("name %q, describe %+v", p.Name(), d)
	}
	if !d.Supports(pluginapi.OpInvoke) || len(d.Hosts) != 1 || d.Hosts[0] != "example.com" {
		t.Errorf("describe lost fields: %+v", d)
	}
	if p.Path() != path {
		t.Errorf("path %q, want %q", p.Path(), path)
	}
	if p.Digest() != hex.EncodeToString(sum[:]) {
		t.Errorf("digest %s, want %s", p.Digest(), hex.EncodeToString(sum[:]))
	}
	for _, op := range pluginapi.RequiredOperations {
		mustEcho(t, p, op)
	}

	t.Run("unknown operation", func(t *testing.T) {
		_, err := p.Call(context.Background(), "frobnicate", nil, nil)
		wantCode(t, err, pluginapi.CodeUnsupported, "good", "frobnicate")
	})
	t.Run("optional operation not listed", func(t *testing.T) {
		_, err := p.Call(context.Background(), pluginapi.OpInstances, []byte(`{}`), nil)
		wantCode(t, err, pluginapi.CodeUnsupported, "instances")
	})
	t.Run("same name twice", func(t *testing.T) {
		_, err := r.Load(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), `"good" is already taken`) {
			t.Fatalf("second load: %v, want name taken", err)
		}
	})
	t.Run("closed plugin", func(t *testing.T) {
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{}`), nil)
		wantCode(t, err, pluginapi.CodeUnavailable, "good", "closed")
		// Its name is free again.
		p2, err := r.Load(context.Background(), path)
		if err != nil {
			t.Fatalf("reload after close: %v", err)
		}
		mustEcho(t, p2, pluginapi.OpGet)
	})
}

func TestTrapIsCleanAndInstanceReplaced(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 2})
	p := load(t, r, "panics")
	for i := range 2 {
		_, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
		e := wantCode(t, err, pluginapi.CodeInternal, "panics", "get", "testplugins/panics: deliberate panic in get")
		if f := FaultOf(err); f != FaultTrap {
			t.Errorf("call %d: fault %q, want trap (the failure policy counts it)", i, f)
		}
		if s, _ := e.Detail["stderr"].(string); !strings.Contains(s, "goroutine") {
			t.Errorf("call %d: detail stderr %q lacks the stack", i, s)
		}
		if live, _ := p.pool.stats(); live != 0 {
			t.Errorf("call %d: %d live instances after a trap, want the trapped one discarded", i, live)
		}
		// The next call gets a fresh instance and works.
		mustEcho(t, p, pluginapi.OpList)
		if live, idle := p.pool.stats(); live != 1 || idle != 1 {
			t.Errorf("call %d: live %d idle %d after a good call, want 1 and 1", i, live, idle)
		}
	}
}

func TestTimeoutStopsInfiniteLoop(t *testing.T) {
	dir := t.TempDir()
	path := copyPlugin(t, "loops", dir, "loops")
	// The manifest lowers the host's generous timeout.
	writeFile(t, filepath.Join(dir, "loops.json"), `{"limits": {"timeout_ms": 300}}`)
	r := newRuntime(t, Config{CallTimeout: time.Minute})
	p, err := r.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
	e := wantCode(t, err, pluginapi.CodeTimeout, "loops", "get", "300ms")
	if f := FaultOf(err); f != FaultTimeout {
		t.Errorf("fault %q, want timeout", f)
	}
	if !e.Retryable {
		t.Errorf("timeout not retryable: %+v", e)
	}
	if live, _ := p.pool.stats(); live != 0 {
		t.Errorf("%d live instances after a timeout, want 0", live)
	}
	// A fresh instance answers the next call.
	out, err := p.Call(context.Background(), pluginapi.OpList, []byte(`{}`), nil)
	if err != nil || !strings.Contains(string(out), `"unsupported"`) {
		t.Fatalf("list after timeout: %s, %v", out, err)
	}
}

func TestCancelDuringCall(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "loops")
	// A first call makes the plugin's code and an instance ready, so that
	// the cancel below lands in a running call.
	if _, err := p.Call(context.Background(), pluginapi.OpList, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The plugin's get makes one HTTP request before it loops: once the
	// handler sees it, the call is running.
	started := make(chan struct{})
	var once sync.Once
	signal := handlerFunc(func(context.Context, *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		once.Do(func() { close(started) })
		return &pluginapi.HTTPResponse{Status: 204}
	})
	done := make(chan error, 1)
	go func() {
		_, err := p.Call(ctx, pluginapi.OpGet, []byte(`{}`), signal)
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("get ended before it started looping: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the call never started")
	}
	cancel()
	err := <-done
	wantCode(t, err, pluginapi.CodeUnavailable, "loops", "cancelled")
	if f := FaultOf(err); f != "" {
		t.Errorf("a cancelled call is the plugin's fault %q, want none", f)
	}

	// A caller's deadline shorter than the plugin's timeout also stops it.
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = p.Call(ctx, pluginapi.OpGet, []byte(`{}`), nil)
	wantCode(t, err, pluginapi.CodeTimeout, "loops", "caller's deadline")
	if f := FaultOf(err); f != "" {
		t.Errorf("the caller's deadline is the plugin's fault %q, want none", f)
	}
}

func TestMemoryLimit(t *testing.T) {
	r := newRuntime(t, Config{MemoryLimitBytes: 48 << 20})
	p := load(t, r, "allocates")
	_, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), nil)
	wantCode(t, err, pluginapi.CodeInternal, "allocates", "out of memory", "48 MiB")
	if f := FaultOf(err); f != FaultTrap {
		t.Errorf("out of its memory limit: fault %q, want trap", f)
	}
	out, err := p.Call(context.Background(), pluginapi.OpList, []byte(`{}`), nil)
	if err != nil || !strings.Contains(string(out), `"unsupported"`) {
		t.Fatalf("list after running out of memory: %s, %v", out, err)
	}
}

func TestForbiddenHostIsData(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "forbidden")
	var asked []string
	refuse := handlerFunc(func(_ context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		asked = append(asked, req.Method+" "+req.URL)
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeForbidden, "host forbidden.example is not allowed")}
	})
	tests := []struct {
		name    string
		handler HTTPHandler
		code    pluginapi.Code
		message string
	}{
		{"refused by the handler", refuse, pluginapi.CodeForbidden, "host forbidden.example is not allowed"},
		{"no handler", nil, pluginapi.CodeForbidden, "no HTTP is allowed during get"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"x"}`), tt.handler)
			if err != nil {
				t.Fatalf("call failed instead of returning the refusal as data: %v", err)
			}
			var resp pluginapi.ServiceResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if resp.Error == nil || resp.Error.Code != tt.code || resp.Error.Message != tt.message {
				t.Fatalf("answer %s: want error %s %q", out, tt.code, tt.message)
			}
		})
	}
	if len(asked) != 1 || asked[0] != "GET https://forbidden.example/secret" {
		t.Errorf("handler was asked %q", asked)
	}
	if live, idle := p.pool.stats(); live != 1 || idle != 1 {
		t.Errorf("live %d idle %d: want the one instance kept", live, idle)
	}
}

func TestHostFunction(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "good")
	ok := handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		if _, has := ctx.Deadline(); !has {
			return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "handler got no deadline")}
		}
		return &pluginapi.HTTPResponse{Status: 200, Headers: map[string][]string{"X-Url": {req.URL}}, Body: []byte("hello")}
	})
	tests := []struct {
		name    string
		input   string
		handler HTTPHandler
		status  int
		code    pluginapi.Code
	}{
		{"answer", `{"url":"https://example.com/x"}`, ok, 200, ""},
		{"bad request json", `{"raw":"this is not json"}`, ok, 0, pluginapi.CodeInvalid},
		{"empty request", `{"raw":" "}`, ok, 0, pluginapi.CodeInvalid},
		{"no handler", `{"url":"https://example.com/x"}`, nil, 0, pluginapi.CodeForbidden},
		{"handler panics", `{"url":"https://example.com/x"}`, handlerFunc(func(context.Context, *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
			panic("handler bug")
		}), 0, pluginapi.CodeInternal},
		{"handler answers nil", `{"url":"https://example.com/x"}`, handlerFunc(func(context.Context, *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
			return nil
		}), 0, pluginapi.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.Call(context.Background(), pluginapi.OpInvoke, []byte(tt.input), tt.handler)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			var resp pluginapi.HTTPResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if tt.code != "" {
				if resp.Error == nil || resp.Error.Code != tt.code {
					t.Fatalf("answer %s: want error code %s", out, tt.code)
				}
				return
			}
			if resp.Error != nil || resp.Status != tt.status || string(resp.Body) != "hello" || resp.Header("x-url") != "https://example.com/x" {
				t.Fatalf("answer %s", out)
			}
		})
	}
	if live, _ := p.pool.stats(); live != 1 {
		t.Errorf("%d live instances: no case should have trapped", live)
	}
}

func TestOutputCap(t *testing.T) {
	r := newRuntime(t, Config{MaxOutputBytes: 1000})
	p := load(t, r, "good")
	big := `{"id":"` + strings.Repeat("x", 2000) + `"}`
	_, err := p.Call(context.Background(), pluginapi.OpGet, []byte(big), nil)
	wantCode(t, err, pluginapi.CodeInternal, "good", "get", "more than the 1000 allowed")
	mustEcho(t, p, pluginapi.OpGet)
	if live, _ := p.pool.stats(); live != 1 {
		t.Errorf("%d live instances: the instance should have been kept", live)
	}
}

func TestRefusedPlugins(t *testing.T) {
	r := newRuntime(t, Config{})
	tests := []struct {
		plugin string
		parts  []string
	}{
		{"badabi", []string{"badabi.wasm", `"badabi"`, "ABI 2.0", "ABI " + pluginapi.ABIVersion}},
		{"missingops", []string{"missingops.wasm", `"missingops"`, "does not export", "logs"}},
		{"newerhost", []string{"newerhost.wasm", `"newerhost"`, "ABI 1.99 or newer", "min_host_version", "ABI " + pluginapi.ABIVersion}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			_, err := r.Load(context.Background(), build(t, tt.plugin))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, part := range tt.parts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestManifest(t *testing.T) {
	wasm, err := os.ReadFile(build(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	tests := []struct {
		name     string
		manifest string
		err      string // "" means it loads
		check    func(t *testing.T, p *Plugin)
	}{
		{name: "full", manifest: `{"name":"renamed","sha256":"` + strings.ToUpper(digest) + `","limits":{"timeout_ms":1500,"memory_mb":40,"pool_size":1}}`,
			check: func(t *testing.T, p *Plugin) {
				if p.Name() != "renamed" || p.Describe().Name != "renamed" {
					t.Errorf("name %q, describe name %q: want renamed", p.Name(), p.Describe().Name)
				}
				if p.timeout != 1500*time.Millisecond || p.memoryLimit != 40<<20 || p.pool.size != 1 {
					t.Errorf("limits: timeout %s memory %d pool %d", p.timeout, p.memoryLimit, p.pool.size)
				}
			}},
		{name: "cannot raise limits", manifest: `{"limits":{"timeout_ms":999999,"memory_mb":4000,"pool_size":99}}`,
			check: func(t *testing.T, p *Plugin) {
				if p.Name() != "good" || p.timeout != 5*time.Second || p.memoryLimit != 64<<20 || p.pool.size != 3 {
					t.Errorf("name %q timeout %s memory %d pool %d: want the host's", p.Name(), p.timeout, p.memoryLimit, p.pool.size)
				}
			}},
		{name: "empty object", manifest: `{}`},
		{name: "unknown field", manifest: `{"name":"good","limit":{}}`, err: `unknown field "limit"`},
		{name: "unknown limit", manifest: `{"limits":{"cpu":1}}`, err: `unknown field "cpu"`},
		{name: "sha256 mismatch", manifest: `{"sha256":"` + strings.Repeat("0", 64) + `"}`, err: "sha256 is " + digest},
		{name: "sha256 malformed", manifest: `{"sha256":"abc"}`, err: "not 64 hex digits"},
		{name: "bad name", manifest: `{"name":"Bad_Name"}`, err: `name "Bad_Name"`},
		{name: "negative timeout", manifest: `{"limits":{"timeout_ms":-1}}`, err: "limits.timeout_ms"},
		{name: "wrong type", manifest: `{"limits":{"pool_size":"two"}}`, err: "pool_size"},
		{name: "trailing data", manifest: `{} {}`, err: "after the JSON object"},
		{name: "not json", manifest: `name: good`, err: "good.json"},
		{name: "failure policy", manifest: `{"failure_policy":{"consecutive_failures":2,"backoff":"10s","max_backoff":"1h"}}`,
			check: func(t *testing.T, p *Plugin) {
				if got := p.FailurePolicy(); got != (breaker.Policy{Threshold: 2, Backoff: 10 * time.Second, MaxBackoff: time.Hour}) {
					t.Errorf("failure policy %+v", got)
				}
			}},
		{name: "failure policy in part", manifest: `{"failure_policy":{"backoff":"2m"}}`,
			check: func(t *testing.T, p *Plugin) {
				if got := p.FailurePolicy(); got != (breaker.Policy{Backoff: 2 * time.Minute}) {
					t.Errorf("failure policy %+v: want only the backoff set", got)
				}
			}},
		{name: "failure policy negative", manifest: `{"failure_policy":{"consecutive_failures":-1}}`, err: "failure_policy.consecutive_failures: -1 is negative"},
		{name: "failure policy too many", manifest: `{"failure_policy":{"consecutive_failures":5000}}`, err: "failure_policy.consecutive_failures: 5000"},
		{name: "failure policy bad duration", manifest: `{"failure_policy":{"backoff":"soon"}}`, err: `failure_policy.backoff: "soon" is not a positive duration`},
		{name: "failure policy too short", manifest: `{"failure_policy":{"backoff":"10ms"}}`, err: "failure_policy.backoff: 10ms is not between 1s and 24h"},
		{name: "failure policy max below backoff", manifest: `{"failure_policy":{"backoff":"5m","max_backoff":"1m"}}`, err: "failure_policy.max_backoff: 1m0s is shorter than failure_policy.backoff"},
		{name: "failure policy unknown", manifest: `{"failure_policy":{"threshold":3}}`, err: `unknown field "threshold"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t, Config{PoolSize: 3})
			dir := t.TempDir()
			path := filepath.Join(dir, "good.wasm")
			writeFile(t, path, string(wasm))
			writeFile(t, filepath.Join(dir, "good.json"), tt.manifest)
			p, err := r.Load(context.Background(), path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "good") {
					t.Fatalf("error %v: want one naming the file and containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mustEcho(t, p, pluginapi.OpGet)
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestPoolRunsCallsConcurrently(t *testing.T) {
	const size = 3
	r := newRuntime(t, Config{PoolSize: size})
	p := load(t, r, "good")

	var (
		mu      sync.Mutex
		inside  int
		maxSeen int
		full    = make(chan struct{})
		release = make(chan struct{})
		once    sync.Once
	)
	// The handler holds every call until size calls are inside at once,
	// which only happens if the pool runs size instances in parallel.
	handler := handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		mu.Lock()
		inside++
		maxSeen = max(maxSeen, inside)
		if inside == size {
			once.Do(func() { close(full) })
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			inside--
			mu.Unlock()
		}()
		select {
		case <-release:
			return &pluginapi.HTTPResponse{Status: 204}
		case <-ctx.Done():
			return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeTimeout, "%v", ctx.Err())}
		}
	})

	const calls = 2 * size
	errs := make(chan error, calls)
	for range calls {
		go func() {
			out, err := p.Call(context.Background(), pluginapi.OpInvoke, []byte(`{"url":"https://example.com/"}`), handler)
			if err == nil && !strings.Contains(string(out), `"status":204`) {
				err = errors.New("answer " + string(out))
			}
			errs <- err
		}()
	}
	select {
	case <-full:
	case <-time.After(20 * time.Second):
		t.Fatal("the pool never had all its instances inside the handler at once")
	}
	// Leave room for an extra call to get in if the pool let it.
	time.Sleep(100 * time.Millisecond)
	if live, _ := p.pool.stats(); live > size {
		t.Errorf("%d live instances, more than the pool size %d", live, size)
	}
	close(release)
	for range calls {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if maxSeen != size {
		t.Errorf("at most %d calls were inside at once, want exactly %d", maxSeen, size)
	}
	if live, idle := p.pool.stats(); live != size || idle != size {
		t.Errorf("live %d idle %d after the calls, want %d and %d", live, idle, size, size)
	}
}

func TestWaitForInstanceRespectsContext(t *testing.T) {
	r := newRuntime(t, Config{PoolSize: 1})
	p := load(t, r, "good")

	entered := make(chan struct{})
	release := make(chan struct{})
	block := handlerFunc(func(ctx context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &pluginapi.HTTPResponse{Status: 200}
	})
	first := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), pluginapi.OpInvoke, []byte(`{"url":"https://example.com/"}`), block)
		first <- err
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := p.Call(ctx, pluginapi.OpGet, []byte(`{}`), nil)
		second <- err
	}()
	waitForWaiters(t, p, 1)
	cancel()
	// The waiting call must give up while the only instance is still busy.
	wantCode(t, <-second, pluginapi.CodeUnavailable, "good", "waiting")
	select {
	case err := <-first:
		t.Fatalf("first call ended early: %v", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mustEcho(t, p, pluginapi.OpGet)
}

// waitForWaiters waits until n calls of p are queued for an instance.
func waitForWaiters(t *testing.T, p *Plugin, n int) {
	t.Helper()
	waiting := func() int {
		p.pool.mu.Lock()
		defer p.pool.mu.Unlock()
		k := 0
		for _, q := range p.pool.queues {
			k += len(q.waiters)
		}
		return k
	}
	for deadline := time.Now().Add(20 * time.Second); waiting() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d calls ever waited for an instance", n)
		}
	}
}

func TestCompilationCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	path := build(t, "good")

	r1 := newRuntime(t, Config{CacheDir: dir})
	mustEcho(t, load(t, r1, "good"), pluginapi.OpGet)
	if err := r1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	})
	if err != nil || files == 0 {
		t.Fatalf("cache dir holds %d files (%v), want some", files, err)
	}

	r2 := newRuntime(t, Config{CacheDir: dir})
	p, err := r2.Load(context.Background(), path)
	if err != nil {
		t.Fatalf("load from the cache: %v", err)
	}
	mustEcho(t, p, pluginapi.OpGet)
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	copyPlugin(t, "good", dir, "a-good")
	copyPlugin(t, "good", dir, "b-good-again")
	copyPlugin(t, "panics", dir, "panics")
	copyPlugin(t, "badabi", dir, "badabi")
	writeFile(t, filepath.Join(dir, "broken.wasm"), "not wasm")
	writeFile(t, filepath.Join(dir, "README.md"), "not a plugin")

	r := newRuntime(t, Config{})
	plugins, errs := r.LoadDir(context.Background(), dir)
	var names []string
	for _, p := range plugins {
		names = append(names, p.Name()+"@"+filepath.Base(p.Path()))
	}
	if strings.Join(names, ",") != "good@a-good.wasm,panics@panics.wasm" {
		t.Errorf("loaded %v", names)
	}
	wantErrs := []string{"badabi.wasm", "b-good-again.wasm", "broken.wasm"}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors %v: want one for each of %v", errs, wantErrs)
	}
	for _, want := range wantErrs {
		found := false
		for _, err := range errs {
			found = found || strings.Contains(err.Error(), want)
		}
		if !found {
			t.Errorf("no error names %s: %v", want, errs)
		}
	}
	for _, p := range plugins {
		mustEcho(t, p, pluginapi.OpList)
	}

	_, errs = r.LoadDir(context.Background(), filepath.Join(dir, "missing"))
	if len(errs) != 1 {
		t.Errorf("missing dir: %v", errs)
	}
}

func TestConfigChecks(t *testing.T) {
	for _, cfg := range []Config{
		{PoolSize: -1},
		{CallTimeout: -time.Second},
		{MaxOutputBytes: -1},
		{MemoryLimitBytes: 100},
		{MemoryLimitBytes: 5 << 30},
	} {
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestRuntimeClose(t *testing.T) {
	r := newRuntime(t, Config{})
	p := load(t, r, "good")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{}`), nil)
	wantCode(t, err, pluginapi.CodeUnavailable, "closed")
	if _, err := r.Load(context.Background(), build(t, "good")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("load after close: %v", err)
	}
}

func TestStderrBuffer(t *testing.T) {
	b := newStderrBuffer(40)
	b.Write([]byte("panic: boom\n"))
	b.Write([]byte(strings.Repeat("x", 100)))
	b.Write([]byte("the end"))
	s := b.String()
	if !strings.HasPrefix(s, "panic: boom") || !strings.HasSuffix(s, "xxxthe end") || !strings.Contains(s, "bytes dropped") {
		t.Errorf("kept %q", s)
	}
	b.Reset()
	b.Write([]byte("short"))
	if b.String() != "short" {
		t.Errorf("after reset %q", b.String())
	}
}

func BenchmarkCall(b *testing.B) {
	r := newRuntime(b, Config{CallTimeout: 10 * time.Second})
	p := load(b, r, "good")
	in := []byte(`{"connection":"bench","config":{"endpoint":"http://localhost"},"id":"svc-1"}`)
	var fails atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Call(context.Background(), pluginapi.OpGet, in, nil); err != nil {
				fails.Add(1)
			}
		}
	})
	if n := fails.Load(); n > 0 {
		b.Fatalf("%d calls failed", n)
	}
}

// An instance whose memory grew large in a call is not pooled again, so that
// one big answer does not pin its memory for good; small ones are reused.
func TestOversizedInstanceIsNotPooled(t *testing.T) {
	// Reading 80 MB through go-pdk takes 10M host calls: seconds on a loaded machine.
	r := newRuntime(t, Config{MaxOutputBytes: 256 << 20, MemoryLimitBytes: 1 << 30, PoolSize: 1, CallTimeout: time.Minute})
	p := load(t, r, "good")
	idle := func() int {
		p.pool.mu.Lock()
		defer p.pool.mu.Unlock()
		return len(p.pool.idle)
	}
	if _, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"small"}`), nil); err != nil {
		t.Fatal(err)
	}
	if idle() != 1 {
		t.Fatalf("a small call left %d idle instances, want 1", idle())
	}
	big := []byte(`{"id":"` + strings.Repeat("x", 80<<20) + `"}`)
	out, err := p.Call(context.Background(), pluginapi.OpGet, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 80<<20 {
		t.Fatalf("echo answered %d bytes", len(out))
	}
	if idle() != 0 {
		t.Fatalf("the instance that grew to hold %d MiB went back to the pool", len(big)>>20)
	}
	if _, err := p.Call(context.Background(), pluginapi.OpGet, []byte(`{"id":"again"}`), nil); err != nil {
		t.Fatalf("a fresh instance should serve the next call: %v", err)
	}
}

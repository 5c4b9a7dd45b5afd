package runtime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/wharfhq/wharf/pluginapi"
)

// Plugin is one loaded plugin: its compiled module and a pool of instances.
// It is safe for concurrent use; calls on different instances run in
// parallel.
type Plugin struct {
	rt          *Runtime
	name        string
	path        string
	digest      string
	describe    pluginapi.DescribeResponse
	ops         map[string]bool // operations Call accepts; all exported
	timeout     time.Duration
	memoryLimit uint64
	maxOutput   int
	log         *slog.Logger
	registered  bool

	compiled  *extism.CompiledPlugin
	pool      *pool
	closeOnce sync.Once
	closeErr  error
}

// Name is the plugin's name: from its manifest, else from describe.
func (p *Plugin) Name() string { return p.name }

// Describe is the plugin's describe answer, fetched once at load.
func (p *Plugin) Describe() pluginapi.DescribeResponse { return p.describe }

// Path is the wasm file the plugin was loaded from.
func (p *Plugin) Path() string { return p.path }

// Digest is the sha256 of the wasm file, in hex.
func (p *Plugin) Digest() string { return p.digest }

// label names the plugin in messages, even before describe gave its name.
func (p *Plugin) label() string {
	if p.name != "" {
		return p.name
	}
	return filepath.Base(p.path)
}

// Call runs operation op with the JSON input on an idle instance, waiting
// while all PoolSize instances are busy. Requests the plugin makes through
// wharf_http go to http (nil refuses them all). It returns the plugin's raw
// JSON answer, which may itself hold {"error": ...}. Its own failures are
// *pluginapi.Error: timeout, internal (trap, too much output), unavailable
// (ctx done while waiting, plugin closed), unsupported (no such operation).
func (p *Plugin) Call(ctx context.Context, op string, input []byte, http HTTPHandler) ([]byte, error) {
	if !p.ops[op] {
		return nil, pluginapi.Unsupported("plugin %s does not offer operation %q", p.label(), op)
	}
	inst, err := p.pool.acquire(ctx)
	if err != nil {
		return nil, p.waitError(op, err)
	}
	keep := false
	defer func() { p.pool.release(inst, keep) }()
	return p.run(ctx, inst, op, input, http, &keep)
}

// waitError explains why no instance could be had.
func (p *Plugin) waitError(op string, err error) error {
	if errors.Is(err, errClosed) {
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s is closed", p.label())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return pluginapi.Errorf(pluginapi.CodeUnavailable, "plugin %s: gave up waiting for a free instance for %s: %v", p.label(), op, err)
	}
	return pluginapi.Errorf(pluginapi.CodeInternal, "plugin %s: cannot start an instance for %s: %v", p.label(), op, err)
}

// run makes one call on inst under the plugin's timeout. It sets *keep when
// the instance is still sound and may serve the next call.
func (p *Plugin) run(ctx context.Context, inst *instance, op string, input []byte, http HTTPHandler, keep *bool) ([]byte, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	callCtx = context.WithValue(callCtx, callKey{}, &callState{plugin: p.label(), op: op, http: http})

	inst.stderr.Reset()
	rc, out, err := inst.plugin.CallWithContext(callCtx, op, input)
	stderr := inst.stderr.String()

	if err != nil {
		// Whatever happened, the instance's state cannot be trusted: a Go
		// plugin that panicked has exited, a timed-out module was closed by
		// wazero, and a trapped one may hold half-written memory.
		e := p.callError(ctx, callCtx, op, err, stderr)
		p.log.Warn("plugin call failed; instance discarded", "plugin", p.label(), "op", op, "error", e.Message)
		if stderr != "" {
			p.log.Debug("plugin stderr", "plugin", p.label(), "op", op, "stderr", stderr)
		}
		return nil, e
	}
	if stderr != "" {
		p.log.Debug("plugin stderr", "plugin", p.label(), "op", op, "stderr", stderr)
	}
	*keep = true
	if rc != 0 {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s returned status %d", p.label(), op, rc),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}
	if len(out) > p.maxOutput {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("plugin %s: %s answered %d bytes, more than the %d allowed", p.label(), op, len(out), p.maxOutput),
			Detail:  map[string]any{"plugin": p.label(), "operation": op}}
	}
	return out, nil
}

// callError turns a failed call into a *pluginapi.Error.
func (p *Plugin) callError(ctx, callCtx context.Context, op string, err error, stderr string) *pluginapi.Error {
	detail := map[string]any{"plugin": p.label(), "operation": op, "wasm_error": err.Error()}
	if stderr != "" {
		detail["stderr"] = stderr
	}
	if callCtx.Err() != nil {
		switch ctx.Err() {
		case context.Canceled:
			return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true, Detail: detail,
				Message: fmt.Sprintf("plugin %s: %s was cancelled", p.label(), op)}
		case context.DeadlineExceeded:
			return &pluginapi.Error{Code: pluginapi.CodeTimeout, Retryable: true, Detail: detail,
				Message: fmt.Sprintf("plugin %s: %s did not finish before the caller's deadline", p.label(), op)}
		}
		return &pluginapi.Error{Code: pluginapi.CodeTimeout, Retryable: true, Detail: detail,
			Message: fmt.Sprintf("plugin %s: %s did not finish within %s", p.label(), op, p.timeout)}
	}
	why := crashText(stderr)
	if why == "" {
		why = firstLine(err.Error())
	}
	if strings.Contains(stderr, "out of memory") {
		return &pluginapi.Error{Code: pluginapi.CodeInternal, Detail: detail,
			Message: fmt.Sprintf("plugin %s ran out of memory in %s (limit %d MiB): %s", p.label(), op, p.memoryLimit>>20, why)}
	}
	return &pluginapi.Error{Code: pluginapi.CodeInternal, Detail: detail,
		Message: fmt.Sprintf("plugin %s crashed in %s: %s", p.label(), op, why)}
}

// crashText picks the Go runtime's panic or fatal error message out of a
// plugin's stderr: the text from "panic: " or "fatal error: " up to the
// blank line before the stack.
func crashText(stderr string) string {
	for _, marker := range []string{"panic: ", "fatal error: "} {
		i := strings.Index(stderr, marker)
		if i < 0 {
			continue
		}
		s := stderr[i:]
		if j := strings.Index(s, "\n\n"); j >= 0 {
			s = s[:j]
		}
		s = strings.TrimSpace(s)
		if len(s) > 1000 {
			s = s[:1000] + "…"
		}
		return s
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Close refuses new calls, waits for running ones until ctx is done, then
// frees the compiled module; calls still running then fail.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		if p.registered {
			p.rt.unregister(p)
		}
		if p.pool != nil {
			p.pool.close(ctx)
		}
		p.closeErr = p.compiled.Close(context.Background())
	})
	return p.closeErr
}

// instance is one instantiated module with its own stderr capture.
type instance struct {
	plugin *extism.Plugin
	stderr *stderrBuffer
}

// stderrLimit bounds what is kept of one call's stderr.
const stderrLimit = 16 << 10

// newInstance instantiates the compiled plugin. Real clocks and randomness
// are given because wazero's defaults are deterministic fakes; no files,
// no sockets, no environment.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	buf := newStderrBuffer(stderrLimit)
	cfg := wazero.NewModuleConfig().
		WithStderr(buf).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	ep, err := p.compiled.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: cfg})
	if err != nil {
		return nil, err
	}
	name := p.label()
	ep.SetLogger(func(level extism.LogLevel, msg string) {
		p.log.Log(context.Background(), slogLevel(level), msg, "plugin", name)
	})
	return &instance{plugin: ep, stderr: buf}, nil
}

func (i *instance) close() { _ = i.plugin.Close(context.Background()) }

func slogLevel(l extism.LogLevel) slog.Level {
	switch l {
	case extism.LogLevelTrace, extism.LogLevelDebug:
		return slog.LevelDebug
	case extism.LogLevelInfo:
		return slog.LevelInfo
	case extism.LogLevelWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// pool bounds the live instances of one plugin. A token in slots stands for
// one busy instance; idle instances hold none. An instance is only created
// by a caller holding a token when none is idle, so busy+idle never exceeds
// size.
type pool struct {
	size    int
	slots   chan struct{}
	done    chan struct{} // closed by close
	newInst func(context.Context) (*instance, error)

	mu     sync.Mutex
	idle   []*instance
	live   int
	closed bool
}

func newPool(size int, newInst func(context.Context) (*instance, error)) *pool {
	return &pool{size: size, slots: make(chan struct{}, size), done: make(chan struct{}), newInst: newInst}
}

// errClosed is what acquire returns once the pool is closed.
var errClosed = errors.New("plugin is closed")

// acquire returns an idle instance or a new one, waiting for a free slot
// until ctx is done.
func (pl *pool) acquire(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case pl.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-pl.done:
		return nil, errClosed
	}
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		<-pl.slots
		return nil, errClosed
	}
	if n := len(pl.idle); n > 0 {
		inst := pl.idle[n-1] // most recently used: its memory is warm
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		return inst, nil
	}
	pl.live++
	pl.mu.Unlock()

	inst, err := pl.newInst(ctx)
	if err != nil {
		pl.mu.Lock()
		pl.live--
		pl.mu.Unlock()
		<-pl.slots
		return nil, err
	}
	return inst, nil
}

// release gives inst back, or closes it when keep is false.
func (pl *pool) release(inst *instance, keep bool) {
	pl.mu.Lock()
	if keep && !pl.closed {
		pl.idle = append(pl.idle, inst)
		inst = nil
	} else {
		pl.live--
	}
	pl.mu.Unlock()
	if inst != nil {
		inst.close()
	}
	<-pl.slots
}

// close refuses new calls, closes idle instances and waits for busy ones
// to come back until ctx is done.
func (pl *pool) close(ctx context.Context) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return
	}
	pl.closed = true
	idle := pl.idle
	pl.idle = nil
	pl.live -= len(idle)
	pl.mu.Unlock()
	close(pl.done)
	for _, inst := range idle {
		inst.close()
	}
	// Holding every slot means no instance is busy.
	for range pl.size {
		select {
		case pl.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}

// stats reports the live and idle instances, for tests.
func (pl *pool) stats() (live, idle int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.live, len(pl.idle)
}

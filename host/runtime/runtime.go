package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/host/plugintrust"
	"github.com/wharfhq/wharf/internal/wasmbin"
	"github.com/wharfhq/wharf/pluginapi"
)

// Defaults applied to zero fields of Config.
const (
	DefaultCallTimeout      = 30 * time.Second
	DefaultMemoryLimitBytes = 256 << 20
	DefaultMaxOutputBytes   = 16 << 20
	DefaultMaxWait          = 10 * time.Second
	DefaultMaxTotalMemory   = 1 << 30
)

// wasmPageSize is the size of one WebAssembly memory page.
const wasmPageSize = 64 << 10

// maxMemoryBytes is all a 32-bit wasm memory can address.
const maxMemoryBytes = 65536 * wasmPageSize

// Config sets the limits of a Runtime. Zero fields take the defaults.
type Config struct {
	// CacheDir is the wazero compilation cache folder, shared by every
	// plugin and every process using it; "" keeps the cache in memory only.
	CacheDir string
	// PoolSize is the most live instances per plugin; 0 means 2*GOMAXPROCS.
	PoolSize int
	// CallTimeout bounds every call; a plugin manifest may lower it.
	CallTimeout time.Duration
	// MemoryLimitBytes bounds each wasm memory of an instance; a plugin
	// manifest may lower it. Rounded down to whole 64 KiB pages.
	MemoryLimitBytes uint64
	// MaxOutputBytes bounds the JSON answer of one call.
	MaxOutputBytes int
	// MaxConnectionCalls is the most calls made for one connection (the
	// key of Plugin.CallFor) that run at once on one plugin; 0 means half
	// the plugin's pool size, at least 1. It is capped at the pool size.
	MaxConnectionCalls int
	// MaxTotalMemoryBytes bounds the memory of every plugin instance of
	// the Runtime together (wasm memories and Extism block memories); 0
	// means DefaultMaxTotalMemory, 1 GiB. A call that needs more fails
	// with a retryable unavailable error saying so. Memory is given back
	// to the system as soon as an instance is dropped.
	MaxTotalMemoryBytes uint64
	// MaxWait bounds how long a call waits for a free instance before it
	// fails with a retryable unavailable error; 0 means DefaultMaxWait.
	// Keep it well below CallTimeout, so that a caller learns of a full
	// pool before its own deadline.
	MaxWait time.Duration
	// Logger receives load events and what plugins write to stderr.
	Logger *slog.Logger
	// Trust checks each plugin file's signature when it loads; nil checks
	// none. Under policy require an untrusted file is not loaded.
	Trust *plugintrust.Trust
}

// Runtime loads and runs plugins. It is safe for concurrent use.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	budget *memoryBudget // every instance's memory

	mu        sync.Mutex
	plugins   map[string]*Plugin // loaded plugins by name
	closed    bool
	loading   sync.WaitGroup // loads in progress; Close waits for them
	retiring  sync.WaitGroup // replaced plugins draining; Close waits for them
	compiling sync.WaitGroup // compilations in progress; Close waits for them

	warmMu  sync.Mutex
	warmQ   []*Plugin // plugins to compile in the background, in order
	warming bool      // the background compiler is running
}

// New checks cfg, applies defaults and opens the compilation cache.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	switch {
	case cfg.PoolSize < 0:
		return nil, fmt.Errorf("runtime config: pool size %d is negative", cfg.PoolSize)
	case cfg.CallTimeout < 0:
		return nil, fmt.Errorf("runtime config: call timeout %s is negative", cfg.CallTimeout)
	case cfg.MaxOutputBytes < 0:
		return nil, fmt.Errorf("runtime config: max output bytes %d is negative", cfg.MaxOutputBytes)
	case cfg.MaxConnectionCalls < 0:
		return nil, fmt.Errorf("runtime config: max connection calls %d is negative", cfg.MaxConnectionCalls)
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("runtime config: max wait %s is negative", cfg.MaxWait)
	case cfg.MemoryLimitBytes > maxMemoryBytes:
		return nil, fmt.Errorf("runtime config: memory limit %d exceeds the 4 GiB a wasm memory can address", cfg.MemoryLimitBytes)
	case cfg.MemoryLimitBytes != 0 && cfg.MemoryLimitBytes < wasmPageSize:
		return nil, fmt.Errorf("runtime config: memory limit %d is below one 64 KiB wasm page", cfg.MemoryLimitBytes)
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 2 * goruntime.GOMAXPROCS(0)
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MemoryLimitBytes == 0 {
		cfg.MemoryLimitBytes = DefaultMemoryLimitBytes
	}
	if cfg.MaxOutputBytes == 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxTotalMemoryBytes == 0 {
		cfg.MaxTotalMemoryBytes = DefaultMaxTotalMemory
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CacheDir != "" {
		// Open the cache once to refuse an unusable folder now; each
		// plugin's code opens its own (see compileCode).
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("runtime config: compilation cache %s: %w", cfg.CacheDir, err)
		}
		_ = c.Close(ctx)
	}
	return &Runtime{cfg: cfg, log: cfg.Logger, plugins: map[string]*Plugin{},
		budget: &memoryBudget{limit: cfg.MaxTotalMemoryBytes}}, nil
}

// newCache opens a compilation cache for one plugin's code: on disk with
// Config.CacheDir, where every plugin and process shares the files, else in
// memory. Closing it frees the machine code it holds.
func (r *Runtime) newCache() (wazero.CompilationCache, error) {
	if r.cfg.CacheDir == "" {
		return wazero.NewCompilationCache(), nil
	}
	return wazero.NewCompilationCacheWithDir(r.cfg.CacheDir)
}

// precompile queues p for the background compiler, which compiles one
// plugin at a time (leaving the other cores to requests), stores the code
// in the disk cache and frees it again unless a call is using it.
func (r *Runtime) precompile(p *Plugin) {
	r.warmMu.Lock()
	r.warmQ = append(r.warmQ, p)
	start := !r.warming
	r.warming = true
	r.warmMu.Unlock()
	if start {
		r.compiling.Add(1)
		go r.warm()
	}
}

func (r *Runtime) warm() {
	defer r.compiling.Done()
	for {
		r.warmMu.Lock()
		if len(r.warmQ) == 0 {
			r.warming = false
			r.warmMu.Unlock()
			return
		}
		p := r.warmQ[0]
		r.warmQ = r.warmQ[1:]
		r.warmMu.Unlock()
		if _, err := p.loadCode(context.Background()); err != nil {
			if !errors.Is(err, errClosed) {
				r.log.Warn("plugin did not compile", "plugin", p.label(), "path", p.path, "error", err)
			}
			continue
		}
		p.releaseCode()
	}
}

// Close closes every loaded plugin, waiting for running calls until ctx is
// done, then the compilation cache.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()

	// The cache must outlive every compilation using it.
	r.loading.Wait()
	r.warmMu.Lock()
	r.warmQ = nil
	r.warmMu.Unlock()
	r.mu.Lock()
	plugins := make([]*Plugin, 0, len(r.plugins))
	for _, p := range r.plugins {
		plugins = append(plugins, p)
	}
	r.mu.Unlock()

	var errs []error
	for _, p := range plugins {
		errs = append(errs, p.Close(ctx))
	}
	r.retiring.Wait()
	// A compilation still running writes to the cache folder: let it end
	// (it frees its code, its plugin being closed).
	r.compiling.Wait()
	return errors.Join(errs...)
}

// Load loads the plugin at wasmPath, reading the optional manifest
// <name>.json beside it: it calls describe (or takes the answer recorded in
// the cache folder for the same bytes) and checks the answer (ABI major,
// name, exports). Its machine code is made when a call first needs it. A
// plugin whose name is already loaded in this Runtime is refused.
func (r *Runtime) Load(ctx context.Context, wasmPath string) (*Plugin, error) {
	p, probed, err := r.load(ctx, wasmPath)
	if probed {
		freeScratchMemory()
	}
	if err != nil {
		return nil, err
	}
	if err := r.register(p); err != nil {
		_ = p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// LoadDir loads every *.wasm file of dir, up to GOMAXPROCS at a time. It returns the plugins that loaded and one error per file that did
// not (each naming the file). Of two plugins with the same name, the one
// whose file sorts first is kept.
func (r *Runtime) LoadDir(ctx context.Context, dir string) ([]*Plugin, []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("load plugins: %w", err)}
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".wasm") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)

	loaded := make([]*Plugin, len(files))
	errs := make([]error, len(files))
	probed := make([]bool, len(files))
	sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			loaded[i], probed[i], errs[i] = r.load(ctx, f)
		})
	}
	wg.Wait()
	if slices.Contains(probed, true) {
		freeScratchMemory()
	}

	// Register in file order so that which duplicate wins does not depend
	// on which compiled first.
	var plugins []*Plugin
	var failed []error
	for i, p := range loaded {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		if err := r.register(p); err != nil {
			_ = p.Close(ctx)
			failed = append(failed, err)
			continue
		}
		plugins = append(plugins, p)
	}
	return plugins, failed
}

// Prepare loads the plugin at wasmPath as Load does, without making it
// known under its name: it serves calls, but until Swap it is nobody's
// plugin and Close of the Runtime does not close it. Hot plug prepares a
// new version, then swaps it in.
func (r *Runtime) Prepare(ctx context.Context, wasmPath string) (*Plugin, error) {
	p, probed, err := r.load(ctx, wasmPath)
	if probed {
		freeScratchMemory()
	}
	return p, err
}

// ErrClosed is what a call on a closed plugin fails with (errors.Is), as a
// *pluginapi.Error (unavailable). A caller that finds another version of
// the plugin swapped in may call that one instead: nothing ran.
var ErrClosed = errors.New("runtime: plugin is closed")

// closedError is the unavailable error of a call refused by a closed
// plugin, recognisable as ErrClosed.
type closedError struct{ err *pluginapi.Error }

func (e closedError) Error() string        { return e.err.Error() }
func (e closedError) Unwrap() error        { return e.err }
func (e closedError) Is(target error) bool { return target == ErrClosed }

// Swap makes p (from Prepare) the plugin of its name, replacing whichever
// plugin had the name. The replaced one is returned and retired: it takes
// no new calls, the calls it is running finish (for up to its call timeout
// and wait bound), then it is freed.
func (r *Runtime) Swap(p *Plugin) (old *Plugin, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("load %s: runtime is closed", p.path)
	}
	old = r.plugins[p.name]
	r.plugins[p.name] = p
	p.registered = true
	r.mu.Unlock()
	r.log.Info("plugin swapped in", "plugin", p.name, "version", p.describe.Version, "path", p.path, "sha256", p.digest)
	if old != nil && old != p {
		r.Retire(old)
	}
	return old, nil
}

// Retire closes p in the background, letting its running calls finish
// within its call timeout plus the wait bound. Close of the Runtime waits
// for retired plugins.
func (r *Runtime) Retire(p *Plugin) {
	r.retiring.Add(1)
	go func() {
		defer r.retiring.Done()
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout+r.cfg.MaxWait)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			r.log.Warn("retired plugin closed with an error", "plugin", p.name, "sha256", p.digest, "error", err)
		}
	}()
}

// LoadError is why the plugin file Path was not loaded.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return "load " + e.Path + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// register makes p known under its name, refusing a taken name.
func (r *Runtime) register(p *Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("load %s: runtime is closed", p.path)
	}
	if other, ok := r.plugins[p.name]; ok {
		return &LoadError{Path: p.path, Err: fmt.Errorf("plugin name %q is already taken by %s", p.name, other.path)}
	}
	r.plugins[p.name] = p
	p.registered = true
	r.log.Info("plugin loaded", "plugin", p.name, "version", p.describe.Version, "path", p.path,
		"sha256", p.digest, "pool_size", p.pool.size, "connection_calls", p.pool.perKey, "timeout", p.timeout, "memory_limit", p.memoryLimit)
	return nil
}

// unregister forgets p when it is closed.
func (r *Runtime) unregister(p *Plugin) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.plugins[p.name] == p {
		delete(r.plugins, p.name)
	}
}

// Manifest is the optional <name>.json beside a plugin's wasm file.
type manifest struct {
	// Name overrides the name the plugin gives in describe.
	Name string `json:"name"`
	// SHA256 is the hex digest the wasm file must have.
	SHA256 string `json:"sha256"`
	Limits struct {
		TimeoutMS int64 `json:"timeout_ms"`
		MemoryMB  int64 `json:"memory_mb"`
		PoolSize  int   `json:"pool_size"`
	} `json:"limits"`
	// FailurePolicy is when the host fences the plugin's failing
	// connections (host/breaker); durations as Go writes them ("30s").
	FailurePolicy *struct {
		ConsecutiveFailures int    `json:"consecutive_failures"`
		Backoff             string `json:"backoff"`
		MaxBackoff          string `json:"max_backoff"`
	} `json:"failure_policy"`
	failure breaker.Policy // FailurePolicy parsed
}

// readManifest reads and strictly decodes the manifest at path; a missing
// file is not an error (ok is false).
func readManifest(path string) (m manifest, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, false, fmt.Errorf("manifest %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, false, fmt.Errorf("manifest %s: unexpected data after the JSON object", path)
	}
	switch {
	case m.Limits.TimeoutMS < 0:
		return m, false, fmt.Errorf("manifest %s: limits.timeout_ms %d is negative", path, m.Limits.TimeoutMS)
	case m.Limits.MemoryMB < 0:
		return m, false, fmt.Errorf("manifest %s: limits.memory_mb %d is negative", path, m.Limits.MemoryMB)
	case m.Limits.MemoryMB > maxMemoryBytes>>20:
		return m, false, fmt.Errorf("manifest %s: limits.memory_mb %d exceeds 4096", path, m.Limits.MemoryMB)
	case m.Limits.PoolSize < 0:
		return m, false, fmt.Errorf("manifest %s: limits.pool_size %d is negative", path, m.Limits.PoolSize)
	case m.Name != "" && !validName(m.Name):
		return m, false, fmt.Errorf("manifest %s: name %q: want lowercase letters, digits and dashes", path, m.Name)
	}
	if m.SHA256 != "" {
		if _, err := hex.DecodeString(m.SHA256); err != nil || len(m.SHA256) != 64 {
			return m, false, fmt.Errorf("manifest %s: sha256 %q is not 64 hex digits", path, m.SHA256)
		}
	}
	if err := m.parseFailurePolicy(); err != nil {
		return m, false, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, true, nil
}

// failureFields are the manifest's names of breaker.Policy's fields.
var failureFields = [3]string{"failure_policy.consecutive_failures", "failure_policy.backoff", "failure_policy.max_backoff"}

// parseFailurePolicy reads and checks FailurePolicy into m.failure.
func (m *manifest) parseFailurePolicy() error {
	fp := m.FailurePolicy
	if fp == nil {
		return nil
	}
	m.failure.Threshold = fp.ConsecutiveFailures
	if fp.ConsecutiveFailures < 0 {
		return fmt.Errorf("%s: %d is negative", failureFields[0], fp.ConsecutiveFailures)
	}
	for i, f := range []struct {
		in  string
		out *time.Duration
	}{{fp.Backoff, &m.failure.Backoff}, {fp.MaxBackoff, &m.failure.MaxBackoff}} {
		if f.in == "" {
			continue
		}
		d, err := time.ParseDuration(f.in)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration such as \"30s\" or \"5m\"", failureFields[i+1], f.in)
		}
		*f.out = d
	}
	return m.failure.Check(failureFields)
}

var namePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validName reports whether s is a plugin name: lowercase letters, digits
// and single dashes between them, at most 63 characters.
func validName(s string) bool { return len(s) <= 63 && namePattern.MatchString(s) }

// freeScratchMemory gives the memory of finished probes and compilations
// back to the system at once. The interpreter builds some 150 MB of
// short-lived structures for a Go plugin, and the optimising compiler about
// as much; without this a host that just started cold would keep that much
// resident until Go's background scavenger got to it, minutes later
// (figure 6 of BENCHMARKS.md measured 330–390 MB instead of ~200 MB).
func freeScratchMemory() { debug.FreeOSMemory() }

// load checks one plugin without registering it: its describe answer comes
// from the cache or from running it (probed is then true).
// checkTrust applies Config.Trust to the bytes read, so a file swapped
// after the read cannot pass on the old one's signature (the bytes compiled
// later are checked against the same digest).
func (r *Runtime) checkTrust(path string, wasm []byte) (plugintrust.Verdict, error) {
	t := r.cfg.Trust
	if t == nil || t.Policy == plugintrust.PolicyOff {
		return plugintrust.Verdict{Problem: "signatures are not checked (policy off)"}, nil
	}
	v := t.Verify(path, wasm)
	if err := t.Admit(v); err != nil {
		return v, err
	}
	if !v.Trusted {
		r.log.Warn("plugin not signed by a trusted key", "file", path, "problem", v.Problem)
	}
	return v, nil
}

func (r *Runtime) load(ctx context.Context, wasmPath string) (_ *Plugin, probed bool, _ error) {
	fail := func(format string, args ...any) error {
		return &LoadError{Path: wasmPath, Err: fmt.Errorf(format, args...)}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, probed, fail("runtime is closed")
	}
	r.loading.Add(1)
	r.mu.Unlock()
	defer r.loading.Done()

	wasm, err := readModule(wasmPath)
	if err != nil {
		return nil, probed, fail("%v", err)
	}
	if err := wasmbin.Check(wasm); err != nil {
		return nil, probed, fail("%v", err)
	}
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	verdict, err := r.checkTrust(wasmPath, wasm)
	if err != nil {
		return nil, probed, fail("%v", err)
	}

	man, hasManifest, err := readManifest(strings.TrimSuffix(wasmPath, ".wasm") + ".json")
	if err != nil {
		return nil, probed, fail("%v", err)
	}
	if man.SHA256 != "" && !strings.EqualFold(man.SHA256, digest) {
		return nil, probed, fail("sha256 is %s but the manifest requires %s", digest, strings.ToLower(man.SHA256))
	}

	// A manifest may only tighten the host's limits.
	timeout := r.cfg.CallTimeout
	if ms := man.Limits.TimeoutMS; ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	memLimit := r.cfg.MemoryLimitBytes
	if mb := man.Limits.MemoryMB; mb > 0 && uint64(mb)<<20 < memLimit {
		memLimit = uint64(mb) << 20
	}
	poolSize := r.cfg.PoolSize
	if n := man.Limits.PoolSize; n > 0 && n < poolSize {
		poolSize = n
	}

	p := &Plugin{
		rt:          r,
		path:        wasmPath,
		digest:      digest,
		trust:       verdict,
		timeout:     timeout,
		memoryLimit: memLimit,
		failure:     man.failure,
		maxOutput:   r.cfg.MaxOutputBytes,
		log:         r.log,
	}
	rec, cached := r.cachedDescribe(digest, memLimit)
	if !cached {
		probed = true
		if rec, err = p.probe(ctx, wasm); err != nil {
			return nil, probed, fail("%v", err)
		}
	}
	wasm = nil // the code is compiled from the file when first needed
	if err := p.checkDescribe(rec, man.Name); err != nil {
		return nil, probed, fail("%v", err)
	}
	perConn := r.cfg.MaxConnectionCalls
	if perConn == 0 {
		perConn = poolSize / 2
	}
	p.pool = newPool(poolSize, perConn, r.cfg.MaxWait, p.newInstance)
	if !cached {
		r.storeDescribe(digest, memLimit, rec)
		if r.cfg.CacheDir != "" {
			// Fill the compilation cache in the background, so that the
			// first call need not wait for the compiler.
			r.precompile(p)
		}
	}
	if !hasManifest {
		r.log.Debug("no plugin manifest, defaults apply", "path", wasmPath)
	}
	return p, probed, nil
}

// newWazero makes a wazero runtime with WASI and the host modules for one
// plugin (the memory limit is set per runtime) and compiles the module on
// it. The caller's cfg says how a call past its deadline is stopped: by
// wazero (WithCloseOnContextDone) or by the module's own instrumented
// checks (internal/wasmbin).
func (p *Plugin) newWazero(ctx context.Context, cfg wazero.RuntimeConfig, wasm []byte) (wazero.Runtime, wazero.CompiledModule, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.
		WithMemoryLimitPages(uint32(p.memoryLimit/wasmPageSize)))
	m, err := func() (wazero.CompiledModule, error) {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			return nil, err
		}
		if err := instantiateHostModules(ctx, rt); err != nil {
			return nil, err
		}
		m, err := compileModule(ctx, rt, wasm)
		if err != nil {
			return nil, err
		}
		return m, checkImports(rt, m)
	}()
	if err != nil {
		_ = rt.Close(context.Background())
		return nil, nil, err
	}
	return rt, m, nil
}

// compileModule is rt.CompileModule, with a panic turned into an error:
// wazero 1.12's validator panics on some malformed modules (a block type
// naming a type index out of range, found by FuzzInstrumentLoops), and a
// broken plugin file must not take the host down.
//
// Every module is checked by wasmbin.Check first, as wazero's decoder would
// allocate whatever sizes a malformed module declares.
func compileModule(ctx context.Context, rt wazero.Runtime, wasm []byte) (m wazero.CompiledModule, err error) {
	if err := wasmbin.Check(wasm); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			m, err = nil, fmt.Errorf("invalid module (the compiler panicked: %v)", v)
		}
	}()
	return rt.CompileModule(ctx, wasm)
}

// readModule reads a wasm file, refusing one larger than wasmbin.MaxModuleBytes
// before reading it.
func readModule(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.Size() > wasmbin.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d MiB allowed", wasmbin.ErrMalformed, st.Size(), wasmbin.MaxModuleBytes>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, wasmbin.MaxModuleBytes+1))
	if err == nil && len(b) > wasmbin.MaxModuleBytes {
		err = fmt.Errorf("%w: more than the %d MiB allowed", wasmbin.ErrMalformed, wasmbin.MaxModuleBytes>>20)
	}
	return b, err
}

// describeRecord is what load learns by running a plugin: its describe
// answer and which operations it exports. It is kept on disk beside the
// compilation cache, so that a later start needs no instance at all.
type describeRecord struct {
	Version  int             `json:"version"`
	Describe json.RawMessage `json:"describe"`
	Exports  []string        `json:"exports"` // operations exported with the right signature
}

// describeCacheVersion changes whenever what load checks or records
// changes, so that older records are ignored. 2: "choices" (ABI 1.3) is
// among the exports looked for.
const describeCacheVersion = 2

// describePath is where the record of the wasm with this digest, run under
// this memory limit, is kept; "" without a cache folder.
func (r *Runtime) describePath(digest string, memLimit uint64) string {
	if r.cfg.CacheDir == "" {
		return ""
	}
	return filepath.Join(r.cfg.CacheDir, "wharf-describe", fmt.Sprintf("%s-%d.json", digest, memLimit/wasmPageSize))
}

// instrumentVersion changes whenever the preemption rewrite changes its
// output, so that older rewrites are ignored.
const instrumentVersion = 1

// instrumentedPath is where the wasm with this digest, instrumented for
// preemption (see internal/wasmbin), is kept; "" without a cache folder.
func (r *Runtime) instrumentedPath(digest string) string {
	if r.cfg.CacheDir == "" {
		return ""
	}
	return filepath.Join(r.cfg.CacheDir, "wharf-preempt", fmt.Sprintf("%s-v%d.wasm", digest, instrumentVersion))
}

// cachedDescribe returns the record of an earlier load of the same bytes.
// The record is checked again like a fresh answer, so a bad one only
// fails the load.
func (r *Runtime) cachedDescribe(digest string, memLimit uint64) (describeRecord, bool) {
	path := r.describePath(digest, memLimit)
	if path == "" {
		return describeRecord{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return describeRecord{}, false
	}
	var rec describeRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.Version != describeCacheVersion || len(rec.Describe) == 0 {
		r.log.Warn("ignoring a bad describe cache entry", "path", path, "error", err)
		return describeRecord{}, false
	}
	return rec, true
}

// storeDescribe writes the record of a plugin that loaded; failing to is
// only logged, as the next start just runs describe again.
func (r *Runtime) storeDescribe(digest string, memLimit uint64, rec describeRecord) {
	path := r.describePath(digest, memLimit)
	if path == "" {
		return
	}
	rec.Version = describeCacheVersion
	b, err := json.Marshal(rec)
	if err == nil {
		err = writeFileAtomic(path, b)
	}
	if err != nil {
		r.log.Warn("cannot cache a plugin's describe answer", "path", path, "error", err)
	}
}

// writeFileAtomic writes b to path through a temporary file, so that a
// reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// probe runs describe on a throwaway instance under wazero's interpreter
// and records which operations the module exports. The interpreter
// prepares a module about ten times faster than the optimising compiler
// (a Go plugin: ~0.3 s against 2–3 s), and describe is one short call, so
// a cold start lists every plugin long before their machine code is ready.
// Everything the interpreter built is freed before probe returns.
func (p *Plugin) probe(ctx context.Context, wasm []byte) (describeRecord, error) {
	rt, m, err := p.newWazero(ctx, wazero.NewRuntimeConfigInterpreter().WithCloseOnContextDone(true), wasm)
	if err != nil {
		return describeRecord{}, fmt.Errorf("compile: %v", err)
	}
	defer rt.Close(context.Background())
	inst, err := p.instantiate(ctx, rt, m)
	if err != nil {
		return describeRecord{}, err
	}
	defer inst.close()
	var keep bool
	out, err := p.run(ctx, inst, pluginapi.OpDescribe, []byte("{}"), nil, &keep)
	if err != nil {
		return describeRecord{}, fmt.Errorf("describe: %v", err)
	}
	rec := describeRecord{Describe: out}
	exported := m.ExportedFunctions()
	for _, op := range append(append([]string{}, pluginapi.RequiredOperations...), pluginapi.OptionalOperations...) {
		if def, ok := exported[op]; ok && len(def.ParamTypes()) == 0 && len(def.ResultTypes()) <= 1 {
			rec.Exports = append(rec.Exports, op)
		}
	}
	return rec, nil
}

// checkDescribe checks a plugin's describe answer and exports, fresh from
// probe or from the cache, and keeps what Call needs.
func (p *Plugin) checkDescribe(rec describeRecord, manifestName string) error {
	p.name = manifestName // so that errors name the plugin when possible
	out := rec.Describe
	var d struct {
		pluginapi.DescribeResponse
		Error *pluginapi.Error `json:"error"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return fmt.Errorf("describe answered bad JSON: %v", err)
	}
	if d.Error != nil {
		return fmt.Errorf("describe failed: %v", d.Error)
	}
	if !validName(d.Name) {
		return fmt.Errorf("describe: name %q: want lowercase letters, digits and dashes", d.Name)
	}
	if err := pluginapi.CheckABIVersion(d.ABIVersion); err != nil {
		return fmt.Errorf("plugin %q: %v", d.Name, err)
	}
	if err := pluginapi.CheckHostVersion(d.MinHostVersion); err != nil {
		return fmt.Errorf("plugin %q: %v", d.Name, err)
	}
	if manifestName == "" {
		p.name = d.Name
	} else if manifestName != d.Name {
		// The operator renamed the plugin: keep describe consistent with it.
		p.log.Info("plugin renamed by its manifest", "describe_name", d.Name, "name", manifestName, "path", p.path)
		d.Name = manifestName
	}

	exported := map[string]bool{}
	for _, op := range rec.Exports {
		exported[op] = true
	}
	p.ops = map[string]bool{pluginapi.OpDescribe: true}
	var missing []string
	for _, op := range pluginapi.RequiredOperations {
		if !exported[op] {
			missing = append(missing, op)
		}
		p.ops[op] = true
	}
	for _, op := range pluginapi.OptionalOperations {
		if !d.Supports(op) {
			continue
		}
		if !exported[op] {
			missing = append(missing, op)
		}
		p.ops[op] = true
	}
	if len(missing) > 0 {
		return fmt.Errorf("plugin %q does not export operations %s", p.name, strings.Join(missing, ", "))
	}
	p.describe = d.DescribeResponse
	return nil
}

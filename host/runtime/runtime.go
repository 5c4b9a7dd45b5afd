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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wharfhq/wharf/pluginapi"
)

// Defaults applied to zero fields of Config.
const (
	DefaultCallTimeout      = 30 * time.Second
	DefaultMemoryLimitBytes = 256 << 20
	DefaultMaxOutputBytes   = 16 << 20
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
	// Logger receives load events and what plugins write to stderr.
	Logger *slog.Logger
}

// Runtime loads and runs plugins. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	cache wazero.CompilationCache
	log   *slog.Logger

	mu      sync.Mutex
	plugins map[string]*Plugin // loaded plugins by name
	closed  bool
	loading sync.WaitGroup // loads in progress; Close waits for them
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
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("runtime config: compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	return &Runtime{cfg: cfg, cache: cache, log: cfg.Logger, plugins: map[string]*Plugin{}}, nil
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
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}

// Load compiles the plugin at wasmPath, reading the optional manifest
// <name>.json beside it, calls describe on a fresh instance and checks the
// answer (ABI major, name, exports). A plugin whose name is already loaded
// in this Runtime is refused.
func (r *Runtime) Load(ctx context.Context, wasmPath string) (*Plugin, error) {
	p, err := r.load(ctx, wasmPath)
	if err != nil {
		return nil, err
	}
	if err := r.register(p); err != nil {
		_ = p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// LoadDir loads every *.wasm file of dir, compiling up to GOMAXPROCS at a
// time. It returns the plugins that loaded and one error per file that did
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
	sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			loaded[i], errs[i] = r.load(ctx, f)
		})
	}
	wg.Wait()

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

// register makes p known under its name, refusing a taken name.
func (r *Runtime) register(p *Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("load %s: runtime is closed", p.path)
	}
	if other, ok := r.plugins[p.name]; ok {
		return fmt.Errorf("load %s: plugin name %q is already taken by %s", p.path, p.name, other.path)
	}
	r.plugins[p.name] = p
	p.registered = true
	r.log.Info("plugin loaded", "plugin", p.name, "version", p.describe.Version, "path", p.path,
		"sha256", p.digest, "pool_size", p.pool.size, "timeout", p.timeout, "memory_limit", p.memoryLimit)
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
	return m, true, nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validName reports whether s is a plugin name: lowercase letters, digits
// and single dashes between them, at most 63 characters.
func validName(s string) bool { return len(s) <= 63 && namePattern.MatchString(s) }

// load compiles and checks one plugin without registering it.
func (r *Runtime) load(ctx context.Context, wasmPath string) (*Plugin, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load %s: %s", wasmPath, fmt.Sprintf(format, args...))
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fail("runtime is closed")
	}
	r.loading.Add(1)
	r.mu.Unlock()
	defer r.loading.Done()

	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, fail("%v", err)
	}
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])

	man, hasManifest, err := readManifest(strings.TrimSuffix(wasmPath, ".wasm") + ".json")
	if err != nil {
		return nil, fail("%v", err)
	}
	if man.SHA256 != "" && !strings.EqualFold(man.SHA256, digest) {
		return nil, fail("sha256 is %s but the manifest requires %s", digest, strings.ToLower(man.SHA256))
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
		timeout:     timeout,
		memoryLimit: memLimit,
		maxOutput:   r.cfg.MaxOutputBytes,
		log:         r.log,
	}
	if err := p.compile(ctx, wasm); err != nil {
		return nil, fail("compile: %v", err)
	}
	p.pool = newPool(poolSize, p.newInstance)

	if err := p.checkDescribe(ctx, man.Name); err != nil {
		_ = p.Close(ctx)
		return nil, fail("%v", err)
	}
	if !hasManifest {
		r.log.Debug("no plugin manifest, defaults apply", "path", wasmPath)
	}
	return p, nil
}

// compile gives the plugin a wazero runtime of its own (the memory limit
// is set per runtime) with WASI and the host modules, and compiles the
// module through the shared cache. WithCloseOnContextDone makes wazero
// check for a closed module in every loop, so that the call timeout stops
// even a plugin spinning without calling the host.
func (p *Plugin) compile(ctx context.Context, wasm []byte) error {
	p.wasm = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(p.rt.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(p.memoryLimit/wasmPageSize)))
	err := func() error {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.wasm); err != nil {
			return err
		}
		if err := instantiateHostModules(ctx, p.wasm); err != nil {
			return err
		}
		m, err := p.wasm.CompileModule(ctx, wasm)
		if err != nil {
			return err
		}
		p.module = m
		return checkImports(p.wasm, m)
	}()
	if err != nil {
		_ = p.wasm.Close(context.Background())
		return err
	}
	return nil
}

// checkDescribe calls describe on a fresh instance and checks the answer
// and the module's exports. The instance then joins the pool.
func (p *Plugin) checkDescribe(ctx context.Context, manifestName string) error {
	inst, err := p.pool.acquire(ctx)
	if err != nil {
		return err
	}
	keep := false
	defer func() { p.pool.release(inst, keep) }()

	p.name = manifestName // so that errors name the plugin when possible
	out, err := p.run(ctx, inst, pluginapi.OpDescribe, []byte("{}"), nil, &keep)
	if err != nil {
		return fmt.Errorf("describe: %v", err)
	}
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
	if manifestName == "" {
		p.name = d.Name
	} else if manifestName != d.Name {
		// The operator renamed the plugin: keep describe consistent with it.
		p.log.Info("plugin renamed by its manifest", "describe_name", d.Name, "name", manifestName, "path", p.path)
		d.Name = manifestName
	}

	p.ops = map[string]bool{pluginapi.OpDescribe: true}
	var missing []string
	for _, op := range pluginapi.RequiredOperations {
		if !p.exports(op) {
			missing = append(missing, op)
		}
		p.ops[op] = true
	}
	for _, op := range pluginapi.OptionalOperations {
		if !d.Supports(op) {
			continue
		}
		if !p.exports(op) {
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

// exports reports whether the module exports op as an operation: a
// function without parameters and at most one result.
func (p *Plugin) exports(op string) bool {
	def, ok := p.module.ExportedFunctions()[op]
	return ok && len(def.ParamTypes()) == 0 && len(def.ResultTypes()) <= 1
}

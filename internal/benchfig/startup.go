package benchfig

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// StartupResult is one cold and one warm start of the real binary with the
// five provider plugins.
type StartupResult struct {
	Cold, Warm time.Duration
}

// Startup measures figure 4: a fresh data folder (empty compilation cache)
// then a second start on the same folder (warm cache), each timed from
// exec to the first answered GET /api/v1/plugins listing five plugins.
func (e *Env) Startup(ctx context.Context) (StartupResult, error) {
	pdir, err := e.PluginsDir(ProviderPlugins...)
	if err != nil {
		return StartupResult{}, err
	}
	data, err := os.MkdirTemp(e.Scratch, "startup-")
	if err != nil {
		return StartupResult{}, err
	}
	defer os.RemoveAll(data)
	var r StartupResult
	for i, d := range []*time.Duration{&r.Cold, &r.Warm} {
		p, err := e.StartProc(ctx, ProcOptions{DataDir: data, PluginsDir: pdir, Plugins: len(ProviderPlugins)})
		if err != nil {
			return r, fmt.Errorf("start %d: %w", i, err)
		}
		*d = p.Ready
		p.Stop()
	}
	return r, nil
}

// MemoryResult is figure 5.
type MemoryResult struct {
	IdleMB float64 // five plugins loaded, no call made
	// OneMB is after one call on the docker connection; PoolMB after the
	// docker plugin's pool was filled by concurrent slow calls.
	OneMB, PoolMB float64
	// PerInstanceMB is (PoolMB-OneMB)/(Pool-1).
	PerInstanceMB float64
	Pool          int
}

// slowDocker delays every service inspect, so that concurrent gets hold
// their plugin instances at the same time.
type slowDocker struct {
	d     *Docker
	delay time.Duration
}

func (s slowDocker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/services/") {
		time.Sleep(s.delay)
	}
	s.d.Emu.ServeHTTP(w, r)
}

// Memory measures figure 5 on the real binary (warm cache): RSS when idle
// with five plugins, then after filling the docker plugin's instance pool
// (pool size = 2×GOMAXPROCS of the host, the default).
func (e *Env) Memory(ctx context.Context, pool int) (MemoryResult, error) {
	pdir, err := e.PluginsDir(ProviderPlugins...)
	if err != nil {
		return MemoryResult{}, err
	}
	d, err := StartDocker(dockeremuOptions())
	if err != nil {
		return MemoryResult{}, err
	}
	defer d.Close()
	if err := d.CreateServices("web", 1, 1); err != nil {
		return MemoryResult{}, err
	}
	slow, err := Serve(slowDocker{d, 200 * time.Millisecond})
	if err != nil {
		return MemoryResult{}, err
	}
	defer slow.Close()
	data, err := os.MkdirTemp(e.Scratch, "memory-")
	if err != nil {
		return MemoryResult{}, err
	}
	defer os.RemoveAll(data)
	o := ProcOptions{DataDir: data, PluginsDir: pdir, Plugins: len(ProviderPlugins),
		Conns: []Conn{{Name: "bench-swarm", Plugin: "docker", Config: d.Emu.DemoConfig(slow.URL)}}}
	client := NativeClient()
	var p *Proc
	get := func() error {
		resp, err := client.Get(p.URL + "/api/v1/connections/bench-swarm/services/web-00000")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("get: %s", resp.Status)
		}
		return nil
	}
	// A first start fills the compilation cache (plugins compile lazily, so
	// a docker call makes sure the docker plugin's code is in it); the
	// measured start is warm.
	if p, err = e.StartProc(ctx, o); err != nil {
		return MemoryResult{}, err
	}
	if err := get(); err != nil {
		p.Stop()
		return MemoryResult{}, err
	}
	p.Stop()
	if p, err = e.StartProc(ctx, o); err != nil {
		return MemoryResult{}, err
	}
	defer p.Stop()
	r := MemoryResult{Pool: pool}
	settle := func() (float64, error) {
		time.Sleep(time.Second)
		return p.RSS()
	}
	if r.IdleMB, err = settle(); err != nil {
		return r, err
	}
	if err := get(); err != nil {
		return r, err
	}
	if r.OneMB, err = settle(); err != nil {
		return r, err
	}
	// Twice the pool's worth of concurrent slow gets, a few times over.
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2*pool)
		for i := 0; i < 2*pool; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- get() }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return r, err
			}
		}
	}
	if r.PoolMB, err = settle(); err != nil {
		return r, err
	}
	if pool > 1 {
		r.PerInstanceMB = (r.PoolMB - r.OneMB) / float64(pool-1)
	}
	return r, nil
}

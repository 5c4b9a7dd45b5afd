package benchfig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// GetEnv is figures 2 and 3: a host with the docker plugin and one
// connection to a Docker emulator holding a running service "web".
type GetEnv struct {
	Host   *Host
	Docker *Docker
	Conn   string
	ID     string
	// Requests is the HTTP exchange one get makes with the emulator,
	// recorded from the plugin; the native reference replays it.
	Requests []string
	client   *http.Client
}

// NewGetEnv starts the emulator and the host and waits until "web" runs.
func (e *Env) NewGetEnv(ctx context.Context) (*GetEnv, error) {
	d, err := StartDocker(dockeremuOptions())
	if err != nil {
		return nil, err
	}
	if err := d.CreateServices("web", 1, 2); err != nil {
		d.Close()
		return nil, err
	}
	h, err := e.StartHost(ctx, []string{"docker"}, []Conn{{Name: "bench-swarm", Plugin: "docker", Config: d.Config()}})
	if err != nil {
		d.Close()
		return nil, err
	}
	g := &GetEnv{Host: h, Docker: d, Conn: "bench-swarm", ID: "web-00000", client: NativeClient()}
	deadline := time.Now().Add(10 * time.Second)
	for {
		svc, err := h.Ops.GetService(ctx, Caller, g.Conn, g.ID)
		if err == nil && svc.Status == pluginapi.StatusRunning {
			break
		}
		if time.Now().After(deadline) {
			g.Close()
			return nil, fmt.Errorf("service never ran: %v %v", svc, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.Requests, err = d.Record(func() error { return g.OpsGet(ctx) })
	if err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// Close stops the host and the emulator.
func (g *GetEnv) Close() {
	_ = g.Host.Close()
	_ = g.Docker.Close()
}

// OpsGet is figure 2's work: one get through the operations layer.
func (g *GetEnv) OpsGet(ctx context.Context) error {
	svc, err := g.Host.Ops.GetService(ctx, Caller, g.Conn, g.ID)
	if err != nil {
		return err
	}
	if svc.Name != g.ID {
		return fmt.Errorf("got service %q", svc.Name)
	}
	return nil
}

// NativeGet is the reference: the same requests to the same emulator with
// Go's HTTP client, decoded into the same Docker types.
func (g *GetEnv) NativeGet(context.Context) error {
	return Replay(g.client, g.Docker.URL, g.Requests)
}

// APIGet is figure 3's work: one get through the REST API on loopback,
// its answer decoded.
func (g *GetEnv) APIGet(context.Context) error {
	resp, err := g.client.Get(g.Host.API + "/connections/" + g.Conn + "/services/" + g.ID)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	var svc pluginapi.Service
	if err := json.NewDecoder(resp.Body).Decode(&svc); err != nil {
		return err
	}
	if svc.Name != g.ID {
		return fmt.Errorf("got service %q", svc.Name)
	}
	return nil
}

// Throughput is the outcome of running callers for a while.
type Throughput struct {
	PerSecond float64
	OK        int64
	Errors    int64
	FirstErr  error
}

// RunConcurrent runs callers goroutines calling f back to back for d and
// returns the completed calls per second and the errors.
func RunConcurrent(ctx context.Context, callers int, d time.Duration, f func(context.Context) error) Throughput {
	var ok, bad atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := f(ctx); err != nil {
					bad.Add(1)
					first.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	t := Throughput{PerSecond: float64(ok.Load()) / el, OK: ok.Load(), Errors: bad.Load()}
	t.FirstErr, _ = first.Load().(error)
	return t
}

package benchfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/swarm"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
)

// Docker is a Docker engine emulator served on loopback, with a recorder
// of the requests it receives.
type Docker struct {
	*Served
	Emu *dockeremu.Server

	recording atomic.Bool
	mu        sync.Mutex
	recorded  []string // request URIs while recording
	requests  atomic.Int64
}

// StartDocker serves a fresh Docker emulator whose tasks start after 1 ms,
// so that services are running (steady) almost at once.
func StartDocker(opts dockeremu.Options) (*Docker, error) {
	if opts.StartDelay == 0 {
		opts.StartDelay = time.Millisecond
	}
	d := &Docker{Emu: dockeremu.New(opts)}
	s, err := Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.requests.Add(1)
		if d.recording.Load() {
			d.mu.Lock()
			d.recorded = append(d.recorded, r.Method+" "+r.URL.RequestURI())
			d.mu.Unlock()
		}
		d.Emu.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, err
	}
	d.Served = s
	return d, nil
}

// Record returns the requests made while f runs.
func (d *Docker) Record(f func() error) ([]string, error) {
	d.mu.Lock()
	d.recorded = nil
	d.mu.Unlock()
	d.recording.Store(true)
	err := f()
	d.recording.Store(false)
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.recorded...), err
}

// Requests counts every request served so far.
func (d *Docker) Requests() int64 { return d.requests.Load() }

// Config is the docker plugin's connection config for this emulator.
func (d *Docker) Config() map[string]any { return d.Emu.DemoConfig(d.URL) }

// CreateServices creates n replicated services called prefix-00000… on the
// emulator through its wire API, with up to 8 requests at a time.
func (d *Docker) CreateServices(prefix string, n, replicas int) error {
	client := NativeClient()
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				r := uint64(replicas)
				spec := swarm.ServiceSpec{
					Annotations:  swarm.Annotations{Name: fmt.Sprintf("%s-%05d", prefix, i), Labels: map[string]string{"bench": prefix}},
					TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx:1.27", Env: []string{"MODE=bench"}}},
					Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &r}},
				}
				body, _ := json.Marshal(spec)
				resp, err := client.Post(d.URL+"/v1.47/services/create", "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Store(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
					failed.Store(fmt.Errorf("create %s: %s: %s", spec.Name, resp.Status, b))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}

// Replay makes requests (as Record returned them) with a native client
// and decodes each JSON answer into the swarm type the docker plugin
// decodes it into. It is the reference of figures 2 and 3: the same HTTP
// exchange and decoding, without the host.
func Replay(client *http.Client, base string, requests []string) error {
	for _, r := range requests {
		method, uri, _ := strings.Cut(r, " ")
		req, err := http.NewRequest(method, base+uri, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("%s: %s", r, resp.Status)
		}
		path, _, _ := strings.Cut(uri, "?")
		var dst any
		switch {
		case strings.Contains(path, "/services/"):
			dst = new(swarm.Service)
		case strings.HasSuffix(path, "/services"):
			dst = new([]swarm.Service)
		case strings.HasSuffix(path, "/tasks"):
			dst = new([]swarm.Task)
		default:
			dst = new(any)
		}
		err = json.NewDecoder(resp.Body).Decode(dst)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
	}
	return nil
}

func dockeremuOptions() dockeremu.Options { return dockeremu.Options{} }

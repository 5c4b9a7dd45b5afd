package benchfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/plugins/examples/rust"
	runqemu "github.com/wharfhq/wharf/plugins/examples/rust/emulator"
)

// RustPlugins are figure 11's two builds of one provider: the Rust
// example (plugins/examples/rust, plugin "runq") and its Go twin
// (internal/testplugins/runqgo, plugin "runqgo"), which make the same runq
// requests and give the same answers.
var RustPlugins = []string{"runq", "runqgo"}

// RustWasm builds the Rust example plugin with Debian's rustc once and
// returns the .wasm path; it fails saying why when rustc is missing.
func (e *Env) RustWasm() (string, error) {
	if err := rust.Available(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	const key = "rust:" + rust.Dir
	if p, ok := e.wasm[key]; ok {
		return p, nil
	}
	dir := filepath.Join(e.Scratch, "wasm", "rust")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "runq.wasm")
	if err := rust.Build(filepath.Join(e.Root, rust.Dir), out); err != nil {
		return "", err
	}
	e.wasm[key] = out
	return out, nil
}

// RustEnv is figure 11: one runq emulator on loopback holding a job "web",
// a host with both builds of the provider and a connection to it for each,
// and a bare runtime with both loaded, for the plugin's own cost.
type RustEnv struct {
	Host *Host
	Runq *Served
	ID   string
	// Files are the two .wasm files, by plugin name.
	Files map[string]string
	// FirstCall is how long the bare runtime's first get took, by plugin:
	// compiling the module and making an instance, then the call.
	FirstCall map[string]time.Duration

	rt      *runtime.Runtime
	plugins map[string]*runtime.Plugin
	request []byte      // the get request as the host sends it
	answer  *memoryRunq // runq's answer to that get, served from memory
}

// NewRustEnv builds both plugins and starts everything.
func (e *Env) NewRustEnv(ctx context.Context) (*RustEnv, error) {
	rustWasm, err := e.RustWasm()
	if err != nil {
		return nil, err
	}
	goWasm, err := e.Wasm("./internal/testplugins/runqgo")
	if err != nil {
		return nil, err
	}
	pdir, err := os.MkdirTemp(e.Scratch, "plugins-")
	if err != nil {
		return nil, err
	}
	r := &RustEnv{Files: map[string]string{"runq": rustWasm, "runqgo": goWasm}, FirstCall: map[string]time.Duration{}, plugins: map[string]*runtime.Plugin{}}
	for name, f := range r.Files {
		if err := copyFile(f, filepath.Join(pdir, name+".wasm")); err != nil {
			return nil, err
		}
	}
	emu := runqemu.New()
	if r.Runq, err = Serve(emu); err != nil {
		return nil, err
	}
	job, err := createJob(r.Runq.URL, `{"name":"web","image":"nginx:1.27","replicas":2,"env":{"MODE":"bench"}}`)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.ID = job.ID
	cfg := emu.DemoConfig(r.Runq.URL)
	if r.Host, err = e.StartHostDir(ctx, pdir, []Conn{{Name: "bench-runq", Plugin: "runq", Config: cfg}, {Name: "bench-runqgo", Plugin: "runqgo", Config: cfg}}); err != nil {
		r.Close()
		return nil, err
	}
	r.answer = &memoryRunq{body: job.raw}
	r.request = mustJSON(pluginapi.GetRequest{Request: pluginapi.Request{Connection: "bench-runq", Config: json.RawMessage(`{"endpoint":"` + r.Runq.URL + `"}`)}, ID: r.ID})
	if r.rt, err = runtime.New(ctx, runtime.Config{CallTimeout: CallTimeout, Logger: e.Log}); err != nil {
		r.Close()
		return nil, err
	}
	for name, f := range r.Files {
		p, err := r.rt.Load(ctx, f)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.plugins[name] = p
		start := time.Now()
		if err := r.Call(ctx, name); err != nil {
			r.Close()
			return nil, fmt.Errorf("first get on %s: %w", name, err)
		}
		r.FirstCall[name] = time.Since(start)
	}
	for _, name := range RustPlugins {
		if err := r.OpsGet(ctx, name); err != nil {
			r.Close()
			return nil, fmt.Errorf("get through %s: %w", name, err)
		}
	}
	return r, nil
}

// AnswerBytes is the size of runq's answer to the get.
func (r *RustEnv) AnswerBytes() int { return len(r.answer.body) }

// Close stops the host, the runtime and the emulator.
func (r *RustEnv) Close() {
	if r.Host != nil {
		_ = r.Host.Close()
	}
	if r.rt != nil {
		_ = r.rt.Close(context.Background())
	}
	if r.Runq != nil {
		_ = r.Runq.Close()
	}
}

// OpsGet is one get through ops.Host.GetService on plugin's connection.
func (r *RustEnv) OpsGet(ctx context.Context, plugin string) error {
	svc, err := r.Host.Ops.GetService(ctx, Caller, "bench-"+plugin, r.ID)
	if err != nil {
		return err
	}
	if svc.Name != "web" || svc.Status != pluginapi.StatusRunning {
		return fmt.Errorf("%s: got service %q %s", plugin, svc.Name, svc.Status)
	}
	return nil
}

// Call is one runtime.Plugin.Call of get with runq's answer served from
// memory: the plugin's work (read the request, build one HTTP request,
// read the answer, map the job to a Service, write it) and the runtime's,
// no network, no host facade.
func (r *RustEnv) Call(ctx context.Context, plugin string) error {
	out, err := r.plugins[plugin].Call(ctx, pluginapi.OpGet, r.request, r.answer)
	if err != nil {
		return err
	}
	if !bytes.Contains(out, []byte(`"name":"web"`)) {
		return fmt.Errorf("%s answered %s", plugin, out)
	}
	return nil
}

// memoryRunq answers every request with one recorded job.
type memoryRunq struct{ body []byte }

func (m *memoryRunq) Do(_ context.Context, _ *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	return &pluginapi.HTTPResponse{Status: http.StatusOK, Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: m.body}
}

type createdJob struct {
	ID  string
	raw []byte
}

// createJob makes a job on runq through its own API.
func createJob(base, body string) (createdJob, error) {
	req, err := http.NewRequest("POST", base+"/v1/jobs", bytes.NewReader([]byte(body)))
	if err != nil {
		return createdJob{}, err
	}
	req.Header.Set("Authorization", "Bearer "+runqemu.Token)
	resp, err := NativeClient().Do(req)
	if err != nil {
		return createdJob{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return createdJob{}, fmt.Errorf("create job: %s: %s", resp.Status, b)
	}
	j := createdJob{raw: b}
	var v struct{ ID string }
	if err := json.Unmarshal(b, &v); err != nil {
		return createdJob{}, err
	}
	j.ID = v.ID
	return j, nil
}

// Latency is n single calls of one work: their median, mean and 99th
// percentile in µs. Figure 11 shows the mean beside the median because a
// Go plugin's garbage collector runs inside some calls, which the median
// hides.
type Latency struct{ Median, Mean, P99 float64 }

// MeasureLatency times n single calls of f.
func MeasureLatency(ctx context.Context, n int, f func(context.Context) error) (Latency, error) {
	d := make([]float64, n)
	sum := 0.0
	for i := range d {
		start := time.Now()
		if err := f(ctx); err != nil {
			return Latency{}, err
		}
		d[i] = time.Since(start).Seconds() * 1e6
		sum += d[i]
	}
	sort.Float64s(d)
	return Latency{Median: Quantile(d, 0.5), Mean: sum / float64(n), P99: Quantile(d, 0.99)}, nil
}

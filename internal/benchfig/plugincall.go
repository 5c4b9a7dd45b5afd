package benchfig

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	extism "github.com/extism/go-sdk"

	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
)

// SmallRequest is figure 1's message: a get request as the host sends it.
var SmallRequest = mustJSON(pluginapi.GetRequest{
	Request: pluginapi.Request{Connection: "bench-swarm", Config: json.RawMessage(`{"host":"http://127.0.0.1:2375","api_version":"1.47"}`)},
	ID:      "web",
})

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// CallTimeout is figure 1's call timeout: protection on, long enough
// never to fire.
const CallTimeout = 10 * time.Second

// Fig1 holds the three ways of doing figure 1's work.
type Fig1 struct {
	rt     *runtime.Runtime
	plugin *runtime.Plugin
	ext    *extism.Plugin
}

// NewFig1 loads the "good" test plugin (its get answers its input) into a
// Wharf runtime with a call timeout, and into extism's default setup.
func (e *Env) NewFig1(ctx context.Context) (*Fig1, error) {
	wasm, err := e.Wasm("./internal/testplugins/good")
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(ctx, runtime.Config{CallTimeout: CallTimeout, Logger: e.Log})
	if err != nil {
		return nil, err
	}
	p, err := rt.Load(ctx, wasm)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	ext, err := newExtism(ctx, wasm)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return &Fig1{rt: rt, plugin: p, ext: ext}, nil
}

// newExtism is extism go-sdk's default setup: a manifest naming the file,
// WASI on (Go plugins need it) and the one host function the plugin imports,
// refusing every request as the runtime's nil handler does.
func newExtism(ctx context.Context, wasm string) (*extism.Plugin, error) {
	if _, err := os.Stat(wasm); err != nil {
		return nil, err
	}
	refuse := extism.NewHostFunctionWithStack("wharf_http", func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
		off, err := p.WriteBytes([]byte(`{"error":"refused"}`))
		if err != nil {
			panic(err)
		}
		stack[0] = off
	}, []extism.ValueType{extism.ValueTypeI64}, []extism.ValueType{extism.ValueTypeI64})
	refuse.SetNamespace("extism:host/user")
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: wasm}}}
	return extism.NewPlugin(ctx, manifest, extism.PluginConfig{EnableWasi: true}, []extism.HostFunction{refuse})
}

// Close frees both plugins.
func (f *Fig1) Close() {
	ctx := context.Background()
	_ = f.ext.Close(ctx)
	_ = f.rt.Close(ctx)
}

// Wharf makes one call through runtime.Plugin.Call.
func (f *Fig1) Wharf(ctx context.Context) error {
	out, err := f.plugin.Call(ctx, pluginapi.OpGet, SmallRequest, nil)
	if err != nil {
		return err
	}
	if len(out) != len(SmallRequest) {
		return fmt.Errorf("echo answered %d bytes, sent %d", len(out), len(SmallRequest))
	}
	return nil
}

// Extism makes the same call through extism's Plugin.Call.
func (f *Fig1) Extism(context.Context) error {
	_, out, err := f.ext.Call(pluginapi.OpGet, SmallRequest)
	if err != nil {
		return err
	}
	if len(out) != len(SmallRequest) {
		return fmt.Errorf("echo answered %d bytes, sent %d", len(out), len(SmallRequest))
	}
	return nil
}

// NativeJSON is the same work as a plain Go function: decode the request
// and encode the answer.
func NativeJSON(context.Context) error {
	var req pluginapi.GetRequest
	if err := json.Unmarshal(SmallRequest, &req); err != nil {
		return err
	}
	out, err := json.Marshal(&req)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return fmt.Errorf("empty answer")
	}
	return nil
}

// MedianLatency times n single calls of f and returns their median in µs.
func MedianLatency(ctx context.Context, n int, f func(context.Context) error) (float64, error) {
	d := make([]float64, n)
	for i := range d {
		start := time.Now()
		if err := f(ctx); err != nil {
			return 0, err
		}
		d[i] = time.Since(start).Seconds() * 1e6
	}
	sort.Float64s(d)
	return Quantile(d, 0.5), nil
}

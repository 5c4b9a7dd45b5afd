package runtime

// Benchmarks of one plugin call, next to two references: the same call
// through the Extism Go SDK (how this package ran plugins before it
// implemented the Extism host ABI itself) and the same work as plain Go.
// Compare with `go test -run XXX -bench Call -count 6 ./host/runtime`.

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/wharfhq/wharf/internal/testplugins/base"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

var benchInput = []byte(`{"connection":"bench","config":{"endpoint":"http://localhost"},"id":"svc-1"}`)

// BenchmarkCallSerial is BenchmarkCall from one goroutine: the latency of
// a call rather than the throughput of the pool.
func BenchmarkCallSerial(b *testing.B) {
	r := newRuntime(b, Config{CallTimeout: 10 * time.Second})
	p := load(b, r, "good")
	b.ReportAllocs()
	for b.Loop() {
		if out, err := p.Call(context.Background(), pluginapi.OpGet, benchInput, nil); err != nil || len(out) != len(benchInput) {
			b.Fatalf("%s, %v", out, err)
		}
	}
}

// BenchmarkCallNativeGo is the work the good plugin's get does (copy its
// input to its output) as a plain Go function.
func BenchmarkCallNativeGo(b *testing.B) {
	echo := func(in []byte) []byte { return bytes.Clone(in) }
	b.ReportAllocs()
	for b.Loop() {
		if out := echo(benchInput); len(out) != len(benchInput) {
			b.Fatal(string(out))
		}
	}
}

// BenchmarkCallRoundtrip calls a pluginapi/plugin plugin whose get decodes
// the request and encodes a service: the JSON work of a real call.
func BenchmarkCallRoundtrip(b *testing.B) {
	r := newRuntime(b, Config{CallTimeout: 10 * time.Second})
	p := load(b, r, "roundtrip")
	b.ReportAllocs()
	for b.Loop() {
		if out, err := p.Call(context.Background(), pluginapi.OpGet, benchInput, nil); err != nil || !bytes.Contains(out, []byte(`"id":"svc-1"`)) {
			b.Fatalf("%s, %v", out, err)
		}
	}
}

// BenchmarkCallRoundtripNativeGo is BenchmarkCallRoundtrip's plugin code
// run as plain Go.
func BenchmarkCallRoundtripNativeGo(b *testing.B) {
	p := base.Roundtrip{Provider: base.Provider{Name: "roundtrip"}}
	b.ReportAllocs()
	for b.Loop() {
		if out := plugin.Dispatch(context.Background(), p, pluginapi.OpGet, benchInput); !bytes.Contains(out, []byte(`"id":"svc-1"`)) {
			b.Fatal(string(out))
		}
	}
}

// sdkPlugin runs a plugin through the Extism Go SDK the way this package
// did before: same wazero settings, one instance per pooled slot, a call
// timeout per call.
type sdkPlugin struct {
	compiled *extism.CompiledPlugin
	idle     chan *extism.Plugin
}

func newSDKPlugin(b *testing.B, name string) *sdkPlugin {
	ctx := context.Background()
	wasm, err := os.ReadFile(build(b, name))
	if err != nil {
		b.Fatal(err)
	}
	cache := wazero.NewCompilationCache()
	b.Cleanup(func() { cache.Close(ctx) })
	wharfHTTP := extism.NewHostFunctionWithStack(pluginapi.HTTPFunction,
		func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) { stack[0] = 0 },
		[]extism.ValueType{extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})
	compiled, err := extism.NewCompiledPlugin(ctx,
		extism.Manifest{
			Wasm:   []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
			Memory: &extism.ManifestMemory{MaxPages: uint32((64 << 20) / wasmPageSize)},
		},
		extism.PluginConfig{
			EnableWasi:    true,
			RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(true),
		},
		[]extism.HostFunction{wharfHTTP},
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { compiled.Close(ctx) })
	size := 2 * goruntime.GOMAXPROCS(0)
	sp := &sdkPlugin{compiled: compiled, idle: make(chan *extism.Plugin, size)}
	for range size {
		inst, err := compiled.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: wazero.NewModuleConfig().
			WithStderr(newStderrBuffer(stderrLimit)).WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader)})
		if err != nil {
			b.Fatal(err)
		}
		sp.idle <- inst
	}
	return sp
}

func (sp *sdkPlugin) call(op string, input []byte) ([]byte, error) {
	inst := <-sp.idle
	defer func() { sp.idle <- inst }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, out, err := inst.CallWithContext(ctx, op, input)
	return out, err
}

// BenchmarkCallExtismSDK is BenchmarkCall through the Extism Go SDK.
func BenchmarkCallExtismSDK(b *testing.B) {
	sp := newSDKPlugin(b, "good")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out, err := sp.call(pluginapi.OpGet, benchInput); err != nil || len(out) != len(benchInput) {
				b.Errorf("%s, %v", out, err)
				return
			}
		}
	})
}

// BenchmarkCallExtismSDKSerial is BenchmarkCallSerial through the SDK.
func BenchmarkCallExtismSDKSerial(b *testing.B) {
	sp := newSDKPlugin(b, "good")
	b.ReportAllocs()
	for b.Loop() {
		if out, err := sp.call(pluginapi.OpGet, benchInput); err != nil || len(out) != len(benchInput) {
			b.Fatalf("%s, %v", out, err)
		}
	}
}

// BenchmarkCallRoundtripExtismSDK is BenchmarkCallRoundtrip through the SDK.
func BenchmarkCallRoundtripExtismSDK(b *testing.B) {
	sp := newSDKPlugin(b, "roundtrip")
	b.ReportAllocs()
	for b.Loop() {
		if out, err := sp.call(pluginapi.OpGet, benchInput); err != nil || !bytes.Contains(out, []byte(`"id":"svc-1"`)) {
			b.Fatalf("%s, %v", out, err)
		}
	}
}

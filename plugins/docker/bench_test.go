//go:build !wasip1

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginkit"
)

// The benchmarks measure one plugin call natively (plugin.Dispatch) and in
// wasm (host/runtime, the host's own runtime), both against the emulator on
// a loopback httptest.Server with the real clock:
//
//	go test -run '^$' -bench . -count 6 ./plugins/docker/

// benchEnv is an emulator with services and the plugin wired to it.
type benchEnv struct {
	h      *harness
	plugin *runtime.Plugin
	rt     *runtime.Runtime
}

// runtimeDoer adapts the test host doer to runtime.HTTPHandler.
type runtimeDoer struct{ d *hostDoer }

func (r runtimeDoer) Do(_ context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	return r.d.Do(req)
}

func newBenchEnv(b *testing.B, opts dockeremu.Options, services int) *benchEnv {
	b.Helper()
	opts.Now = time.Now
	if opts.StartDelay == 0 {
		opts.StartDelay = time.Millisecond
	}
	emu := dockeremu.New(opts)
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	cfg, _ := json.Marshal(emu.DemoConfig(srv.URL))
	h := &harness{t: b, cfg: cfg, emu: emu}
	h.doer = newHostDoer(b, srv.URL)
	h.ctx = plugin.WithDoer(context.Background(), h.doer)
	for i := range services {
		h.create(fmt.Sprintf(`{"name":"web-%05d","image":"nginx:1.27","replicas":2,"env":{"MODE":"bench"},"labels":{"bench":"x"},"ports":[{"target":80}]}`, i))
	}
	time.Sleep(20 * time.Millisecond) // tasks start after 1 ms

	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: filepath.Join(b.TempDir(), "cache"), PoolSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Close(ctx) })
	p, err := rt.Load(ctx, pluginkit.Build(b, "./plugins/docker"))
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{h: h, plugin: p, rt: rt}
}

// native runs op through plugin.Dispatch, as the wasm export does.
func (e *benchEnv) native(b *testing.B, op string, req any) []byte {
	in, _ := json.Marshal(req)
	return check(b, plugin.Dispatch(e.h.ctx, provider{}, op, in))
}

// wasm runs op through the host's runtime.
func (e *benchEnv) wasm(b *testing.B, op string, req any) []byte {
	in, _ := json.Marshal(req)
	out, err := e.plugin.Call(context.Background(), op, in, runtimeDoer{e.h.doer})
	if err != nil {
		b.Fatal(err)
	}
	return check(b, out)
}

type runner func(b *testing.B, op string, req any) []byte

func (e *benchEnv) both(b *testing.B, f func(b *testing.B, run runner)) {
	b.Run("native", func(b *testing.B) { b.ReportAllocs(); f(b, e.native) })
	b.Run("wasm", func(b *testing.B) { f(b, e.wasm) })
}

// BenchmarkGet is one get of a running two-replica service.
func BenchmarkGet(b *testing.B) {
	e := newBenchEnv(b, dockeremu.Options{}, 1)
	req := pluginapi.GetRequest{Request: e.h.req(), ID: "web-00000"}
	e.both(b, func(b *testing.B, run runner) {
		for b.Loop() {
			var resp pluginapi.ServiceResponse
			if err := json.Unmarshal(run(b, pluginapi.OpGet, req), &resp); err != nil || resp.Service.Status != pluginapi.StatusRunning {
				b.Fatalf("get: %+v %v", resp.Service, err)
			}
		}
	})
}

// BenchmarkList is the first page (50) and a page of 1000 of 2000
// services, as host/ops lists a connection.
func BenchmarkList(b *testing.B) {
	e := newBenchEnv(b, dockeremu.Options{}, 2000)
	for _, size := range []int{50, 1000} {
		req := pluginapi.ListRequest{Request: e.h.req(), PageSize: size}
		b.Run(fmt.Sprintf("page=%d", size), func(b *testing.B) {
			e.both(b, func(b *testing.B, run runner) {
				for b.Loop() {
					var resp pluginapi.ListResponse
					if err := json.Unmarshal(run(b, pluginapi.OpList, req), &resp); err != nil || len(resp.Services) != size {
						b.Fatalf("list: %d services, %v", len(resp.Services), err)
					}
				}
			})
		})
	}
}

// BenchmarkLogsPoll is one follow poll of a service writing 2000 lines/s,
// 5 ms after the previous poll (about 10 new lines).
func BenchmarkLogsPoll(b *testing.B) {
	e := newBenchEnv(b, dockeremu.Options{LogEvery: 500 * time.Microsecond}, 0)
	e.h.create(`{"name":"talker","image":"x:1","replicas":1}`)
	time.Sleep(50 * time.Millisecond)
	e.both(b, func(b *testing.B, run runner) {
		now := time.Now()
		var resp pluginapi.LogsResponse
		_ = json.Unmarshal(run(b, pluginapi.OpLogs, pluginapi.LogsRequest{Request: e.h.req(), ID: "talker", Since: &now}), &resp)
		lines := 0
		for b.Loop() {
			b.StopTimer()
			time.Sleep(5 * time.Millisecond)
			b.StartTimer()
			cur := resp.Cursor
			resp = pluginapi.LogsResponse{}
			if err := json.Unmarshal(run(b, pluginapi.OpLogs, pluginapi.LogsRequest{Request: e.h.req(), ID: "talker", Cursor: cur, Details: true}), &resp); err != nil {
				b.Fatal(err)
			}
			lines += len(resp.Entries)
		}
		b.ReportMetric(float64(lines)/float64(b.N), "lines/op")
	})
}

// BenchmarkCallFloor is a get that fails before any HTTP request: the
// cost of a call through the runtime with the request decode and the
// error answer.
func BenchmarkCallFloor(b *testing.B) {
	e := newBenchEnv(b, dockeremu.Options{}, 0)
	in, _ := json.Marshal(pluginapi.GetRequest{Request: e.h.req(), ID: " "})
	for b.Loop() {
		if _, err := e.plugin.Call(context.Background(), pluginapi.OpGet, in, runtimeDoer{e.h.doer}); err != nil {
			b.Fatal(err)
		}
	}
}

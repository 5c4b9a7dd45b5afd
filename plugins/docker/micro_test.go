package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// inprocDoer serves the plugin's requests from an http.Handler in the same
// process, without a network. (A wasip1 build of these benchmarks does not
// run under a bare wasm runner: the plugin helper imports the Extism host
// functions, which only the Wharf runtime provides.)
type inprocDoer struct{ h http.Handler }

func (d inprocDoer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	u := "http://engine" + r.Path
	if len(r.Query) > 0 {
		u += "?" + url.Values(r.Query).Encode()
	}
	req := httptest.NewRequest(r.Method, u, bytes.NewReader(r.Body))
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	out := &pluginapi.HTTPResponse{Status: res.StatusCode, Headers: map[string][]string(res.Header), Body: body}
	// the envelope costs what it costs in wasm: JSON both ways
	b, _ := json.Marshal(out)
	back := &pluginapi.HTTPResponse{}
	_ = json.Unmarshal(b, back)
	return back
}

// replayDoer records the engine's answers to the requests of a first run
// and serves them again afterwards, so that a benchmark measures the
// plugin's own work and not the emulator's (which runs in the same wasm
// module here). The envelope's JSON is measured on its own in
// BenchmarkMicroPieces.
type replayDoer struct {
	d       plugin.Doer
	replay  bool
	answers map[string]*pluginapi.HTTPResponse
}

func (r *replayDoer) key(req *pluginapi.HTTPRequest) string {
	return req.Method + " " + req.Path + "?" + url.Values(req.Query).Encode()
}

func (r *replayDoer) Do(req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	k := r.key(req)
	if r.replay {
		if a, ok := r.answers[k]; ok {
			cp := *a
			return &cp
		}
		panic("replayDoer: no recorded answer for " + k)
	}
	a := r.d.Do(req)
	if r.answers == nil {
		r.answers = map[string]*pluginapi.HTTPResponse{}
	}
	if _, seen := r.answers[k]; !seen {
		r.answers[k] = a // the first answer: an update reads the service again after posting
	}
	cp := *a
	return &cp
}

// microEnv is an emulator on a manual clock with n running services, and
// a context whose doer records (then replays) the engine's answers.
func microEnv(b *testing.B, n int, opts dockeremu.Options) (context.Context, *replayDoer, *clock, json.RawMessage) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = clk.Now
	opts.StartDelay = time.Millisecond
	emu := dockeremu.New(opts)
	direct := inprocDoer{emu}
	for i := range n {
		spec := fmt.Sprintf(`{"Name":"web-%05d","Labels":{"bench":"x"},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:1.27","Env":["MODE=bench"]}},`+
			`"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Ports":[{"TargetPort":80,"Protocol":"tcp"}]}}`, i)
		resp := direct.Do(&pluginapi.HTTPRequest{Method: "POST", Path: "/v1.47/services/create", Body: []byte(spec)})
		if resp.Status != 201 {
			b.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
	}
	clk.Advance(time.Second)
	rd := &replayDoer{d: direct}
	ctx := plugin.WithDoer(context.Background(), rd)
	cfg := json.RawMessage(`{"host":"tcp://engine:2375","api_version":"1.47"}`)
	return ctx, rd, clk, cfg
}

// microRun records the answers of one call of op, then benchmarks the
// call against the recording.
func microRun(b *testing.B, ctx context.Context, rd *replayDoer, op string, req any) {
	in, _ := json.Marshal(req)
	check(b, plugin.Dispatch(ctx, provider{}, op, in))
	rd.replay = true
	for b.Loop() {
		check(b, plugin.Dispatch(ctx, provider{}, op, in))
	}
}

// BenchmarkMicroGet is one get of a running two-replica service.
func BenchmarkMicroGet(b *testing.B) {
	ctx, rd, _, cfg := microEnv(b, 1, dockeremu.Options{})
	microRun(b, ctx, rd, pluginapi.OpGet, pluginapi.GetRequest{Request: pluginapi.Request{Config: cfg}, ID: "web-00000"})
}

// BenchmarkMicroList is a page of 50 and of 1000 out of 2000 services, as
// host/ops lists a connection.
func BenchmarkMicroList(b *testing.B) {
	ctx, rd, _, cfg := microEnv(b, 2000, dockeremu.Options{})
	for _, size := range []int{50, 1000} {
		b.Run(fmt.Sprintf("page=%d", size), func(b *testing.B) {
			rd.replay = false
			microRun(b, ctx, rd, pluginapi.OpList, pluginapi.ListRequest{Request: pluginapi.Request{Config: cfg}, PageSize: size})
		})
	}
}

// BenchmarkMicroLogsPoll is one follow poll of a service writing 2000
// lines/s over two tasks, 150 ms after the previous poll (about 300 lines
// with timestamps and details), as the host's log follower polls.
func BenchmarkMicroLogsPoll(b *testing.B) {
	ctx, rd, clk, cfg := microEnv(b, 0, dockeremu.Options{LogEvery: time.Millisecond})
	resp := rd.Do(&pluginapi.HTTPRequest{Method: "POST", Path: "/v1.47/services/create",
		Body: []byte(`{"Name":"talker","TaskTemplate":{"ContainerSpec":{"Image":"x:1"}},"Mode":{"Replicated":{"Replicas":2}}}`)})
	if resp.Status != 201 {
		b.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	clk.Advance(time.Second)
	first, _ := json.Marshal(pluginapi.LogsRequest{Request: pluginapi.Request{Config: cfg}, ID: "talker", Tail: 1, Details: true})
	var prev pluginapi.LogsResponse
	_ = json.Unmarshal(check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpLogs, first)), &prev)
	clk.Advance(150 * time.Millisecond)
	req := pluginapi.LogsRequest{Request: pluginapi.Request{Config: cfg}, ID: "talker", Cursor: prev.Cursor, Details: true}
	in, _ := json.Marshal(req)
	var got pluginapi.LogsResponse
	_ = json.Unmarshal(check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpLogs, in)), &got)
	if len(got.Entries) < 250 {
		b.Fatalf("poll got %d lines, want about 300", len(got.Entries))
	}
	rd.replay = true
	for b.Loop() {
		check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpLogs, in))
	}
	b.ReportMetric(float64(len(got.Entries)), "lines/op")
}

func BenchmarkMicroPieces(b *testing.B) {
	_, rd, _, _ := microEnv(b, 1, dockeremu.Options{})
	d := rd.d
	inspect := d.Do(&pluginapi.HTTPRequest{Method: "GET", Path: "/v1.47/services/web-00000", Query: map[string][]string{"insertDefaults": {"true"}}}).Body
	list := d.Do(&pluginapi.HTTPRequest{Method: "GET", Path: "/v1.47/services", Query: map[string][]string{"status": {"true"}}}).Body
	b.Logf("inspect %d bytes, list %d bytes", len(inspect), len(list))
	var svc swarm.Service
	_ = json.Unmarshal(inspect, &svc)
	e := &engine{host: "tcp://engine:2375", version: "1.47"}
	out := e.toService(svc, inspect, svc.ServiceStatus, nil)
	b.Run("http-envelope", func(b *testing.B) {
		for b.Loop() {
			d.Do(&pluginapi.HTTPRequest{Method: "GET", Path: "/v1.47/services/web-00000", Query: map[string][]string{"insertDefaults": {"true"}}})
		}
	})
	env, _ := json.Marshal(&pluginapi.HTTPResponse{Status: 200, Headers: map[string][]string{"Content-Type": {"application/json"}, "Api-Version": {"1.47"}, "Date": {"x"}}, Body: inspect})
	b.Run("envelope-decode", func(b *testing.B) {
		for b.Loop() {
			var r pluginapi.HTTPResponse
			_ = json.Unmarshal(env, &r)
		}
	})
	b.Run("request-encode", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(&pluginapi.HTTPRequest{Method: "GET", Endpoint: "host", Path: "/v1.47/services/web-00000", Query: map[string][]string{"insertDefaults": {"true"}}, TimeoutMS: 30000})
		}
	})
	b.Run("decode-fast", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeService(inspect)
		}
	})
	b.Run("scan-list", func(b *testing.B) {
		for b.Loop() {
			_, _ = scanServices(list)
		}
	})
	b.Run("spec-marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(specFromSwarm(svc.Spec))
		}
	})
	b.Run("decode-service", func(b *testing.B) {
		for b.Loop() {
			var s swarm.Service
			_ = json.Unmarshal(inspect, &s)
		}
	})
	b.Run("decode-list", func(b *testing.B) {
		for b.Loop() {
			var s []swarm.Service
			_ = json.Unmarshal(list, &s)
		}
	})
	b.Run("toService", func(b *testing.B) {
		for b.Loop() {
			e.toService(svc, inspect, svc.ServiceStatus, nil)
		}
	})
	b.Run("marshal-out", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(pluginapi.ServiceResponse{Service: &out})
		}
	})
	b.Run("encode-answer", func(b *testing.B) {
		for b.Loop() {
			_, _ = plugin.EncodeAnswer(&pluginapi.ServiceResponse{Service: &out})
		}
	})
	b.Run("spec-append", func(b *testing.B) {
		for b.Loop() {
			spec := specFromSwarm(svc.Spec)
			_ = appendSpec(nil, &spec)
		}
	})
	getIn, _ := json.Marshal(pluginapi.GetRequest{Request: pluginapi.Request{Config: json.RawMessage(`{"host":"tcp://engine:2375","api_version":"1.47"}`)}, ID: "web-00000"})
	b.Run("request-decode", func(b *testing.B) {
		for b.Loop() {
			var r pluginapi.GetRequest
			_ = json.Unmarshal(getIn, &r)
		}
	})
}

func check(b *testing.B, out []byte) []byte {
	var r pluginapi.Response
	if err := json.Unmarshal(out, &r); err != nil || r.Error != nil {
		b.Fatalf("answer %.300s: %v", out, err)
	}
	return out
}

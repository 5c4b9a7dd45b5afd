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

	"github.com/docker/docker/api/types/swarm"
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

func microEnv(b *testing.B, n int) (context.Context, json.RawMessage) {
	emu := dockeremu.New(dockeremu.Options{StartDelay: time.Millisecond})
	ctx := plugin.WithDoer(context.Background(), inprocDoer{emu})
	cfg := json.RawMessage(`{"host":"tcp://engine:2375","api_version":"1.47"}`)
	for i := range n {
		in, _ := json.Marshal(pluginapi.CreateRequest{Request: pluginapi.Request{Config: cfg},
			Spec: json.RawMessage(fmt.Sprintf(`{"name":"web-%05d","image":"nginx:1.27","replicas":2,"env":{"MODE":"bench"},"labels":{"bench":"x"},"ports":[{"target":80}]}`, i))})
		check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpCreate, in))
	}
	time.Sleep(10 * time.Millisecond)
	return ctx, cfg
}

func BenchmarkMicroGet(b *testing.B) {
	ctx, cfg := microEnv(b, 1)
	in, _ := json.Marshal(pluginapi.GetRequest{Request: pluginapi.Request{Config: cfg}, ID: "web-00000"})
	for b.Loop() {
		check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpGet, in))
	}
}

func BenchmarkMicroList(b *testing.B) {
	ctx, cfg := microEnv(b, 200)
	in, _ := json.Marshal(pluginapi.ListRequest{Request: pluginapi.Request{Config: cfg}, PageSize: 50})
	for b.Loop() {
		check(b, plugin.Dispatch(ctx, provider{}, pluginapi.OpList, in))
	}
}

func BenchmarkMicroPieces(b *testing.B) {
	ctx, _ := microEnv(b, 1)
	d := plugin.HTTP(ctx)
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
}

func check(b *testing.B, out []byte) []byte {
	var r pluginapi.Response
	if err := json.Unmarshal(out, &r); err != nil || r.Error != nil {
		b.Fatalf("answer %.300s: %v", out, err)
	}
	return out
}

package rust

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginkit"
	"github.com/wharfhq/wharf/pluginkit/conformance"
	"github.com/wharfhq/wharf/plugins/examples/rust/emulator"
)

// needRust skips the test without Debian's rustc, or fails it when
// WHARF_REQUIRE_RUST=1 (test.sh sets it after installing rustc).
func needRust(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("WHARF_REQUIRE_RUST") == "1" {
			t.Fatalf("WHARF_REQUIRE_RUST=1 but: %v", err)
		}
		t.Skipf("no Rust toolchain: %v", err)
	}
}

var (
	buildOnce sync.Once
	buildDir  string // removed by TestMain
	built     string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildWasm builds the plugin with Debian's rustc into a temporary folder,
// once per test process.
func buildWasm(t *testing.T) string {
	t.Helper()
	needRust(t)
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "wharf-rust-"); buildErr == nil {
			built = filepath.Join(buildDir, "runq.wasm")
			buildErr = Build(".", built)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// TestConformance builds the Rust plugin, loads it in a real Wharf host
// and runs Wharf's conformance scenario against the runq emulator, as
// `wharf plugin test runq.wasm --config conn.json --spec testdata/conformance.json` does.
func TestConformance(t *testing.T) {
	runConformance(t, buildWasm(t), "runq")
}

// TestGoTwinConformance runs the same scenario on the Go build of the same
// provider (internal/testplugins/runqgo), which benchmark figure 11
// compares with the Rust one: the two must behave alike.
func TestGoTwinConformance(t *testing.T) {
	runConformance(t, pluginkit.Build(t, "./internal/testplugins/runqgo"), "runqgo")
}

func runConformance(t *testing.T, wasm, name string) {
	emu := emulator.New()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	h := pluginkit.StartTestHost(t, pluginkit.HostConfig{Plugins: []string{wasm}})
	conformance.Run(t, h.API, conformance.Platform{
		Plugin:  name,
		Config:  emu.DemoConfig(srv.URL),
		Fixture: conformance.LoadFixture(t, "."),
		Native:  native(srv.URL),
	})
}

// native reaches runq beside Wharf, for the preserve step.
func native(base string) *conformance.Native {
	do := func(t conformance.T, method, path string, body []byte) []byte {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+emulator.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
		}
		return b
	}
	return &conformance.Native{
		Create: func(t conformance.T, _ string, body []byte) string {
			var job struct{ ID string }
			if err := json.Unmarshal(do(t, "POST", "/v1/jobs", body), &job); err != nil {
				t.Fatal(err)
			}
			return job.ID
		},
		Read: func(t conformance.T, id string) []byte { return do(t, "GET", "/v1/jobs/"+id, nil) },
	}
}

// TestWasm drives the built plugin's exports directly, with its HTTP
// sent to the emulator: describe, the errors that name a field, and JSON
// strings that need escaping surviving a round trip through the plugin's
// own reader and writer.
func TestWasm(t *testing.T) {
	w := pluginkit.LoadWasm(t, buildWasm(t))
	d := w.Describe(t)
	if d.Name != "runq" {
		t.Fatalf("describe names %q", d.Name)
	}
	if got := pluginkit.SchemaFields(t, d.ConfigSchema, "x-secret"); len(got) != 1 || got[0] != "token" {
		t.Fatalf("secret fields %v", got)
	}
	emu := emulator.New()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cfg := emu.DemoConfig(srv.URL)
	doer := pluginkit.NewDoer(cfg, []string{"endpoint"}, []string{"token"})
	base := pluginapi.Request{Connection: "t", Config: pluginkit.StripSecrets(t, cfg, []string{"token"})}

	call := func(op string, req any) (*pluginapi.ServiceResponse, *pluginapi.Error) {
		return pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, doer, op, req))
	}
	tricky := "é \"quoted\" back\\slash\nnew line\ttab \u2028 \U0001F600 </script>"
	created, err := call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: base,
		Spec: json.RawMessage(`{"name":"web","image":"nginx:1.27","env":{"TRICKY":` + quote(t, tricky) + `}}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := call(pluginapi.OpGet, pluginapi.GetRequest{Request: base, ID: created.Service.ID})
	if err != nil {
		t.Fatal(err)
	}
	var spec struct{ Env map[string]string }
	if e := json.Unmarshal(got.Service.Spec, &spec); e != nil || spec.Env["TRICKY"] != tricky {
		t.Fatalf("env came back as %q (%v), want %q", spec.Env["TRICKY"], e, tricky)
	}
	if got.Service.Desired == nil || *got.Service.Desired != 1 || got.Service.Version != "1" {
		t.Fatalf("default replicas or version wrong: %+v", got.Service)
	}

	other, err := call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: base, Spec: json.RawMessage(`{"name":"api","image":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, op string
		req      any
		code     pluginapi.Code
		field    string
	}{
		{"replicas not an integer", pluginapi.OpCreate, pluginapi.CreateRequest{Request: base, Spec: json.RawMessage(`{"name":"a","image":"x","replicas":1.5}`)}, pluginapi.CodeInvalid, "/replicas"},
		{"env value not a string", pluginapi.OpCreate, pluginapi.CreateRequest{Request: base, Spec: json.RawMessage(`{"name":"a","image":"x","env":{"a/b":1}}`)}, pluginapi.CodeInvalid, "/env/a~1b"},
		{"unknown setting", pluginapi.OpCreate, pluginapi.CreateRequest{Request: base, Spec: json.RawMessage(`{"name":"a","image":"x","cpu":2}`)}, pluginapi.CodeInvalid, "/cpu"},
		{"name taken", pluginapi.OpCreate, pluginapi.CreateRequest{Request: base, Spec: json.RawMessage(`{"name":"web","image":"x"}`)}, pluginapi.CodeConflict, ""},
		{"unknown id", pluginapi.OpGet, pluginapi.GetRequest{Request: base, ID: "no/such job"}, pluginapi.CodeNotFound, ""},
		{"stale version", pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: base, ID: created.Service.ID, Version: "7", Spec: json.RawMessage(`{"name":"web","image":"x"}`)}, pluginapi.CodeConflict, ""},
		{"rename to a taken name", pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: base, ID: other.Service.ID, Spec: json.RawMessage(`{"name":"web","image":"x"}`)}, pluginapi.CodeConflict, ""},
		{"scale beyond 10", pluginapi.OpLifecycle, pluginapi.LifecycleRequest{Request: base, ID: created.Service.ID, Action: "scale", Params: json.RawMessage(`{"replicas":11}`)}, pluginapi.CodeInvalid, "/params/replicas"},
		{"logs cursor not made by the plugin", pluginapi.OpLogs, pluginapi.LogsRequest{Request: base, ID: created.Service.ID, Cursor: "x"}, pluginapi.CodeInvalid, "/cursor"},
		{"unknown filter", pluginapi.OpList, pluginapi.ListRequest{Request: base, Filters: map[string][]string{"label": {"a=b"}}}, pluginapi.CodeInvalid, "/filters/label"},
		{"page token runq did not make", pluginapi.OpList, pluginapi.ListRequest{Request: base, PageToken: "zz"}, pluginapi.CodeInvalid, "/page_token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := pluginkit.Decode[pluginapi.ServiceResponse](t, w.Call(t, doer, c.op, c.req))
			pluginkit.WantCode(t, err, c.code, c.field)
		})
	}

	// Logs page with the cursor: two lines, then the next ones, none twice.
	time.Sleep(5 * emulator.LogEvery)
	logs := func(cursor string) *pluginapi.LogsResponse {
		t.Helper()
		l, err := pluginkit.Decode[pluginapi.LogsResponse](t, w.Call(t, doer, pluginapi.OpLogs, pluginapi.LogsRequest{Request: base, ID: created.Service.ID, Cursor: cursor, Limit: 2}))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := logs("")
	if len(first.Entries) != 2 || !first.More || first.Cursor != "2" || first.Entries[0].Message != "web: tick 1" || first.Entries[0].Time == nil {
		t.Fatalf("first logs page: %+v", first)
	}
	if next := logs(first.Cursor); len(next.Entries) != 2 || next.Entries[0].Message != "web: tick 3" || next.Cursor != "4" {
		t.Fatalf("second logs page: %+v", next)
	}
	if none := logs("1000000"); len(none.Entries) != 0 || none.Cursor != "1000000" || none.More {
		t.Fatalf("logs past the end: %+v", none)
	}

	// Filters go to runq: only the named job is listed.
	page, perr := pluginkit.Decode[pluginapi.ListResponse](t, w.Call(t, doer, pluginapi.OpList,
		pluginapi.ListRequest{Request: base, Filters: map[string][]string{"name": {"web"}}}))
	if perr != nil || len(page.Services) != 1 || page.Services[0].Name != "web" {
		t.Fatalf("list by name: %+v %v", page, perr)
	}
}

func quote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRustUnit runs the Rust unit tests (src/json.rs) natively with the
// same rustc.
func TestRustUnit(t *testing.T) {
	needRust(t)
	bin := filepath.Join(t.TempDir(), "json-test")
	if b, err := exec.Command(Rustc, "--edition", "2021", "--test", "-D", "warnings", "-o", bin, filepath.Join("src", "json.rs")).CombinedOutput(); err != nil {
		t.Fatalf("rustc --test: %v\n%s", err, b)
	}
	if b, err := exec.Command(bin).CombinedOutput(); err != nil {
		t.Fatalf("rust tests failed: %v\n%s", err, b)
	}
}

// TestBadInput sends the plugin input that no host would: it must answer
// an invalid error, not trap.
func TestBadInput(t *testing.T) {
	wasm := buildWasm(t)
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	p, err := rt.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"truncated":       `{"id": "job-1"`,
		"not UTF-8":       "{\"id\": \"\xff\"}",
		"nested too deep": `{"id": "job-1", "x": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			out, err := p.Call(ctx, pluginapi.OpGet, []byte(in), nil)
			if err != nil {
				t.Fatalf("call failed (trapped?): %v", err)
			}
			_, perr := pluginkit.Decode[pluginapi.ServiceResponse](t, out)
			pluginkit.WantCode(t, perr, pluginapi.CodeInvalid, "")
		})
	}
	// An id that is missing is named.
	out, err := p.Call(ctx, pluginapi.OpGet, []byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, perr := pluginkit.Decode[pluginapi.ServiceResponse](t, out)
	pluginkit.WantCode(t, perr, pluginapi.CodeInvalid, "/id")
}

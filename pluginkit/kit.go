// Package pluginkit is the test kit for provider plugins, Wharf's own
// and third parties' alike: Build compiles a plugin to wasm, LoadWasm runs
// it in the host's real runtime with its HTTP sent through a Doer (an
// emulator or a real endpoint), Call and Decode drive a Provider natively
// through the same Dispatch the wasm exports use, Describe and
// LoadConformance check the describe answer and testdata/conformance.json,
// and StartHost runs a whole host around .wasm files for the conformance
// scenario (package pluginkit/conformance).
package pluginkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/wharfhq/wharf/host/runtime"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginkit/gobuild"
)

// Doer sends requests with plugin.NativeDoer after adding the credentials
// named by HTTPRequest.Auth from Secrets, as the host would, and records
// every request it sent.
type Doer struct {
	Native  plugin.NativeDoer
	Secrets map[string]string

	mu   sync.Mutex
	sent []pluginapi.HTTPRequest
}

// NewDoer returns a Doer for the endpoints and secrets of config, split by
// the secret field names.
func NewDoer(config map[string]any, endpointFields, secretFields []string) *Doer {
	d := &Doer{Native: plugin.NativeDoer{Endpoints: map[string]string{}}, Secrets: map[string]string{}}
	for _, f := range endpointFields {
		if s, ok := config[f].(string); ok {
			d.Native.Endpoints[f] = s
		}
	}
	for _, f := range secretFields {
		if s, ok := config[f].(string); ok {
			d.Secrets[f] = s
		}
	}
	return d
}

// Do implements plugin.Doer.
func (d *Doer) Do(r *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	req := *r
	req.Headers = map[string]string{}
	for k, v := range r.Headers {
		req.Headers[k] = v
	}
	if a := r.Auth; a != nil {
		secret := d.Secrets[a.Secret]
		switch a.Scheme {
		case pluginapi.AuthBearer:
			req.Headers["Authorization"] = "Bearer " + secret
		case pluginapi.AuthBasic:
			req.Headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+secret))
		case pluginapi.AuthHeader:
			req.Headers[a.Header] = a.Prefix + secret
		default:
			return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "test doer: auth scheme %q", a.Scheme)}
		}
	}
	if req.Endpoint != "" {
		if _, ok := d.Native.Endpoints[req.Endpoint]; !ok {
			return &pluginapi.HTTPResponse{Error: pluginapi.Invalid("/endpoint", "no endpoint %q in the config", req.Endpoint)}
		}
	}
	d.mu.Lock()
	d.sent = append(d.sent, req)
	d.mu.Unlock()
	return d.Native.Do(&req)
}

// Sent returns the requests sent so far (with credentials added).
func (d *Doer) Sent() []pluginapi.HTTPRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sent)
}

// Reset forgets the recorded requests.
func (d *Doer) Reset() {
	d.mu.Lock()
	d.sent = nil
	d.mu.Unlock()
}

// StripSecrets returns config without the secret fields, as JSON.
func StripSecrets(t testing.TB, config map[string]any, secretFields []string) json.RawMessage {
	t.Helper()
	c := map[string]any{}
	for k, v := range config {
		if !slices.Contains(secretFields, k) {
			c[k] = v
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Call runs op of p through plugin.Dispatch, as the wasm export would, and
// decodes the answer into Resp; the error is the answer's structured error.
func Call[Resp any](t testing.TB, ctx context.Context, p plugin.Provider, op string, req any) (*Resp, *pluginapi.Error) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return Decode[Resp](t, plugin.Dispatch(ctx, p, op, in))
}

// Decode reads an operation's JSON answer.
func Decode[Resp any](t testing.TB, out []byte) (*Resp, *pluginapi.Error) {
	t.Helper()
	var e pluginapi.Response
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, out)
	}
	if e.Error != nil {
		return nil, e.Error
	}
	resp := new(Resp)
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("decode answer: %v: %s", err, out)
	}
	return resp, nil
}

// Wasm is a plugin built to wasm and loaded by the host's runtime, its
// wharf_http requests forwarded to a Doer.
type Wasm struct {
	plugin *runtime.Plugin
}

// Build compiles the plugin's main package pkg to wasm, once per test
// process, and returns the file: "." for a module that is one plugin, or
// a path from the module root such as "./plugins/peak".
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return gobuild.Build(t, pkg)
}

// LoadWasm loads a .wasm file in the host's runtime; BuildAndLoad builds
// a package first.
func LoadWasm(t testing.TB, path string) *Wasm {
	t.Helper()
	ctx := context.Background()
	r, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(ctx) })
	p, err := r.Load(ctx, path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return &Wasm{plugin: p}
}

// BuildAndLoad builds pkg (see Build) and loads it.
func BuildAndLoad(t testing.TB, pkg string) *Wasm {
	t.Helper()
	return LoadWasm(t, Build(t, pkg))
}

// doerHandler lets a Doer serve a plugin's wharf_http.
type doerHandler struct{ d plugin.Doer }

func (h doerHandler) Do(_ context.Context, req *pluginapi.HTTPRequest) *pluginapi.HTTPResponse {
	if h.d == nil {
		return &pluginapi.HTTPResponse{Error: pluginapi.Errorf(pluginapi.CodeInternal, "no doer")}
	}
	return h.d.Do(req)
}

// Call runs an export with the JSON of req, sending HTTP through d.
func (w *Wasm) Call(t testing.TB, d plugin.Doer, op string, req any) []byte {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.plugin.Call(context.Background(), op, in, doerHandler{d})
	if err != nil {
		t.Fatalf("wasm call %s: %v", op, err)
	}
	return out
}

// Describe calls the wasm describe export and checks the answer: ABI
// version, schemas that compile, secret and endpoint fields as expected,
// operations including every required one's presence rules.
func (w *Wasm) Describe(t testing.TB) pluginapi.DescribeResponse {
	t.Helper()
	var d pluginapi.DescribeResponse
	if err := json.Unmarshal(w.Call(t, nil, pluginapi.OpDescribe, struct{}{}), &d); err != nil {
		t.Fatal(err)
	}
	if err := pluginapi.CheckABIVersion(d.ABIVersion); err != nil {
		t.Fatal(err)
	}
	if err := pluginapi.CheckHostVersion(d.MinHostVersion); err != nil {
		t.Fatal(err)
	}
	CompileSchema(t, d.ConfigSchema)
	CompileSchema(t, d.SpecSchema)
	return d
}

// CompileSchema compiles a JSON Schema, failing the test when it is not one.
func CompileSchema(t testing.TB, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return s
}

// SchemaFields returns the top-level properties of a schema carrying the
// boolean keyword (x-secret, x-endpoint).
func SchemaFields(t testing.TB, raw json.RawMessage, keyword string) []string {
	t.Helper()
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, p := range s.Properties {
		if b, _ := p[keyword].(bool); b {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ValidationLocations validates doc against schema and returns the JSON
// pointers of the failing instance locations (nil when valid).
func ValidationLocations(t testing.TB, schema *jsonschema.Schema, doc json.RawMessage) []string {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	err = schema.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		t.Fatal(err)
	}
	var locs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			locs = append(locs, "/"+strings.Join(e.InstanceLocation, "/"))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return locs
}

// Conformance is testdata/conformance.json.
type Conformance struct {
	CreateSpec     json.RawMessage `json:"create_spec"`
	UpdateSpec     json.RawMessage `json:"update_spec"`
	InvalidSpec    json.RawMessage `json:"invalid_spec"`
	InvalidField   string          `json:"invalid_field"`
	BadCredentials map[string]any  `json:"bad_credentials"`
	// Preserve is the conformance scenario's "update keeps what the plugin
	// does not model" case (conformance.Preserve).
	Preserve json.RawMessage `json:"preserve,omitempty"`
}

// LoadConformance reads testdata/conformance.json and checks it against
// the spec schema: the create and update specs valid and different, the
// invalid spec failing at invalid_field.
func LoadConformance(t testing.TB, specSchema json.RawMessage) Conformance {
	t.Helper()
	b, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var c Conformance
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("conformance.json: %v", err)
	}
	s := CompileSchema(t, specSchema)
	if locs := ValidationLocations(t, s, c.CreateSpec); locs != nil {
		t.Errorf("create_spec is invalid at %v", locs)
	}
	if locs := ValidationLocations(t, s, c.UpdateSpec); locs != nil {
		t.Errorf("update_spec is invalid at %v", locs)
	}
	if bytes.Equal(c.CreateSpec, c.UpdateSpec) {
		t.Error("update_spec must differ from create_spec")
	}
	if locs := ValidationLocations(t, s, c.InvalidSpec); !slices.Contains(locs, c.InvalidField) {
		t.Errorf("invalid_spec fails at %v, want %s", locs, c.InvalidField)
	}
	if len(c.BadCredentials) == 0 {
		t.Error("bad_credentials is empty")
	}
	return c
}

// Clock is a settable clock for emulators and plugins under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// WantCode fails the test unless err has the code and field.
func WantCode(t testing.TB, err *pluginapi.Error, code pluginapi.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if err.Code != code || err.Field != field {
		t.Fatalf("error %+v, want code %s field %q", err, code, field)
	}
}

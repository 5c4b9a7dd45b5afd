package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// Fixture is a plugin's testdata/conformance.json.
type Fixture struct {
	CreateSpec     map[string]any `json:"create_spec"`
	UpdateSpec     map[string]any `json:"update_spec"`
	InvalidSpec    map[string]any `json:"invalid_spec"`
	InvalidField   string         `json:"invalid_field"`
	BadCredentials map[string]any `json:"bad_credentials"`
	// Preserve is the "update keeps what the plugin does not model" case.
	Preserve *Preserve `json:"preserve,omitempty"`
	Comment  string    `json:"_comment,omitempty"`
}

// LoadFixture reads <pluginDir>/testdata/conformance.json.
func LoadFixture(t T, pluginDir string) Fixture {
	t.Helper()
	f, err := ReadFixture(filepath.Join(pluginDir, "testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ReadFixture reads a fixture file, refusing unknown members by name.
func ReadFixture(path string) (Fixture, error) {
	var f Fixture
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s: %v", path, err)
	}
	if f.CreateSpec != nil && f.UpdateSpec == nil {
		return f, fmt.Errorf("%s: update_spec is missing (create_spec is given)", path)
	}
	return f, nil
}

// Platform is one provider under test.
type Platform struct {
	Plugin  string         // the plugin's name
	Config  map[string]any // a working connection config
	Fixture Fixture
	// Settle bounds the wait for a status to settle (default 30s).
	Settle time.Duration
	// PageServices is how many services the paging case creates (default 5).
	PageServices int
	// Native reaches the platform beside Wharf, for the preserve case.
	Native *Native
}

// Run runs the whole scenario against the host behind c as subtests of t,
// one per step, named after it. A failed step that later steps build on
// (required) ends the scenario there. RunSteps runs the same steps
// outside go test.
func Run(t *testing.T, c *Client, p Platform) {
	s := newScenario(t, c, p)
	for _, st := range scenarioSteps {
		if !t.Run(st.name, func(t *testing.T) {
			if skip := s.skip(st); skip != "" {
				t.Skip(skip)
			}
			st.run(s, t)
		}) && st.required {
			t.Fatalf("step %q failed and the steps after it need it", st.name)
		}
	}
}

func newScenario(top T, c *Client, p Platform) *scenario {
	if p.Settle == 0 {
		p.Settle = 30 * time.Second
	}
	if p.PageServices == 0 {
		p.PageServices = 5
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	s := &scenario{top: top, c: c, p: p, suffix: suffix,
		conn: "conf-" + p.Plugin + "-" + suffix, name: "wharf-conf-" + suffix}
	s.nameKey = nameField(p.Fixture.CreateSpec)
	s.spec = withName(p.Fixture.CreateSpec, s.nameKey, s.name)
	return s
}

// skip says why a step cannot run, or "".
func (s *scenario) skip(st step) string {
	if st.spec && s.p.Fixture.CreateSpec == nil {
		return "no spec fixture (create_spec) was given"
	}
	return ""
}

// endpointFields lists the config properties marked "x-endpoint".
func endpointFields(t T, schema json.RawMessage) []string {
	var s struct {
		Properties map[string]struct {
			Endpoint bool `json:"x-endpoint"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	var out []string
	for name, p := range s.Properties {
		if p.Endpoint {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		t.Fatal("the plugin declares no x-endpoint config property")
	}
	return out
}

func codeIn(c pluginapi.Code, codes []pluginapi.Code) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

func closedPort(t T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangingServer accepts connections and never answers.
func hangingServer(t T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

func get(t T, c *Client, conn, id string) pluginapi.Service {
	t.Helper()
	var s pluginapi.Service
	c.Do(t, "GET", svcPath(conn, id), nil).OK(t, "get", &s)
	return s
}

// listAll walks every page of a connection's services and returns their ids.
func listAll(t T, c *Client, conn string, pageSize int) ([]string, error) {
	var ids []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return nil, errorf("more than 1000 pages: the page token does not advance")
		}
		q := "?page_token=" + urlQuery(token)
		if pageSize > 0 {
			q += fmt.Sprintf("&page_size=%d", pageSize)
		}
		var page ops.ServicePage
		r := c.Do(t, "GET", "/connections/"+conn+"/services"+q, nil)
		if r.Err != nil {
			return nil, r.Err
		}
		r.OK(t, "list", &page)
		if pageSize > 0 && len(page.Services) > pageSize {
			t.Fatalf("page of %d services with page_size %d", len(page.Services), pageSize)
		}
		for _, s := range page.Services {
			ids = append(ids, s.ID)
		}
		if page.NextPageToken == "" {
			return ids, nil
		}
		token = page.NextPageToken
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nameField is the spec property holding the service's name.
func nameField(spec map[string]any) string {
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range []string{"name", "service_name", "serviceName"} {
		if _, ok := spec[k]; ok {
			return k
		}
	}
	return ""
}

func withName(spec map[string]any, key, name string) map[string]any {
	out := make(map[string]any, len(spec))
	for k, v := range spec {
		out[k] = v
	}
	if key != "" {
		out[key] = name
	}
	return out
}

// specReflects checks that every top-level property the update changed shows
// its new value in the service's spec, where the plugin reports that property.
func specReflects(got json.RawMessage, create, update map[string]any) error {
	var spec map[string]any
	if len(got) == 0 {
		return nil
	}
	if err := json.Unmarshal(got, &spec); err != nil {
		return errorf("service spec: %v", err)
	}
	for k, v := range update {
		if reflect.DeepEqual(create[k], v) {
			continue
		}
		have, ok := spec[k]
		if !ok {
			continue
		}
		if !sameJSON(have, v) {
			return errorf("spec %s is %v, want %v", k, have, v)
		}
	}
	return nil
}

// sameJSON compares after a JSON round trip so that 2 and 2.0 agree, and
// accepts a superset for objects (platforms add defaults).
func sameJSON(have, want any) bool {
	hb, _ := json.Marshal(have)
	wb, _ := json.Marshal(want)
	var h, w any
	_ = json.Unmarshal(hb, &h)
	_ = json.Unmarshal(wb, &w)
	hm, hok := h.(map[string]any)
	wm, wok := w.(map[string]any)
	if hok && wok {
		for k, v := range wm {
			if !sameJSON(hm[k], v) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(h, w)
}

func entryKey(e pluginapi.LogEntry) string {
	ts := ""
	if e.Time != nil {
		ts = e.Time.Format(time.RFC3339Nano)
	}
	return ts + "|" + e.Instance + "|" + e.Stream + "|" + e.Message
}

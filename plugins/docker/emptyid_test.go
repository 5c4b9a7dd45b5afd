package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// noIDEngine is the emulator with every service answer stripped of its
// "ID" (an odd engine, a proxy in between): it records the requests.
type noIDEngine struct {
	emu   http.Handler
	mu    sync.Mutex
	calls []string
}

var servicePathRE = regexp.MustCompile(`^/v[0-9.]+/services/[^/]+$`)

func (n *noIDEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	n.calls = append(n.calls, r.Method+" "+r.URL.Path)
	n.mu.Unlock()
	rec := httptest.NewRecorder()
	n.emu.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if r.Method == "GET" && servicePathRE.MatchString(r.URL.Path) || r.URL.Path == "/services/create" || strings.HasSuffix(r.URL.Path, "/services/create") {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			delete(m, "ID")
			body, _ = json.Marshal(m)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// TestNoEmptyServiceID: when the engine's answers lack an ID, the plugin
// answers an error naming the problem and never sends a request to
// /services/ with an empty id (DELETE /services/ removes nothing today, but
// a path the plugin did not mean is never sent).
func TestNoEmptyServiceID(t *testing.T) {
	emu := dockeremu.New(dockeremu.Options{StartDelay: time.Millisecond})
	eng := &noIDEngine{emu: emu}
	srv := httptest.NewServer(eng)
	t.Cleanup(srv.Close)
	cfg, _ := json.Marshal(emu.DemoConfig(srv.URL))
	h := &harness{t: t, cfg: cfg, emu: emu, doer: newHostDoer(t, srv.URL)}
	h.ctx = plugin.WithDoer(t.Context(), h.doer)

	var created pluginapi.ServiceResponse
	err := h.call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(`{"name":"web","image":"nginx:1"}`)}, &created)
	wantCode(t, err, pluginapi.CodeInternal, "without an ID")
	ids := emu.ServiceIDs()
	if len(ids) != 1 {
		t.Fatalf("emulator has %d services", len(ids))
	}
	id := ids[0]
	for _, op := range []struct {
		name string
		req  any
	}{
		{pluginapi.OpDelete, pluginapi.DeleteRequest{Request: h.req(), ID: id}},
		{pluginapi.OpDelete, pluginapi.DeleteRequest{Request: h.req(), ID: "web"}},
		{pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: id, Spec: json.RawMessage(`{"name":"web","image":"nginx:2"}`)}},
		{pluginapi.OpLifecycle, pluginapi.LifecycleRequest{Request: h.req(), ID: id, Action: "restart"}},
		{pluginapi.OpGet, pluginapi.GetRequest{Request: h.req(), ID: id}},
	} {
		wantCode(t, h.call(op.name, op.req, nil), pluginapi.CodeInternal, "without an ID")
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	for _, c := range eng.calls {
		if strings.HasSuffix(c, "/services/") || strings.Contains(c, "/services//") {
			t.Errorf("the plugin sent %s", c)
		}
		if strings.HasPrefix(c, "DELETE") || strings.HasSuffix(c, "/update") {
			t.Errorf("the plugin changed a service it could not identify: %s", c)
		}
	}
	if _, ok := emu.Service(id); !ok {
		t.Error("the service is gone")
	}
}

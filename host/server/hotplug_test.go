package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/host/plugindir"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
)

// hotPlugHost is a host whose plugins folder holds the docker plugin, with
// a connection "swarm" to a Docker emulator and one service on it.
type hotPlugHost struct {
	*host
	dir, svc string
}

const (
	ownerSecret  = "hotplug-owner-token-0123456789abcdef"
	adminSecret  = "hotplug-admin-token-0123456789abcdef"
	hotPlugLimit = 8 // MiB a test host takes as an upload
)

func newHotPlugHost(t *testing.T) *hotPlugHost {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, wasmbuild.Build(t, "./plugins/docker"), filepath.Join(dir, "docker.wasm"))
	emu := dockeremu.New(dockeremu.Options{})
	plat := httptest.NewServer(emu)
	t.Cleanup(plat.Close)
	conf, err := json.Marshal(emu.DemoConfig(plat.URL))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg := server.Config{
		DataDir:      t.TempDir(),
		PluginsDir:   dir,
		WatchPlugins: true,
		PluginsWatch: plugindir.Config{Debounce: 50 * time.Millisecond, Interval: -1},
		Connections:  []connstore.Connection{{Name: "swarm", Plugin: "docker", Config: conf}},
		Tokens: []ops.Token{{Name: "owner", SHA256: ops.HashToken(ownerSecret), Role: ops.RoleOwner},
			{Name: "admin", SHA256: ops.HashToken(adminSecret), Role: ops.RoleAdmin}},
		Logger: logger,
		Faces:  []server.Face{api.Face(api.Options{Logger: logger, PluginUploadMiB: hotPlugLimit})},
	}
	cfg.Runtime.CacheDir = opstest.CacheDir()
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.LoadErrors) > 0 {
		t.Fatal(s.LoadErrors)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); _ = s.Close(context.Background()) })
	h := &hotPlugHost{host: &host{t: t, srv: s, url: hs.URL}, dir: dir}
	a := h.do("POST", "/api/v1/connections/swarm/services", `{"name":"web","image":"nginx:1.27","replicas":1}`, append(h.owner(), "Content-Type", "application/json")...)
	if a.status != http.StatusCreated {
		t.Fatalf("create service: %d %s", a.status, a.body)
	}
	h.svc = serviceID(t, a.body)
	return h
}

func (h *hotPlugHost) owner() []string { return []string{"Authorization", "Bearer " + ownerSecret} }

// getService is one GET of the service: its status and body.
func (h *hotPlugHost) getService() answer {
	return h.do("GET", "/api/v1/connections/swarm/services/"+h.svc, "", h.owner()...)
}

// pluginVersion is the docker plugin's version the host serves, "" if none.
func (h *hotPlugHost) pluginVersion() string {
	a := h.do("GET", "/api/v1/plugins/docker", "", h.owner()...)
	if a.status != http.StatusOK {
		return ""
	}
	var p ops.PluginInfo
	if err := json.Unmarshal([]byte(a.body), &p); err != nil {
		h.t.Fatal(err)
	}
	return p.Version
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dockerBuild builds the docker plugin with another version string: a new
// build of the same plugin, as its author would ship it.
var dockerBuilds sync.Map

func dockerBuild(t *testing.T, version string) string {
	t.Helper()
	if p, ok := dockerBuilds.Load(version); ok {
		return p.(string)
	}
	out := filepath.Join(t.TempDir(), "docker-"+version+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-s -w -X main.version="+version, "-o", out, "./plugins/docker")
	cmd.Dir = wasmbuild.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build docker %s: %v\n%s", version, err, b)
	}
	keep := filepath.Join(os.TempDir(), fmt.Sprintf("wharf-hotplug-docker-%s-%d.wasm", version, os.Getpid()))
	copyFile(t, out, keep)
	dockerBuilds.Store(version, keep)
	return keep
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// putInPlace writes b to path the way deploy tools do: a hidden temporary
// file renamed over the old one.
func putInPlace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A new build of the docker plugin dropped into the folder while gets
// run without pause: not one get fails, and the new version then serves.
func TestHotPlugReplacesDockerUnderLoad(t *testing.T) {
	v2 := dockerBuild(t, "1.0.1-hotplug")
	h := newHotPlugHost(t)
	if v := h.pluginVersion(); v != "1.0.0" {
		t.Fatalf("docker plugin version %q before the swap", v)
	}

	var stop atomic.Bool
	var ok, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				a := h.getService()
				if a.status == http.StatusOK {
					ok.Add(1)
					continue
				}
				failed.Add(1)
				firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", a.status, a.body))
			}
		})
	}
	waitFor(t, "gets to flow", func() bool { return ok.Load() > 50 })
	b, err := os.ReadFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	putInPlace(t, filepath.Join(h.dir, "docker.wasm"), b)
	waitFor(t, "the new version to serve", func() bool { return h.pluginVersion() == "1.0.1-hotplug" })
	after := ok.Load()
	waitFor(t, "gets on the new version", func() bool { return ok.Load() > after+50 })
	stop.Store(true)
	wg.Wait()

	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d gets failed during the swap; first: %v", n, n+ok.Load(), firstFailure.Load())
	}
	t.Logf("%d gets, none failed; %d after the swap", ok.Load(), ok.Load()-after)

	// Audited: who (the folder), old and new versions and digests.
	entries := h.auditEntries("plugin.replace")
	if len(entries) != 1 {
		t.Fatalf("%d plugin.replace entries, want 1", len(entries))
	}
	e := entries[0]
	var req ops.PluginChange
	if err := json.Unmarshal(e.Request, &req); err != nil {
		t.Fatal(err)
	}
	if e.Actor != server.PluginsFolderActor || e.Target != "docker" || req.OldVersion != "1.0.0" || req.NewVersion != "1.0.1-hotplug" ||
		req.OldDigest == "" || req.NewDigest == "" || req.OldDigest == req.NewDigest || e.ErrorCode != "" {
		t.Fatalf("audit entry %+v, request %+v", e, req)
	}
}

func (h *hotPlugHost) auditEntries(op string) []audit.Entry {
	h.t.Helper()
	a := h.do("GET", "/api/v1/audit?operation="+op, "", h.owner()...)
	if a.status != http.StatusOK {
		h.t.Fatalf("audit query: %d %s", a.status, a.body)
	}
	var out struct {
		Entries []audit.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		h.t.Fatal(err)
	}
	return out.Entries
}

// A broken file leaves the previous version serving and says why; a
// removed file unloads the plugin (its connection shows "plugin missing");
// the file back brings the connection back.
func TestHotPlugBrokenRemovedAndBack(t *testing.T) {
	h := newHotPlugHost(t)
	path := filepath.Join(h.dir, "docker.wasm")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	putInPlace(t, path, []byte("\x00asm\x01\x00\x00\x00 not really"))
	var problems []ops.PluginProblem
	waitFor(t, "the broken file's problem", func() bool {
		a := h.do("GET", "/api/v1/plugins", "", h.owner()...)
		var out struct {
			Problems []ops.PluginProblem `json:"problems"`
		}
		_ = json.Unmarshal([]byte(a.body), &out)
		problems = out.Problems
		return len(problems) > 0
	})
	if problems[0].File != path || problems[0].Plugin != "docker" || problems[0].Error == "" {
		t.Fatalf("problems %+v", problems)
	}
	if v := h.pluginVersion(); v != "1.0.0" {
		t.Fatalf("after a broken file the version is %q, want the previous 1.0.0", v)
	}
	var info ops.PluginInfo
	_ = json.Unmarshal([]byte(h.do("GET", "/api/v1/plugins/docker", "", h.owner()...).body), &info)
	if info.Problem == nil || info.Problem.File != path {
		t.Fatalf("plugin docker shows problem %+v", info.Problem)
	}
	if a := h.getService(); a.status != http.StatusOK {
		t.Fatalf("get with a broken file in the folder: %d %s", a.status, a.body)
	}
	if fails := h.auditEntries("plugin.replace"); len(fails) != 1 || fails[0].ErrorCode == "" {
		t.Fatalf("the failed replacement is audited as %+v", fails)
	}
	if n, err := h.scrape(h.owner()...).Value("wharf_plugin_load_failures_total", "plugin", "docker"); err != nil || n != 1 {
		t.Fatalf("wharf_plugin_load_failures_total{plugin=docker} = %v (%v), want 1", n, err)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plugin to be unloaded", func() bool { return h.pluginVersion() == "" })
	a := h.getService()
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "plugin missing") {
		t.Fatalf("get with the plugin removed: %d %s", a.status, a.body)
	}
	var conn ops.Connection
	_ = json.Unmarshal([]byte(h.do("GET", "/api/v1/connections/swarm", "", h.owner()...).body), &conn)
	if !conn.PluginMissing {
		t.Fatalf("connection view %+v does not say plugin missing", conn)
	}
	if rm := h.auditEntries("plugin.remove"); len(rm) != 1 || rm[0].Target != "docker" || rm[0].ErrorCode != "" {
		t.Fatalf("removal audited as %+v", rm)
	}

	putInPlace(t, path, good)
	waitFor(t, "the plugin to be back", func() bool { return h.getService().status == http.StatusOK })
	if inst := h.auditEntries("plugin.install"); len(inst) != 1 || inst[0].ErrorCode != "" {
		t.Fatalf("the re-install is audited as %+v", inst)
	}
}

// Uploads: owners only, bounded, checked before the folder is touched.
func TestPluginUpload(t *testing.T) {
	v2 := dockerBuild(t, "1.0.2-upload")
	h := newHotPlugHost(t)
	path := filepath.Join(h.dir, "docker.wasm")
	before, _ := os.ReadFile(path)
	wasm, err := os.ReadFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	upload := func(body []byte, headers ...string) answer {
		req, _ := http.NewRequest("POST", h.url+"/api/v1/plugins", bytes.NewReader(body))
		req.Header.Set("Content-Type", api.MIMEWasm)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}

	// An admin is not an owner: refused, audited, nothing written.
	if a := upload(wasm, "Authorization", "Bearer "+adminSecret); a.status != http.StatusForbidden {
		t.Fatalf("admin upload: %d %s", a.status, a.body)
	}
	// Larger than the host's cap: 413 before anything is read into memory.
	if a := upload(make([]byte, (hotPlugLimit+1)<<20), h.owner()...); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized upload: %d %s", a.status, a.body)
	}
	// Not a plugin: 400, the version serving and its file untouched.
	a := upload([]byte("\x00asm\x01\x00\x00\x00junk"), h.owner()...)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "not installed") {
		t.Fatalf("junk upload: %d %s", a.status, a.body)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, before) || h.pluginVersion() != "1.0.0" {
		t.Fatal("a refused upload changed the plugins folder or the plugin")
	}
	// A form cannot send it: the body type is the module's.
	req, _ := http.NewRequest("POST", h.url+"/api/v1/plugins", strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+ownerSecret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form upload: %v %v", resp.StatusCode, err)
	}

	// The owner's new version replaces the file and serves at once.
	a = upload(wasm, h.owner()...)
	if a.status != http.StatusOK {
		t.Fatalf("owner upload: %d %s", a.status, a.body)
	}
	var ch ops.PluginChange
	if err := json.Unmarshal([]byte(a.body), &ch); err != nil {
		t.Fatal(err)
	}
	if ch.Change != "replaced" || ch.Plugin != "docker" || ch.OldVersion != "1.0.0" || ch.NewVersion != "1.0.2-upload" || ch.File != path {
		t.Fatalf("upload answered %+v", ch)
	}
	if v := h.pluginVersion(); v != "1.0.2-upload" {
		t.Fatalf("after the upload the version is %q", v)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, wasm) {
		t.Fatal("the plugins folder does not hold the uploaded module")
	}
	if a := h.getService(); a.status != http.StatusOK {
		t.Fatalf("get after the upload: %d %s", a.status, a.body)
	}
	entries := h.auditEntries("plugin.replace")
	if len(entries) != 1 || entries[0].Actor != "owner" || entries[0].ErrorCode != "" {
		t.Fatalf("the upload is audited as %+v", entries)
	}
	refused := h.auditEntries("plugin.install")
	var byAdmin, junk bool
	for _, e := range refused {
		byAdmin = byAdmin || (e.Actor == "admin" && e.ErrorCode == "forbidden")
		junk = junk || (e.Actor == "owner" && e.ErrorCode == "invalid")
	}
	if !byAdmin || !junk {
		t.Fatalf("refused uploads audited as %+v", refused)
	}
	// The watcher saw the upload's files too, and changed nothing more.
	time.Sleep(300 * time.Millisecond)
	if n := len(h.auditEntries("plugin.replace")); n != 1 {
		t.Fatalf("%d plugin.replace entries after the watcher looked, want 1", n)
	}
}

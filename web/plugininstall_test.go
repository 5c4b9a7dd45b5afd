package web

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/internal/wasmbuild"
	"github.com/wharfhq/wharf/web/internal/webtest"
)

// The plugins page's upload form installs a new version of the docker
// plugin; without the form's CSRF token nothing is read or changed.
func TestPortalInstallsPlugin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "docker.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-s -w -X main.version=9.9.9-portal", "-o", out, "./plugins/docker")
	cmd.Dir = wasmbuild.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := webtest.New(t, webtest.Options{PluginsDir: true, Faces: []server.Face{Face(Options{PluginUploadMiB: 32})}})
	c := webtest.NewClient(t, env.URL)
	page := c.Get("/plugins")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="install-plugin"`) {
		t.Fatalf("plugins page: %d, install form shown: %v", page.Status, strings.Contains(page.Body, "install-plugin"))
	}

	// A forged token: refused before any file is read.
	forged := c.PostMultipart("/plugins/install", webtest.Part{Name: "_csrf", Body: []byte("forged")},
		webtest.Part{Name: "plugin", File: "docker.wasm", Body: wasm})
	if forged.Status != http.StatusForbidden {
		t.Fatalf("forged token: %d", forged.Status)
	}
	// Junk: the facade's clear error, the folder untouched.
	before, _ := os.ReadFile(filepath.Join(env.PluginsDir, "docker.wasm"))
	junk := c.PostMultipart("/plugins/install", webtest.Part{Name: "plugin", File: "docker.wasm", Body: []byte("\x00asm junk")})
	if junk.Status != http.StatusBadRequest || !strings.Contains(junk.Body, "not installed") {
		t.Fatalf("junk upload: %d", junk.Status)
	}
	if now, _ := os.ReadFile(filepath.Join(env.PluginsDir, "docker.wasm")); string(now) != string(before) {
		t.Fatal("a refused upload changed the plugins folder")
	}

	c.Get("/plugins") // a fresh token
	res := c.PostMultipart("/plugins/install", webtest.Part{Name: "plugin", File: "docker.wasm", Body: wasm})
	if res.Status != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/plugins/docker") {
		t.Fatalf("upload: %d %s", res.Status, res.Header.Get("Location"))
	}
	detail := c.Follow(res)
	if !strings.Contains(detail.Body, "9.9.9-portal") || !strings.Contains(detail.Body, "docker replaced") {
		t.Fatalf("the plugin page after the upload does not show the new version and the message:\n%s", detail.Body)
	}
	if now, _ := os.ReadFile(filepath.Join(env.PluginsDir, "docker.wasm")); string(now) != string(wasm) {
		t.Fatal("the plugins folder does not hold the upload")
	}
}

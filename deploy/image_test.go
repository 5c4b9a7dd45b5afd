package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/demo"
)

// readyPath is the probe a load balancer or orchestrator uses.
const readyPath = "/readyz"

// servedName is the Host name the container is told to answer to.
const servedName = "wharf.test"

// TestImageRunsAsSwarmService builds the image with build-image.sh, checks
// that its defaults alone are refused (open mode on every address), and
// runs it as a service of the local swarm, configured by environment and a
// docker config, managing that same swarm through the mounted socket: it
// becomes ready on its published port under the name it was given (and
// refuses others), has every plugin loaded, and its API lists its own
// service.
func TestImageRunsAsSwarmService(t *testing.T) {
	requireSwarm(t)
	suffix := randomHex(t, 4)
	name := "wharf-image-test-" + suffix
	tag := "wharf-image-test:" + suffix
	r := &resources{t: t, service: name}
	t.Cleanup(r.remove)

	if out, err := run(10*time.Minute, nil, "./build-image.sh", tag); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	r.image = tag

	// The image's settings come from its environment, and alone they are
	// refused: listening on every address without tokens is open mode.
	out, err := run(time.Minute, nil, "docker", "run", "--rm", "--network", "none", tag, "--check-config")
	if err == nil || !strings.Contains(string(out), "WHARF_LISTEN 0.0.0.0:8080") || !strings.Contains(string(out), "no API tokens") {
		t.Errorf("--check-config with the image's defaults: %v, want open mode on 0.0.0.0:8080 refused\n%s", err, out)
	}

	// A viewer token: a network listener refuses open mode, and listing
	// needs no more.
	token := randomHex(t, 24)
	sum := sha256.Sum256([]byte(token))
	config, err := json.Marshal(map[string]any{
		"tokens": []map[string]string{{"name": "image-test", "sha256": hex.EncodeToString(sum[:]), "role": "viewer"}},
		"connections": []map[string]any{{"name": "local", "plugin": "docker",
			"config": map[string]string{"host": "unix://" + demo.DockerSocket}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	docker(t, config, "config", "create", name, "-")
	r.config = name

	// Host-mode publishing on an overlay network: the port is forwarded by
	// docker-proxy, which works on an engine started without iptables or
	// the default bridge (scripts/docker-engine.sh), where the ingress
	// routing mesh and the bridge network do not.
	docker(t, nil, "network", "create", "--driver", "overlay", name)
	r.network = name

	port := freePort(t)
	st, err := os.Stat(demo.DockerSocket)
	if err != nil {
		t.Fatal(err)
	}
	group := strconv.FormatUint(uint64(st.Sys().(*syscall.Stat_t).Gid), 10)
	r.volume = name + "-data"
	docker(t, nil, "service", "create", "--detach", "--quiet",
		"--name", name,
		"--network", name,
		"--publish", fmt.Sprintf("published=%d,target=8080,mode=host", port),
		"--group", group,
		"--mount", "type=bind,src="+demo.DockerSocket+",dst=/var/run/docker.sock",
		"--mount", "type=volume,src="+r.volume+",dst=/var/lib/wharf",
		"--config", "source="+name+",target=/etc/wharf/wharf.json,mode=0444",
		"--env", "WHARF_CONFIG=/etc/wharf/wharf.json",
		"--env", "WHARF_ALLOWED_HOST="+servedName,
		// wharf's own shutdown bound, twice, and some.
		"--stop-grace-period", "40s",
		// A crash shows as a failed task, not as a restart loop.
		"--restart-condition", "none",
		tag)

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	// Generous: the first list starts a plugin instance in the container,
	// which on a busy 2-core machine took over 5 s once.
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body, err := get(client, base+readyPath, servedName, "")
		if err == nil && code == http.StatusOK {
			var h struct{ Status string }
			if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
				t.Fatalf("GET %s: 200 with %s", readyPath, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: not 200 within 2 minutes (last: %d, %v, %s)\n%s", readyPath, code, err, body, r.diagnostics())
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The name it was not given is refused, against DNS rebinding.
	if code, body, err := get(client, base+"/api/v1/plugins", "rebind.example", token); err != nil || code != http.StatusMisdirectedRequest {
		t.Errorf("Host rebind.example: got %d %v %s, want 421", code, err, body)
	}
	// Every plugin of the repository is in the image and loaded.
	code, body, err := get(client, base+"/api/v1/plugins", servedName, token)
	if err != nil || code != http.StatusOK {
		t.Fatalf("list plugins: got %d %v %s", code, err, body)
	}
	var plugins struct{ Plugins []struct{ Name string } }
	if err := json.Unmarshal(body, &plugins); err != nil {
		t.Fatalf("list plugins: %v\n%s", err, body)
	}
	var names []string
	for _, p := range plugins.Plugins {
		names = append(names, p.Name)
	}
	if got, want := sortedJoin(names), sortedJoin(repoPlugins(t)); got != want {
		t.Errorf("plugins loaded in the image: %s, want %s", got, want)
	}

	list := base + "/api/v1/connections/local/services?name=" + name
	if code, body, err := get(client, list, servedName, ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("list without a token: got %d %v %s, want 401", code, err, body)
	}
	code, body, err = get(client, list, servedName, token)
	if err != nil || code != http.StatusOK {
		t.Fatalf("list services: got %d %v %s\n%s", code, err, body, r.diagnostics())
	}
	var listed struct {
		Services []struct {
			Name, Image, Status string
			Running             *int
		}
	}
	if err := json.Unmarshal(body, &listed); err != nil {
		t.Fatalf("list services: %v\n%s", err, body)
	}
	found := false
	for _, s := range listed.Services {
		if s.Name != name {
			continue
		}
		found = true
		if !strings.HasPrefix(s.Image, tag) || s.Status != "running" || s.Running == nil || *s.Running != 1 {
			t.Errorf("its own service: image %q status %q running %v, want %s running 1", s.Image, s.Status, s.Running, tag)
		}
	}
	if !found {
		t.Fatalf("its own service %s is not in its list: %s", name, body)
	}
}

// requireSwarm skips the test without a Docker engine in swarm mode, or
// fails it when WHARF_REQUIRE_DOCKER=1 (test.sh sets it once the engine runs).
func requireSwarm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds an image and runs it on the Docker engine")
	}
	missing := ""
	if _, err := exec.LookPath("docker"); err != nil {
		missing = "no docker command on PATH"
	} else if !demo.LocalSwarm(context.Background()) {
		missing = "no Docker engine in swarm mode answers on " + demo.DockerSocket
	}
	if missing == "" {
		return
	}
	if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
		t.Fatal(missing + " (WHARF_REQUIRE_DOCKER=1)")
	}
	t.Skip(missing + " (scripts/docker-engine.sh --install sets one up)")
}

// resources are what the test made on the engine, removed in order: the
// service first, then, once its container is gone, what it used.
type resources struct {
	t                                       *testing.T
	service, image, config, network, volume string
}

func (r *resources) remove() {
	quiet := func(args ...string) {
		if out, err := run(time.Minute, nil, "docker", args...); err != nil && !strings.Contains(string(out), "not found") &&
			!strings.Contains(string(out), "No such") {
			r.t.Errorf("cleanup: docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	quiet("service", "rm", r.service)
	// The task's container stops (wharf shuts down within 15 s) and is
	// removed; the volume, network and image are in use until then.
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := run(30*time.Second, nil, "docker", "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+r.service)
		if err == nil && len(bytes.TrimSpace(out)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.t.Errorf("cleanup: the containers of %s were not removed within 90 s: %s %v", r.service, out, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	if r.volume != "" {
		quiet("volume", "rm", r.volume)
	}
	if r.network != "" {
		quiet("network", "rm", r.network)
	}
	if r.config != "" {
		quiet("config", "rm", r.config)
	}
	if r.image != "" {
		quiet("image", "rm", r.image)
	}
}

// diagnostics are the service's tasks and logs, for a failure message.
func (r *resources) diagnostics() string {
	ps, _ := run(30*time.Second, nil, "docker", "service", "ps", "--no-trunc", r.service)
	logs, _ := run(30*time.Second, nil, "docker", "service", "logs", "--raw", "--tail", "40", r.service)
	return string(ps) + "\n" + string(logs)
}

// get asks for url under the Host name host, with a bearer token if given,
// and reads at most 1 MiB of the answer.
func get(client *http.Client, url, host, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// docker runs a docker command, with stdin if given, that must succeed
// within a minute.
func docker(t *testing.T, stdin []byte, args ...string) {
	t.Helper()
	if out, err := run(time.Minute, stdin, "docker", args...); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// run runs a command, killing it after limit, and returns its output.
func run(limit time.Duration, stdin []byte, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (killed after %s)", err, limit)
	}
	return out, err
}

// repoPlugins are the plugins build-image.sh builds: plugins/*/main.go.
func repoPlugins(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob("../plugins/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no plugins found under ../plugins: %v", err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

func sortedJoin(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// freePort is a TCP port free on this machine a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

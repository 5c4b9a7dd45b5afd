package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/logfanout"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/internal/demo"
	"github.com/wharfhq/wharf/pluginapi"
)

// dockerEngine is what the Docker scenario checks beside the REST API: the
// engine's own view of the service.
type dockerEngine interface {
	// replicas is the engine's "running/desired" for the service, "" when gone.
	replicas(t *testing.T, name string) string
}

// TestDockerScenarioRealEngine is the Docker scenario against the real engine:
// the test image's program prints "tick N $GREETING" every second.
func TestDockerScenarioRealEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker engine")
	}
	if !demo.LocalSwarm(context.Background()) {
		if os.Getenv("WHARF_REQUIRE_DOCKER") == "1" {
			t.Fatal("no Docker engine in swarm mode answers on " + demo.DockerSocket)
		}
		t.Skip("no Docker engine in swarm mode on " + demo.DockerSocket + " (test.sh starts one)")
	}
	image := os.Getenv("WHARF_TEST_IMAGE")
	if image == "" {
		image = "wharf-ticker:test"
	}
	dockerScenario(t, map[string]any{"host": "unix://" + demo.DockerSocket}, image, cliEngine{}, "tick", 60*time.Second)
}

// TestDockerScenarioEmulator is the same scenario against the emulator, whose
// tasks print "<service>.<slot> line N".
func TestDockerScenarioEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the docker plugin")
	}
	emu := dockeremu.New(dockeremu.Options{StartDelay: 150 * time.Millisecond, LogEvery: 100 * time.Millisecond})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	dockerScenario(t, emu.DemoConfig(srv.URL), "nginx:1.27", apiEngine{srv.URL}, "line", 15*time.Second)
}

// TestDockerUnavailable: a missing socket and an engine outside swarm mode are
// clean "unavailable" errors, and the host keeps answering.
func TestDockerUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the docker plugin")
	}
	_, c := StartHost(t, HostOptions{Plugins: []string{"./plugins/docker"}, Faces: []Face{apiFace}})
	notSwarm := httptest.NewServer(dockeremu.New(dockeremu.Options{NotInSwarm: true}))
	defer notSwarm.Close()
	for name, host := range map[string]string{
		"no-socket": "unix://" + t.TempDir() + "/docker.sock",
		"no-swarm":  notSwarm.URL,
	} {
		c.Do(t, "POST", "/connections", map[string]any{"name": name, "plugin": "docker", "config": map[string]any{"host": host}}).OK(t, "connection", nil)
		r := c.Do(t, "GET", "/connections/"+name+"/services", nil)
		r.Fails(t, name, http.StatusServiceUnavailable, pluginapi.CodeUnavailable)
		if name == "no-swarm" && !strings.Contains(r.Err.Message, "swarm") {
			t.Errorf("not-in-swarm message should say so: %q", r.Err.Message)
		}
		var tr ops.TestResult
		c.Do(t, "POST", "/connections/"+name+"/test", nil).OK(t, "test "+name, &tr)
		if tr.OK || tr.Error == nil || tr.Error.Code != pluginapi.CodeUnavailable {
			t.Errorf("connection test of %s: %+v", name, tr)
		}
	}
	c.Do(t, "GET", "/healthz", nil).OK(t, "host still answers", nil)
}

func dockerScenario(t *testing.T, config map[string]any, image string, engine dockerEngine, word string, settle time.Duration) {
	_, c := StartHost(t, HostOptions{Plugins: []string{"./plugins/docker"}, Faces: []Face{apiFace}, EgressTimeout: 20 * time.Second})
	c.Do(t, "POST", "/connections", map[string]any{"name": "swarm", "plugin": "docker", "config": config}).OK(t, "connection", nil)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	name := "wharf-e2e-" + suffix
	label := "wharf-e2e=" + suffix

	var created ops.ServiceResult
	c.Do(t, "POST", "/connections/swarm/services", map[string]any{
		"name": name, "image": image, "replicas": 1,
		"env": map[string]string{"GREETING": "hello"}, "labels": map[string]string{"wharf-e2e": suffix},
	}).OK(t, "create", &created)
	id := created.Service.ID
	path := svcPath("swarm", id)
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			c.Do(t, "DELETE", path, nil)
		}
	})

	waitService(t, c, path, settle, "running", func(s pluginapi.Service) bool { return s.Status == pluginapi.StatusRunning })

	// List with filters: name, label and mode find it; another name does not.
	for _, q := range []string{"name=" + name, "label=" + label, "mode=replicated", "filter=name%3D" + name} {
		var page ops.ServicePage
		c.Do(t, "GET", "/connections/swarm/services?"+q, nil).OK(t, "list "+q, &page)
		if !hasService(page.Services, id) {
			t.Fatalf("list ?%s: %s missing", q, id)
		}
	}
	var none ops.ServicePage
	c.Do(t, "GET", "/connections/swarm/services?name=wharf-no-such-"+suffix, nil).OK(t, "list other name", &none)
	if len(none.Services) != 0 {
		t.Fatalf("name filter matched %d services", len(none.Services))
	}

	// Logs: the program's lines arrive, and keep arriving with follow.
	waitLogs(t, c, path, settle, func(e pluginapi.LogEntry) bool { return strings.Contains(e.Message, word) })
	followLines(t, c, path, settle, 2, func(e pluginapi.LogEntry) bool { return strings.Contains(e.Message, word) })

	// Update the env: the new greeting shows in the logs (the real program prints it).
	c.Do(t, "PATCH", path, map[string]any{"env": map[string]string{"GREETING": "bonjour"}}).OK(t, "update env", nil)
	waitService(t, c, path, settle, "env updated", func(s pluginapi.Service) bool {
		return strings.Contains(string(s.Spec), "bonjour") && s.Status == pluginapi.StatusRunning
	})
	if word == "tick" {
		waitLogs(t, c, path, settle, func(e pluginapi.LogEntry) bool { return strings.Contains(e.Message, "bonjour") })
	}

	// Scale to 3: three tasks run, as the engine itself says.
	c.Do(t, "POST", path+"/actions/scale", map[string]any{"replicas": 3}).OK(t, "scale", nil)
	Eventually(t, settle, "3 tasks running", func() error {
		var inst struct{ Instances []pluginapi.Instance }
		c.Do(t, "GET", path+"/instances", nil).OK(t, "instances", &inst)
		running := 0
		for _, i := range inst.Instances {
			if i.Status == pluginapi.StatusRunning {
				running++
			}
		}
		if running != 3 {
			return errorf("%d running instances", running)
		}
		if r := engine.replicas(t, name); r != "3/3" {
			return errorf("engine says %q", r)
		}
		return nil
	})

	// Rollback undoes the scale.
	c.Do(t, "POST", path+"/actions/rollback", nil).OK(t, "rollback", nil)
	waitService(t, c, path, settle, "rolled back to 1 replica", func(s pluginapi.Service) bool {
		return s.Desired != nil && *s.Desired == 1 && s.Rollout != nil && s.Rollout.Rollback
	})

	// Stop and start.
	c.Do(t, "POST", path+"/actions/stop", nil).OK(t, "stop", nil)
	waitService(t, c, path, settle, "stopped", func(s pluginapi.Service) bool { return s.Status == pluginapi.StatusStopped })
	c.Do(t, "POST", path+"/actions/start", nil).OK(t, "start", nil)
	waitService(t, c, path, settle, "started", func(s pluginapi.Service) bool {
		return s.Status == pluginapi.StatusRunning && s.Desired != nil && *s.Desired == 1
	})

	// Delete: gone from the API and from the engine.
	c.Do(t, "DELETE", path, nil).OK(t, "delete", nil)
	deleted = true
	c.Do(t, "GET", path, nil).Fails(t, "get after delete", http.StatusNotFound, pluginapi.CodeNotFound)
	if r := engine.replicas(t, name); r != "" {
		t.Fatalf("the engine still lists the service: %q", r)
	}

	// Every step is in the audit log, finished.
	var audit struct {
		Entries []struct{ Operation, Outcome, Target string }
	}
	c.Do(t, "GET", "/audit?connection=swarm&limit=100", nil).OK(t, "audit", &audit)
	ops := map[string]int{}
	for _, e := range audit.Entries {
		if e.Outcome != "ok" {
			t.Errorf("audit entry %+v did not end ok", e)
		}
		ops[e.Operation]++
	}
	for _, want := range []string{"service.create", "service.update", "service.action:scale", "service.action:rollback", "service.action:stop", "service.action:start", "service.delete"} {
		if ops[want] == 0 {
			t.Errorf("audit log lacks %s: %v", want, ops)
		}
	}
}

func hasService(list []pluginapi.Service, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

func waitService(t *testing.T, c *Client, path string, timeout time.Duration, what string, ok func(pluginapi.Service) bool) {
	t.Helper()
	Eventually(t, timeout, what, func() error {
		var s pluginapi.Service
		c.Do(t, "GET", path, nil).OK(t, "get", &s)
		if !ok(s) {
			return errorf("status %s (%s), desired %v, running %v", s.Status, s.NativeStatus, deref(s.Desired), deref(s.Running))
		}
		return nil
	})
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func waitLogs(t *testing.T, c *Client, path string, timeout time.Duration, match func(pluginapi.LogEntry) bool) {
	t.Helper()
	Eventually(t, timeout, "log line", func() error {
		var page ops.LogsPage
		c.Do(t, "GET", path+"/logs?tail=50", nil).OK(t, "logs", &page)
		for _, e := range page.Entries {
			if match(e) {
				return nil
			}
		}
		return errorf("%d entries, none matching", len(page.Entries))
	})
}

// followLines reads the NDJSON follow stream until n new matching lines arrive.
func followLines(t *testing.T, c *Client, path string, timeout time.Duration, n int, match func(pluginapi.LogEntry) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.Base+path+"/logs?follow=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
		t.Fatalf("follow: status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	got := 0
	for sc.Scan() {
		var it logfanout.Item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatalf("follow: bad line %q: %v", sc.Text(), err)
		}
		if it.Entry != nil && match(*it.Entry) {
			if got++; got == n {
				return
			}
		}
	}
	t.Fatalf("follow: stream ended after %d matching lines: %v", got, sc.Err())
}

// cliEngine asks the real engine with the docker CLI.
type cliEngine struct{}

func (cliEngine) replicas(t *testing.T, name string) string {
	out, err := exec.Command("docker", "service", "ls", "--filter", "name="+name, "--format", "{{.Name}} {{.Replicas}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker service ls: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

// apiEngine asks the emulator through the Engine API, as the CLI would.
type apiEngine struct{ url string }

func (e apiEngine) replicas(t *testing.T, name string) string {
	resp, err := http.Get(e.url + `/v1.41/services?status=true&filters={"name":["` + name + `"]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		Spec          struct{ Name string }
		ServiceStatus struct{ RunningTasks, DesiredTasks int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Spec.Name == name {
			return fmt.Sprintf("%d/%d", s.ServiceStatus.RunningTasks, s.ServiceStatus.DesiredTasks)
		}
	}
	return ""
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// realAPI sends one request to the local engine beside the plugin, as the
// docker CLI would, and returns the status and body.
func realAPI(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", realSocket)
	}}}
	req, _ := http.NewRequest(method, "http://localhost"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// realObject creates a secret, config or network on the real engine and
// removes it when the test ends (after the services using it: cleanups
// run last registered first).
func realObject(t *testing.T, kind, body string) string {
	t.Helper()
	status, b := realAPI(t, "POST", "/"+kind+"s/create", []byte(body))
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create %s: %d %s", kind, status, b)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(b, &created)
	t.Cleanup(func() { realAPI(t, "DELETE", "/"+kind+"s/"+created.ID, nil) })
	return created.ID
}

// TestRealEngineTaskTemplate: the whole task template through the plugin
// on the real engine: the engine stores each setting where the docker CLI
// would, a get shows them back, a no-op update from the get does not move
// the version, and a rename is refused as the engine refuses it.
func TestRealEngineTaskTemplate(t *testing.T) {
	h := realEngine(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1_000_000_000)
	secret, config, network := "wharf-tmpl-s-"+suffix, "wharf-tmpl-c-"+suffix, "wharf-tmpl-n-"+suffix
	secretID := realObject(t, "secret", fmt.Sprintf(`{"Name":%q,"Data":"cHc="}`, secret))
	configID := realObject(t, "config", fmt.Sprintf(`{"Name":%q,"Data":"Y29uZg=="}`, config))
	networkID := realObject(t, "network", fmt.Sprintf(`{"Name":%q,"Driver":"overlay","Attachable":true}`, network))
	name := "wharf-tmpl-" + suffix
	removeLater(t, name)
	spec := fmt.Sprintf(`{"name":%q,"image":%q,"groups":["100"],"hostname":"h-{{.Task.Slot}}","read_only":true,"init":true,
		"stop_signal":"SIGQUIT","stop_grace_period":"3s","healthcheck":{"test":["NONE"]},
		"mounts":[{"type":"bind","source":%q,"target":"/host","read_only":true},
		  {"type":"volume","target":"/data","driver":"local","driver_options":{"type":"tmpfs","device":"tmpfs"},"labels":{"a":"b"},"no_copy":true},
		  {"type":"tmpfs","target":"/cache","tmpfs_size":"1M","tmpfs_mode":"1770"}],
		"secrets":[{"name":%q,"target":"s.txt","uid":"1","gid":"2","mode":"0400"}],
		"configs":[{"name":%q,"target":"/c.txt"}],
		"dns_config":{"nameservers":["10.0.0.53"],"search":["example.com"],"options":["ndots:2"]},
		"hosts":["10.0.0.1 myhost"],"cap_add":["CAP_NET_ADMIN"],"cap_drop":["CAP_MKNOD"],
		"sysctls":{"net.core.somaxconn":"1024"},"ulimits":[{"name":"nofile","soft":1024,"hard":2048}],"isolation":"default",
		"replicas":1,"placement_preferences":[{"spread":"node.labels.zone"}],"max_replicas_per_node":2,
		"platforms":[{"architecture":%q,"os":"linux"}],
		"networks":[{"target":%q,"aliases":["web"],"driver_options":{"com.docker.network.driver.mtu":"1400"}}]}`,
		name, testImage(), t.TempDir(), secret, config, runtime.GOARCH, network)
	svc := h.create(spec)

	// The engine's own view, as docker service inspect shows it.
	status, raw := realAPI(t, "GET", "/services/"+svc.ID, nil)
	if status != http.StatusOK {
		t.Fatalf("inspect: %d %s", status, raw)
	}
	var engineSvc swarm.Service
	if err := json.Unmarshal(raw, &engineSvc); err != nil {
		t.Fatal(err)
	}
	tt := engineSvc.Spec.TaskTemplate
	cs := tt.ContainerSpec
	for what, ok := range map[string]bool{
		"hostname":    cs.Hostname == "h-{{.Task.Slot}}",
		"groups":      len(cs.Groups) == 1 && cs.Groups[0] == "100",
		"read-only":   cs.ReadOnly,
		"init":        cs.Init != nil && *cs.Init,
		"stop":        cs.StopSignal == "SIGQUIT" && cs.StopGracePeriod != nil && *cs.StopGracePeriod == 3*time.Second,
		"healthcheck": cs.Healthcheck != nil && len(cs.Healthcheck.Test) == 1 && cs.Healthcheck.Test[0] == "NONE",
		"mounts": len(cs.Mounts) == 3 && cs.Mounts[0].ReadOnly && cs.Mounts[1].VolumeOptions != nil && cs.Mounts[1].VolumeOptions.NoCopy &&
			cs.Mounts[1].VolumeOptions.DriverConfig.Options["type"] == "tmpfs" && cs.Mounts[2].TmpfsOptions.Mode == 0o1770 && cs.Mounts[2].TmpfsOptions.SizeBytes == 1<<20,
		"secret": len(cs.Secrets) == 1 && cs.Secrets[0].SecretID == secretID && cs.Secrets[0].File.Mode == 0o400 && cs.Secrets[0].File.UID == "1",
		"config": len(cs.Configs) == 1 && cs.Configs[0].ConfigID == configID && cs.Configs[0].File.Name == "/c.txt" && cs.Configs[0].File.Mode == 0o444,
		"dns":    cs.DNSConfig != nil && len(cs.DNSConfig.Nameservers) == 1 && cs.DNSConfig.Options[0] == "ndots:2",
		"hosts":  len(cs.Hosts) == 1 && cs.Hosts[0] == "10.0.0.1 myhost",
		"caps":   len(cs.CapabilityAdd) == 1 && len(cs.CapabilityDrop) == 1,
		"sysctl": cs.Sysctls["net.core.somaxconn"] == "1024",
		"ulimit": len(cs.Ulimits) == 1 && cs.Ulimits[0].Soft == 1024 && cs.Ulimits[0].Hard == 2048,
		"placement": tt.Placement != nil && len(tt.Placement.Preferences) == 1 && tt.Placement.MaxReplicas == 2 &&
			len(tt.Placement.Platforms) == 1 && tt.Placement.Platforms[0].OS == "linux",
		"network": len(tt.Networks) == 1 && tt.Networks[0].Target == networkID && tt.Networks[0].Aliases[0] == "web" &&
			tt.Networks[0].DriverOpts["com.docker.network.driver.mtu"] == "1400",
	} {
		if !ok {
			t.Errorf("the engine does not show the %s setting: %s", what, jsonOf(tt))
		}
	}
	// the moby API types have no service-level list: look in the engine's JSON
	var legacy struct {
		Spec struct{ Networks []json.RawMessage }
	}
	if err := json.Unmarshal(raw, &legacy); err != nil || len(legacy.Spec.Networks) != 0 {
		t.Errorf("networks sent in the deprecated service-level list (%v)", err)
	}

	// The get shows every setting back, names for references, the network by ID.
	got := h.get(svc.ID)
	sp := specOf(t, got)
	if sp.Hostname != "h-{{.Task.Slot}}" || len(sp.Mounts) != 3 || sp.Mounts[2].TmpfsMode != "1770" || sp.Mounts[2].TmpfsSize != "1M" ||
		len(sp.Secrets) != 1 || sp.Secrets[0].Name != secret || sp.Secrets[0].Mode != "0400" || sp.Configs[0].Mode != "0444" ||
		sp.Healthcheck == nil || sp.DNSConfig == nil || len(sp.Ulimits) != 1 || sp.MaxPerNode != 2 || len(sp.Preferences) != 1 ||
		len(sp.Platforms) != 1 || len(sp.Networks) != 1 || sp.Networks[0].Target != networkID || sp.Networks[0].Aliases[0] != "web" {
		t.Fatalf("get shows: %s", got.Spec)
	}
	waitFor(t, "the task running", func() bool { return h.get(svc.ID).Status == pluginapi.StatusRunning })

	// A no-op update from the get's spec: the engine's version stays.
	got = h.get(svc.ID)
	var up pluginapi.ServiceResponse
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: got.Spec, Version: got.Version}, &up)
	if up.Service.Version != got.Version {
		t.Errorf("a no-op update moved the version %s -> %s", got.Version, up.Service.Version)
	}
	// A real edit of one mount keeps the others and the references.
	sp = specOf(t, got)
	sp.Mounts[2].TmpfsSize = "2M"
	b, _ := json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b, Version: got.Version}, &up)
	_, raw = realAPI(t, "GET", "/services/"+svc.ID, nil)
	_ = json.Unmarshal(raw, &engineSvc)
	cs = engineSvc.Spec.TaskTemplate.ContainerSpec
	if len(cs.Mounts) != 3 || cs.Mounts[2].TmpfsOptions.SizeBytes != 2<<20 || !cs.Mounts[1].VolumeOptions.NoCopy || cs.Secrets[0].SecretID != secretID {
		t.Errorf("after a mount edit: %s", jsonOf(cs))
	}

	// Renames: the engine refuses them (501), so the plugin refuses them first, naming /name.
	sp = specOf(t, h.get(svc.ID))
	sp.Name = name + "-renamed"
	b, _ = json.Marshal(sp)
	err := h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/name" {
		t.Errorf("rename through the plugin: %v", err)
	}
	renamed := engineSvc.Spec
	renamed.Name = name + "-renamed"
	status, body := realAPI(t, "POST", fmt.Sprintf("/services/%s/update?version=%d", svc.ID, engineSvc.Version.Index), jsonOf(renamed))
	if status != http.StatusNotImplemented || !strings.Contains(string(body), "renaming services is not supported") {
		t.Errorf("the engine answered a rename with %d %s: the plugin's refusal may be out of date", status, body)
	}

	// An unknown secret is invalid, naming the field.
	sp = specOf(t, h.get(svc.ID))
	sp.Secrets = append(sp.Secrets, FileRef{Name: "wharf-tmpl-missing-" + suffix})
	b, _ = json.Marshal(sp)
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/secrets/1/name" {
		t.Errorf("an unknown secret: %v", err)
	}
}

// TestRealEngineUnhealthy: a task failing its health check makes the
// service failed, and the status message says the task is unhealthy.
func TestRealEngineUnhealthy(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-tmpl-h-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	// The test image has no program that exits 0: the ticker itself, run
	// as the check, never returns and times out.
	svc := h.create(fmt.Sprintf(`{"name":%q,"image":%q,"healthcheck":{"test":["CMD","/ticker"],"interval":"1s","timeout":"500ms","retries":1}}`, name, testImage()))
	var s pluginapi.Service
	waitFor(t, "the unhealthy task reported", func() bool {
		s = h.get(svc.ID)
		return s.Status == pluginapi.StatusFailed
	})
	if !strings.Contains(s.StatusMessage, "0 of 1 tasks healthy") || !strings.Contains(s.StatusMessage, "is unhealthy: it failed its health check") {
		t.Errorf("status message %q", s.StatusMessage)
	}
}

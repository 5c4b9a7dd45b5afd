package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// templateSpec uses every task template setting of issue 11 §2, in the
// form a get shows it back (but for the engine's defaults of the
// settings it leaves out).
const templateSpec = `{
  "name": "tmpl-web",
  "image": "nginx:1.27",
  "groups": ["100", "audio"],
  "hostname": "web-{{.Task.Slot}}",
  "read_only": true,
  "init": true,
  "stop_signal": "SIGQUIT",
  "stop_grace_period": "3s",
  "healthcheck": {"test": ["CMD", "curl", "-f", "http://localhost/"], "interval": "2s", "timeout": "1s", "start_period": "5s", "retries": 2},
  "mounts": [
    {"type": "bind", "source": "/srv/html", "target": "/usr/share/nginx/html", "read_only": true, "propagation": "rslave"},
    {"type": "volume", "source": "cache", "target": "/cache", "no_copy": true, "labels": {"a": "b"}, "driver": "local", "driver_options": {"type": "tmpfs", "device": "tmpfs"}},
    {"type": "volume", "target": "/anon"},
    {"type": "tmpfs", "target": "/tmp", "tmpfs_size": "64M", "tmpfs_mode": "1770"}
  ],
  "secrets": [{"name": "tmpl-db-password", "target": "db.txt", "uid": "101", "gid": "101", "mode": "0400"}],
  "configs": [{"name": "tmpl-nginx-conf", "target": "/etc/nginx/conf.d/site.conf", "uid": "0", "gid": "0", "mode": "0444"}],
  "dns_config": {"nameservers": ["10.0.0.53"], "search": ["svc.local"], "options": ["ndots:2"]},
  "hosts": ["10.0.0.5 db.internal db"],
  "cap_add": ["CAP_NET_ADMIN"],
  "cap_drop": ["CAP_MKNOD"],
  "sysctls": {"net.core.somaxconn": "1024"},
  "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
  "isolation": "default",
  "mode": "replicated",
  "replicas": 2,
  "resources": {"memory_limit": "256M", "generic_resources": [{"kind": "gpu", "discrete": 1}, {"kind": "fpga", "named": "fpga-0"}]},
  "placement_preferences": [{"spread": "node.labels.zone"}],
  "max_replicas_per_node": 2,
  "platforms": [{"architecture": "amd64", "os": "linux"}],
  "networks": [{"target": "front", "aliases": ["web", "www"], "driver_options": {"com.docker.network.driver.mtu": "1400"}}, "back"]
}`

// templateIDs are the engine IDs of templateSpec's references in a
// mapping without an engine.
var templateIDs = refIDs{secrets: map[string]string{"tmpl-db-password": "sid1"}, configs: map[string]string{"tmpl-nginx-conf": "cid1"}}

// canonical re-encodes JSON with sorted keys, to compare documents.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out, _ := json.MarshalIndent(v, "", " ")
	return string(out)
}

// TestTemplateMapping: every task template setting lands where docker-py
// and the docker CLI put it in the ServiceSpec, and comes back unchanged.
func TestTemplateMapping(t *testing.T) {
	sch, err := schema.Compile(provider{}.Describe().SpecSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(json.RawMessage(templateSpec)); err != nil {
		t.Fatalf("the template spec is not valid: %v", err)
	}
	spec, err := decodeSpec(json.RawMessage(templateSpec))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := spec.toServiceSpec(nil, templateIDs)
	if err != nil {
		t.Fatal(err)
	}
	// What the docker CLI sends for the same flags (compare with
	// docker service create --mount ... --secret ... --health-cmd ...).
	want := `{
	  "Image": "nginx:1.27", "Hostname": "web-{{.Task.Slot}}", "Groups": ["100", "audio"], "Init": true, "StopSignal": "SIGQUIT",
	  "ReadOnly": true, "StopGracePeriod": 3000000000, "Isolation": "default",
	  "Healthcheck": {"Test": ["CMD", "curl", "-f", "http://localhost/"], "Interval": 2000000000, "Timeout": 1000000000, "StartPeriod": 5000000000, "Retries": 2},
	  "Mounts": [
	    {"Type": "bind", "Source": "/srv/html", "Target": "/usr/share/nginx/html", "ReadOnly": true, "BindOptions": {"Propagation": "rslave"}},
	    {"Type": "volume", "Source": "cache", "Target": "/cache", "VolumeOptions": {"NoCopy": true, "Labels": {"a": "b"}, "DriverConfig": {"Name": "local", "Options": {"device": "tmpfs", "type": "tmpfs"}}}},
	    {"Type": "volume", "Target": "/anon"},
	    {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1016}}
	  ],
	  "Secrets": [{"File": {"Name": "db.txt", "UID": "101", "GID": "101", "Mode": 256}, "SecretID": "sid1", "SecretName": "tmpl-db-password"}],
	  "Configs": [{"File": {"Name": "/etc/nginx/conf.d/site.conf", "UID": "0", "GID": "0", "Mode": 292}, "ConfigID": "cid1", "ConfigName": "tmpl-nginx-conf"}],
	  "DNSConfig": {"Nameservers": ["10.0.0.53"], "Search": ["svc.local"], "Options": ["ndots:2"]},
	  "Hosts": ["10.0.0.5 db.internal db"], "CapabilityAdd": ["CAP_NET_ADMIN"], "CapabilityDrop": ["CAP_MKNOD"],
	  "Sysctls": {"net.core.somaxconn": "1024"}, "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
	}`
	if got := canonical(t, jsonOf(ss.TaskTemplate.ContainerSpec)); got != canonical(t, []byte(want)) {
		t.Errorf("container spec:\n%s\nwant\n%s", got, canonical(t, []byte(want)))
	}
	tt := ss.TaskTemplate
	wantTT := map[string]string{
		"Placement": `{"Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}], "MaxReplicas": 2, "Platforms": [{"Architecture": "amd64", "OS": "linux"}]}`,
		"Networks":  `[{"Target": "front", "Aliases": ["web", "www"], "DriverOpts": {"com.docker.network.driver.mtu": "1400"}}, {"Target": "back"}]`,
		"Resources": `{"Limits": {"MemoryBytes": 268435456}, "Reservations": {"GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 1}}, {"NamedResourceSpec": {"Kind": "fpga", "Value": "fpga-0"}}]}}`,
	}
	for member, got := range map[string]any{"Placement": tt.Placement, "Networks": tt.Networks, "Resources": tt.Resources} {
		if canonical(t, jsonOf(got)) != canonical(t, []byte(wantTT[member])) {
			t.Errorf("%s: %s, want %s", member, jsonOf(got), wantTT[member])
		}
	}
	// And back: the friendly spec is rebuilt unchanged, and encodes as encoding/json does.
	back := specFromSwarm(ss)
	if got := canonical(t, appendSpec(nil, &back)); got != canonical(t, []byte(templateSpec)) {
		t.Errorf("round trip:\n%s\nwant\n%s", got, canonical(t, []byte(templateSpec)))
	}
	if std, _ := json.Marshal(back); !bytes.Equal(std, appendSpec(nil, &back)) {
		t.Errorf("appendSpec differs from encoding/json:\n%s\n%s", appendSpec(nil, &back), std)
	}
	// The plain-name form of a network stays valid and is what a get shows
	// for an attachment without aliases or options.
	var n []Network
	if err := json.Unmarshal([]byte(`["a", {"target": "b"}, {"target": "c", "aliases": ["x"]}]`), &n); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(n); string(b) != `["a","b",{"target":"c","aliases":["x"]}]` {
		t.Errorf("networks back: %s", b)
	}
	if err := json.Unmarshal([]byte(`[{"target": "b", "alias": ["x"]}]`), &n); err == nil {
		t.Error("an unknown member of an attachment was accepted")
	}
}

// createRefs makes templateSpec's secret and config on the emulated
// engine, as docker secret create / docker config create would.
func (h *harness) createRefs() (secretID, configID string) {
	h.t.Helper()
	var s, c struct{ ID string }
	_ = json.Unmarshal(h.engineCall("POST", "/secrets/create", []byte(`{"Name":"tmpl-db-password","Data":"cHc="}`)), &s)
	_ = json.Unmarshal(h.engineCall("POST", "/configs/create", []byte(`{"Name":"tmpl-nginx-conf","Data":"c2VydmVyIHt9"}`)), &c)
	return s.ID, c.ID
}

// TestTemplateThroughTheEngine: the whole template created through the
// plugin is what the engine stores, a get shows it back, and sending that
// back changes nothing; secrets and configs are resolved by name.
func TestTemplateThroughTheEngine(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	err := h.call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(), Spec: json.RawMessage(templateSpec)}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/secrets/0/name" || !strings.Contains(err.Message, "tmpl-db-password") {
		t.Fatalf("a secret the swarm lacks: %v", err)
	}
	secretID, configID := h.createRefs()
	svc := h.create(templateSpec)

	stored := h.inspect(svc.ID).Spec
	cs := stored.TaskTemplate.ContainerSpec
	if len(cs.Secrets) != 1 || cs.Secrets[0].SecretID != secretID || len(cs.Configs) != 1 || cs.Configs[0].ConfigID != configID {
		t.Fatalf("references: %s %s", jsonOf(cs.Secrets), jsonOf(cs.Configs))
	}
	if cs.Hostname != "web-{{.Task.Slot}}" || len(cs.Mounts) != 4 || cs.Healthcheck == nil || cs.DNSConfig == nil || len(cs.Ulimits) != 1 ||
		stored.TaskTemplate.Placement.MaxReplicas != 2 || len(stored.TaskTemplate.Networks[0].Aliases) != 2 {
		t.Fatalf("stored spec: %s", jsonOf(stored))
	}
	got := h.get(svc.ID)
	var shown map[string]any
	_ = json.Unmarshal(got.Spec, &shown)
	for _, def := range []string{"endpoint_mode", "restart_policy", "update_config", "rollback_config"} {
		delete(shown, def) // the engine's defaults, which templateSpec leaves out
	}
	if c := canonical(t, jsonOf(shown)); c != canonical(t, []byte(templateSpec)) {
		t.Errorf("get shows:\n%s\nwant\n%s", c, canonical(t, []byte(templateSpec)))
	}

	// No-op: the get's spec back (and the original, without the engine's
	// defaults) posts nothing.
	h.clk.Advance(time.Second)
	before, tasks := h.inspect(svc.ID).Version.Index, h.taskIDs(svc.ID)
	for _, sp := range []json.RawMessage{got.Spec, json.RawMessage(templateSpec)} {
		h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: sp, Version: got.Version}, nil)
	}
	if now := h.inspect(svc.ID).Version.Index; now != before {
		t.Errorf("a no-op update moved the version %d -> %d", before, now)
	}
	if now := h.taskIDs(svc.ID); !slices.Equal(now, tasks) {
		t.Errorf("a no-op update redeployed: %v -> %v", tasks, now)
	}

	// An edit of one reference's mode keeps its ID; an unknown name is
	// refused naming the field; a rename is refused naming /name.
	sp := specOf(t, got)
	sp.Secrets[0].Mode = "0440"
	b, _ := json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	if r := h.inspect(svc.ID).Spec.TaskTemplate.ContainerSpec.Secrets[0]; r.SecretID != secretID || r.File.Mode != 0o440 {
		t.Errorf("secret after a mode change: %s", jsonOf(r))
	}
	sp.Configs = append(sp.Configs, FileRef{Name: "missing", Target: "/m"})
	b, _ = json.Marshal(sp)
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/configs/1/name" {
		t.Errorf("an unknown config: %v", err)
	}
	sp = specOf(t, h.get(svc.ID))
	sp.Name = "tmpl-renamed"
	b, _ = json.Marshal(sp)
	err = h.call(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/name" || !strings.Contains(err.Message, "cannot be renamed") {
		t.Errorf("a rename: %v", err)
	}

	// Removing the settings through an update clears them in the engine.
	sp = specOf(t, h.get(svc.ID))
	sp.Mounts, sp.Secrets, sp.Configs, sp.Healthcheck, sp.Hosts, sp.Ulimits, sp.Preferences = nil, nil, nil, nil, nil, nil, nil
	sp.Hostname, sp.ReadOnly, sp.Init, sp.MaxPerNode, sp.Networks = "", false, nil, 0, []Network{{Target: "back"}}
	b, _ = json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: svc.ID, Spec: b}, nil)
	after := h.inspect(svc.ID).Spec
	cs = after.TaskTemplate.ContainerSpec
	if cs.Mounts != nil || cs.Secrets != nil || cs.Configs != nil || cs.Healthcheck != nil || cs.Hosts != nil || cs.Ulimits != nil ||
		cs.Hostname != "" || cs.ReadOnly || cs.Init != nil || after.TaskTemplate.Placement.MaxReplicas != 0 ||
		after.TaskTemplate.Placement.Preferences != nil || len(after.TaskTemplate.Networks) != 1 {
		t.Errorf("settings not cleared: %s", jsonOf(after.TaskTemplate))
	}
	if cs.DNSConfig == nil || cs.Sysctls == nil || len(after.TaskTemplate.Placement.Platforms) != 1 {
		t.Errorf("settings the edit kept were lost: %s", jsonOf(after.TaskTemplate))
	}
}

// TestTemplateListsKeepWhatIsNotModeled: editing a list (mounts, network
// attachments) keeps the items whose modeled view is unchanged byte for
// byte, with members the friendly spec has no field for.
func TestTemplateListsKeepWhatIsNotModeled(t *testing.T) {
	raw := []byte(`{"ID":"abc","Version":{"Index":7},"Spec":{"Name":"demo","TaskTemplate":{"ContainerSpec":{"Image":"x:1",` +
		`"Mounts":[{"Type":"bind","Source":"/a","Target":"/a","BindOptions":{"NonRecursive":true}},{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"Subpath":"sub"}}],` +
		`"Secrets":[{"File":{"Name":"s","UID":"0","GID":"0","Mode":292},"SecretID":"sid","SecretName":"s","Later":1}]},` +
		`"Networks":[{"Target":"front","Aliases":["web"],"Later":true}]},"Mode":{"Replicated":{"Replicas":1}}}}`)
	stored, err := decodeService(raw)
	if err != nil {
		t.Fatal(err)
	}
	noDefaults := func() (swarm.ServiceSpec, error) { return stored.Spec, nil }
	noRefs := func(*Spec, bool, bool) (refIDs, error) { return refIDs{}, nil }
	base := specFromSwarm(stored.Spec)
	if _, changed, err := planUpdate(&base, stored, raw, noDefaults, noRefs); err != nil || changed {
		t.Fatalf("unchanged: changed %v, %v", changed, err)
	}
	s := base
	s.Mounts = append(slices.Clone(base.Mounts), Mount{Type: "tmpfs", Target: "/t"})
	s.Networks = append(slices.Clone(base.Networks), Network{Target: "back", Aliases: []string{"b"}})
	s.Secrets = []FileRef{base.Secrets[0]}
	s.Secrets[0].Target = "s" // unchanged value, written out
	body, changed, err := planUpdate(&s, stored, raw, noDefaults, noRefs)
	if err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	for _, keep := range []string{`{"Type":"bind","Source":"/a","Target":"/a","BindOptions":{"NonRecursive":true}}`,
		`{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"Subpath":"sub"}}`, `{"Type":"tmpfs","Target":"/t"}`,
		`"SecretName":"s","Later":1}`, `[{"Target":"front","Aliases":["web"],"Later":true},{"Target":"back","Aliases":["b"]}]`} {
		if !bytes.Contains(body, []byte(keep)) {
			t.Errorf("posted spec lacks %s:\n%s", keep, body)
		}
	}
	// A changed alias rewrites that attachment.
	s = base
	s.Networks = []Network{{Target: "front", Aliases: []string{"web2"}}}
	body, _, err = planUpdate(&s, stored, raw, noDefaults, noRefs)
	if err != nil || !bytes.Contains(body, []byte(`"Networks":[{"Target":"front","Aliases":["web2"]}]`)) {
		t.Errorf("alias change: %v\n%s", err, body)
	}
}

// TestHealthInStatus: a service with a health check says how many tasks
// passed it, and an unhealthy one is failed, saying why.
func TestHealthInStatus(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	ok := h.create(`{"name":"checked","image":"app:1","replicas":2,"healthcheck":{"test":["CMD","true"]}}`)
	sick := h.create(`{"name":"sick","image":"app:unhealthy","replicas":2,"healthcheck":{"test":["CMD","false"],"retries":1}}`)
	plain := h.create(`{"name":"plain","image":"app:1"}`)
	h.clk.Advance(500 * time.Millisecond) // tasks are starting: their checks have not passed yet
	if s := h.get(ok.ID); s.Status != pluginapi.StatusDeploying || s.StatusMessage != "0 of 2 tasks healthy, 2 waiting for their health check to pass" {
		t.Errorf("starting: %s %q", s.Status, s.StatusMessage)
	}
	h.clk.Advance(time.Second)
	if s := h.get(ok.ID); s.Status != pluginapi.StatusRunning || s.StatusMessage != "2 of 2 tasks healthy" {
		t.Errorf("healthy: %s %q", s.Status, s.StatusMessage)
	}
	s := h.get(sick.ID)
	if s.Status != pluginapi.StatusFailed || !strings.HasPrefix(s.StatusMessage, "0 of 2 tasks healthy; task ") || !strings.Contains(s.StatusMessage, "is unhealthy: it failed its health check") {
		t.Errorf("unhealthy: %s %q", s.Status, s.StatusMessage)
	}
	if s := h.get(plain.ID); s.Status != pluginapi.StatusRunning || s.StatusMessage != "" {
		t.Errorf("no health check: %s %q", s.Status, s.StatusMessage)
	}
}

// TestConformancePreservesUnmodeled: the conformance fixture's preserve
// case uses settings the schema really has no field for.
func TestConformancePreservesUnmodeled(t *testing.T) {
	b, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Preserve struct {
			Unmodeled map[string]any `json:"unmodeled"`
		} `json:"preserve"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	modeled := map[string]bool{}
	for _, m := range containerMembers {
		modeled["/Spec/TaskTemplate/ContainerSpec/"+m] = true
	}
	for _, m := range []string{"Healthcheck", "DNSConfig", "Mounts", "Secrets", "Configs"} {
		modeled["/Spec/TaskTemplate/ContainerSpec/"+m] = true
	}
	if len(c.Preserve.Unmodeled) == 0 {
		t.Fatal("no unmodeled fields in the preserve case")
	}
	for path := range c.Preserve.Unmodeled {
		if modeled[path] {
			t.Errorf("%s is modeled now: the preserve case must use a field outside the schema", path)
		}
	}
}

// TestRuntimeConfigsSurviveConfigEdits: a config used as a credential spec
// (a Runtime target, Windows) has no form in the spec; editing the file
// configs must post it back as stored, or the credential spec that names it
// would point at nothing.
func TestRuntimeConfigsSurviveConfigEdits(t *testing.T) {
	runtimeRef := `{"Runtime":{},"ConfigID":"rid","ConfigName":"credspec"}`
	raw := []byte(`{"ID":"abc","Version":{"Index":3},"Spec":{"Name":"demo","TaskTemplate":{"ContainerSpec":{"Image":"x:1",` +
		`"Privileges":{"CredentialSpec":{"Config":"rid"}},` +
		`"Configs":[` + runtimeRef + `,{"File":{"Name":"app.conf","UID":"0","GID":"0","Mode":292},"ConfigID":"cid","ConfigName":"app"}]}},` +
		`"Mode":{"Replicated":{"Replicas":1}}}}`)
	stored, err := decodeService(raw)
	if err != nil {
		t.Fatal(err)
	}
	noDefaults := func() (swarm.ServiceSpec, error) { return stored.Spec, nil }
	refs := func(*Spec, bool, bool) (refIDs, error) {
		return refIDs{configs: map[string]string{"app": "cid", "other": "oid"}}, nil
	}
	base := specFromSwarm(stored.Spec)
	if len(base.Configs) != 1 {
		t.Fatalf("the spec shows %d configs, want the file config only", len(base.Configs))
	}
	for name, configs := range map[string][]FileRef{
		"one added":   append(slices.Clone(base.Configs), FileRef{Name: "other", Target: "other.conf"}),
		"all removed": nil,
	} {
		s := base
		s.Configs = configs
		body, changed, err := planUpdate(&s, stored, raw, noDefaults, refs)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", name, changed, err)
		}
		if !bytes.Contains(body, []byte(runtimeRef)) || !bytes.Contains(body, []byte(`"CredentialSpec":{"Config":"rid"}`)) {
			t.Errorf("%s: the posted spec lost the credential-spec config:\n%s", name, body)
		}
	}
}

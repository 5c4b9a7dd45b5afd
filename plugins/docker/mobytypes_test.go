package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

// legacyService is an engine answer before API 1.44: a network in the task
// template and one in the deprecated service-level list, in the spec and
// the previous spec.
const legacyService = `{"ID":"svc1","Version":{"Index":7},
	"Spec":{"Name":"old","TaskTemplate":{"ContainerSpec":{"Image":"x:1"},"Networks":[{"Target":"front","Aliases":["web"]}]},
	  "Mode":{"Replicated":{"Replicas":1}},"Networks":[{"Target":"back","Aliases":["db"],"DriverOpts":{"k":"v"}}]},
	"PreviousSpec":{"Name":"old","TaskTemplate":{"ContainerSpec":{"Image":"x:0"}},
	  "Mode":{"Replicated":{"Replicas":1}},"Networks":[{"Target":"back"}]}}`

// TestLegacyServiceNetworksFolded: the moby API types have no service-level
// Networks; both decoders fold that list into the task template's, after
// its own, so the friendly spec shows every network as before.
func TestLegacyServiceNetworksFolded(t *testing.T) {
	want := []Network{{Target: "front", Aliases: []string{"web"}}, {Target: "back", Aliases: []string{"db"}, DriverOptions: map[string]string{"k": "v"}}}
	fast, err := decodeService([]byte(legacyService))
	if err != nil {
		t.Fatal(err)
	}
	var slow swarm.Service // the encoding/json fallback
	if err := json.Unmarshal([]byte(legacyService), &slow); err != nil {
		t.Fatal(err)
	}
	if err := foldLegacyNetworks([]byte(legacyService), &slow); err != nil {
		t.Fatal(err)
	}
	for what, svc := range map[string]swarm.Service{"fast decoder": fast, "encoding/json": slow} {
		if got := specFromSwarm(svc.Spec).Networks; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: networks %+v, want %+v", what, got, want)
		}
		if got := specFromSwarm(*svc.PreviousSpec).Networks; len(got) != 1 || got[0].Target != "back" {
			t.Errorf("%s: previous networks %+v", what, got)
		}
	}
}

// TestRealEngineLegacyNetworks: on an engine that still stores the
// service-level list (API before 1.44, as the docker CLI once sent it), a
// get shows its networks, and an update of the networks writes them in
// the task template and drops the old list.
func TestRealEngineLegacyNetworks(t *testing.T) {
	h := realEngine(t)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1_000_000_000)
	network := "wharf-legacy-n-" + suffix
	networkID := realObject(t, "network", fmt.Sprintf(`{"Name":%q,"Driver":"overlay","Attachable":true}`, network))
	name := "wharf-legacy-" + suffix
	removeLater(t, name)
	status, body := realAPI(t, "POST", "/services/create", fmt.Appendf(nil,
		`{"Name":%q,"TaskTemplate":{"ContainerSpec":{"Image":%q}},"Mode":{"Replicated":{"Replicas":0}},"Networks":[{"Target":%q,"Aliases":["old"]}]}`,
		name, testImage(), networkID))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var legacy struct {
		Spec struct {
			Networks     []json.RawMessage
			TaskTemplate struct{ Networks []json.RawMessage }
		}
	}
	_, raw := realAPI(t, "GET", "/services/"+name, nil)
	if err := json.Unmarshal(raw, &legacy); err != nil || len(legacy.Spec.Networks) != 1 {
		t.Skipf("this engine does not keep the service-level list: %s", raw)
	}

	sp := specOf(t, h.get(name))
	if len(sp.Networks) != 1 || sp.Networks[0].Target != networkID || !reflect.DeepEqual(sp.Networks[0].Aliases, []string{"old"}) {
		t.Fatalf("get: networks %+v", sp.Networks)
	}
	sp.Networks[0].Aliases = []string{"old", "new"}
	b, _ := json.Marshal(sp)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: name, Spec: b}, nil)
	_, raw = realAPI(t, "GET", "/services/"+name, nil)
	legacy.Spec.Networks, legacy.Spec.TaskTemplate.Networks = nil, nil
	if err := json.Unmarshal(raw, &legacy); err != nil || len(legacy.Spec.Networks) != 0 || len(legacy.Spec.TaskTemplate.Networks) != 1 {
		t.Fatalf("after the update: %s", raw)
	}
	if sp := specOf(t, h.get(name)); len(sp.Networks) != 1 || !reflect.DeepEqual(sp.Networks[0].Aliases, []string{"old", "new"}) {
		t.Fatalf("get after the update: networks %+v", sp.Networks)
	}
}

// TestRealEngineNameserverNotAnIP: the engine stores any string as a
// nameserver (the docker CLI checks, the API does not), while the moby API
// types hold IP addresses: such a service still lists and gets.
func TestRealEngineNameserverNotAnIP(t *testing.T) {
	h := realEngine(t)
	name := fmt.Sprintf("wharf-dns-%d", time.Now().UnixNano()%1_000_000_000)
	removeLater(t, name)
	status, body := realAPI(t, "POST", "/services/create", fmt.Appendf(nil,
		`{"Name":%q,"Labels":{"wharf-test":%q},"TaskTemplate":{"ContainerSpec":{"Image":%q,"DNSConfig":{"Nameservers":["10.0.0.53","not-an-ip"]}}},"Mode":{"Replicated":{"Replicas":1}}}`,
		name, name, testImage()))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var list pluginapi.ListResponse
	if err := h.call(pluginapi.OpList, pluginapi.ListRequest{Request: h.req(), Filters: map[string][]string{"label": {"wharf-test=" + name}}}, &list); err != nil || len(list.Services) != 1 {
		t.Fatalf("list: %v %+v", err, list.Services)
	}
	sp := specOf(t, h.get(name))
	if sp.DNSConfig == nil || !reflect.DeepEqual(sp.DNSConfig.Nameservers, []string{"10.0.0.53"}) {
		t.Errorf("get: dns config %+v, want the one IP address", sp.DNSConfig)
	}
	// its task carries the same spec
	waitFor(t, "a task", func() bool {
		var inst pluginapi.InstancesResponse
		err := h.call(pluginapi.OpInstances, pluginapi.InstancesRequest{Request: h.req(), ID: name}, &inst)
		if err != nil {
			t.Fatalf("instances: %v", err)
		}
		return len(inst.Instances) > 0 && inst.Instances[0].Image == testImage()
	})
}

// TestNameserversAreAddresses: the moby API types hold nameservers as IP
// addresses, so one that is not is refused naming its field (before, the
// plugin sent it on and the engine stored it), and IPv6 ones come back.
func TestNameserversAreAddresses(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	err := h.call(pluginapi.OpCreate, pluginapi.CreateRequest{Request: h.req(),
		Spec: json.RawMessage(`{"name":"dns","image":"x:1","dns_config":{"nameservers":["10.0.0.53","resolver.local"]}}`)}, nil)
	if err == nil || err.Code != pluginapi.CodeInvalid || err.Field != "/dns_config/nameservers/1" {
		t.Fatalf("a nameserver that is not an address: %+v", err)
	}
	svc := h.create(`{"name":"dns","image":"x:1","dns_config":{"nameservers":["10.0.0.53","2001:db8::35"]}}`)
	if sp := specOf(t, h.get(svc.ID)); !reflect.DeepEqual(sp.DNSConfig.Nameservers, []string{"10.0.0.53", "2001:db8::35"}) {
		t.Fatalf("nameservers back: %+v", sp.DNSConfig)
	}
}

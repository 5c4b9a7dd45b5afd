package main

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// specLayout lays the create and edit forms out (x-group and x-order, ABI
// 1.5): what most services need first, then sections a user opens when
// they need them. Properties missing here go to Advanced.
var specLayout = []struct {
	group string // "" for the basics
	props []string
}{
	{"", []string{"name", "image", "replicas", "ports", "env"}},
	{"Command", []string{"command", "args", "workdir", "user", "groups", "tty", "init", "stop_signal", "stop_grace_period"}},
	{"Storage and files", []string{"mounts", "secrets", "configs", "read_only"}},
	{"Resources", []string{"resources", "ulimits"}},
	{"Placement", []string{"mode", "max_concurrent", "constraints", "placement_preferences", "max_replicas_per_node", "platforms"}},
	{"Networking", []string{"networks", "endpoint_mode", "hostname", "hosts", "dns_config"}},
	{"Health", []string{"healthcheck", "restart_policy"}},
	{"Update policy", []string{"update_config", "rollback_config"}},
	{"Logging", []string{"log_driver"}},
	{"Labels", []string{"labels", "container_labels"}},
	{"Advanced", []string{"cap_add", "cap_drop", "sysctls", "isolation"}},
}

const advancedGroup = "Advanced"

// withLayout adds x-group and x-order to the top-level properties of
// schema, keeping everything else (and the properties' order) as it is.
// It panics on a malformed schema: the schema is a constant, and the
// plugin's tests load it.
func withLayout(schema string) string {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(schema), &doc); err != nil {
		panic(fmt.Sprintf("docker spec schema: %v", err))
	}
	place := map[string][2]any{} // name → group, order
	order := 0
	for _, g := range specLayout {
		for _, p := range g.props {
			order++
			place[p] = [2]any{g.group, order * 10}
		}
	}
	props, names := orderedMembers(doc["properties"])
	var out bytes.Buffer
	out.WriteByte('{')
	for i, name := range names {
		var prop map[string]json.RawMessage
		if err := json.Unmarshal(props[name], &prop); err != nil {
			panic(fmt.Sprintf("docker spec schema: property %s: %v", name, err))
		}
		pl, ok := place[name]
		if !ok {
			pl = [2]any{advancedGroup, 10000}
		}
		if g := pl[0].(string); g != "" {
			prop["x-group"], _ = json.Marshal(g)
		}
		prop["x-order"], _ = json.Marshal(pl[1])
		b, _ := json.Marshal(prop)
		if i > 0 {
			out.WriteByte(',')
		}
		key, _ := json.Marshal(name)
		out.Write(key)
		out.WriteByte(':')
		out.Write(b)
	}
	out.WriteByte('}')
	doc["properties"] = out.Bytes()
	b, _ := json.Marshal(doc)
	return string(b)
}

// orderedMembers reads a JSON object's members and their keys in order.
func orderedMembers(raw json.RawMessage) (map[string]json.RawMessage, []string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		panic(fmt.Sprintf("docker spec schema: properties: %v", err))
	}
	members := map[string]json.RawMessage{}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			panic(fmt.Sprintf("docker spec schema: properties: %v", err))
		}
		k := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			panic(fmt.Sprintf("docker spec schema: property %s: %v", k, err))
		}
		keys = append(keys, k)
		members[k] = v
	}
	return members, keys
}

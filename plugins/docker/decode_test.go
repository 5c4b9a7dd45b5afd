package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockeremu "github.com/wharfhq/wharf/emulators/docker"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestDecodeServiceMatchesEncodingJSON: for services of every shape the
// plugin creates (with and without the engine's defaults, during and after
// a rollout, jobs), the reflection-free decoder gives the same normalized
// service as encoding/json.
func TestDecodeServiceMatchesEncodingJSON(t *testing.T) {
	h := newHarness(t, dockeremu.Options{})
	h.createRefs()
	specs := []string{
		fullSpec,
		templateSpec,
		`{"name":"minimal","image":"x:1"}`,
		`{"name":"agent","image":"x:1","mode":"global","ports":[{"target":9100}]}`,
		`{"name":"batch","image":"x:1","mode":"replicated-job","replicas":4,"max_concurrent":2}`,
		`{"name":"once","image":"x:1","mode":"global-job","endpoint_mode":"dnsrr"}`,
		`{"name":"esc","image":"x:1","tty":true,"workdir":"/w","env":{"Q":"a \"quoted\" \\ value\n\u00e9\ud83d\ude00","U":"<>&"},"labels":{"k\"ey":"v\u2028"},"command":["sh","-c","echo \"hi\""]}`,
	}
	var ids []string
	for _, sp := range specs {
		ids = append(ids, h.create(sp).ID)
	}

	e := &engine{host: "tcp://127.0.0.1:2375", version: "1.47"}
	compare := func(what string, raw []byte) {
		t.Helper()
		var want swarm.Service
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		got, err := fastDecode(raw)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, raw)
		}
		w, g := e.toService(want, raw, want.ServiceStatus, nil), e.toService(got, raw, got.ServiceStatus, nil)
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%s: decoded differently\nencoding/json: %+v\nfast:          %+v", what, w, g)
		}
		if (want.PreviousSpec == nil) != (got.PreviousSpec == nil) {
			t.Errorf("%s: previous spec %v, want %v", what, got.PreviousSpec != nil, want.PreviousSpec != nil)
		}
	}
	inspectAll := func() {
		for _, id := range ids {
			for _, defaults := range []string{"true", "false"} {
				resp := h.doer.Do(&pluginapi.HTTPRequest{Method: "GET", Endpoint: "host", Path: "/v1.47/services/" + id, Query: map[string][]string{"insertDefaults": {defaults}}})
				compare(id+" insertDefaults="+defaults, resp.Body)
			}
		}
	}
	inspectAll()
	h.clk.Advance(time.Second)
	inspectAll()
	// a rollout in progress, and a previous spec to roll back to
	up := specOf(t, h.get(ids[0]))
	up.Image = "nginx:1.28"
	b, _ := json.Marshal(up)
	h.mustCall(pluginapi.OpUpdate, pluginapi.UpdateRequest{Request: h.req(), ID: ids[0], Spec: b}, nil)
	inspectAll()
	resp := h.doer.Do(&pluginapi.HTTPRequest{Method: "GET", Endpoint: "host", Path: "/v1.47/services", Query: map[string][]string{"status": {"true"}}})
	keys, err := scanServices(resp.Body)
	if err != nil || len(keys) != len(ids) {
		t.Fatalf("scan: %d services, %v", len(keys), err)
	}
	var listed []swarm.Service
	_ = json.Unmarshal(resp.Body, &listed)
	for i, k := range keys {
		if k.id != listed[i].ID || k.name != listed[i].Spec.Name || !reflect.DeepEqual(k.counts(), listed[i].ServiceStatus) {
			t.Errorf("scan item %d: %+v, want %s %s %+v", i, k, listed[i].ID, listed[i].Spec.Name, listed[i].ServiceStatus)
		}
		compare("listed "+k.name, k.raw)
	}
}

// fastDecode is decodeService without the fallback.
func fastDecode(raw []byte) (swarm.Service, error) {
	var svc swarm.Service
	err := fastService(parseValue(raw), &svc)
	return svc, err
}

// TestJSONValues: jvalue reads strings and numbers as encoding/json does,
// and a value of an unexpected type is an error (so decodeService falls
// back to encoding/json) rather than a wrong value.
func TestJSONValues(t *testing.T) {
	for _, s := range []string{`"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d\ud83d\ude00"`, `"\u003c\u0026\u2028"`, `"\ud83d"`, `"\ud83dx"`, `""`, `null`} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		got, err := parseValue([]byte(s)).str()
		if err != nil || got != want {
			t.Errorf("str(%s) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{`0`, `7`, `18446744073709551615`, `null`} {
		var want uint64
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if got, err := parseValue([]byte(s)).uint(); err != nil || got != want {
			t.Errorf("uint(%s) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{`-5000000000`, `0`, `9223372036854775807`, `null`} {
		var want int64
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if got, err := parseValue([]byte(s)).int(); err != nil || got != want {
			t.Errorf("int(%s) = %d, %v; want %d", s, got, err, want)
		}
	}
	var keys, vals []string
	err := parseValue([]byte(` { "a" : [1, {"x":"]}"}, "s\"}"] ,"b":{"c":{}},"k\u0022":"v","n":null, "t":true,"e":[]}` + "\n")).object(func(k []byte, v jvalue) error {
		keys = append(keys, string(k))
		vals = append(vals, string(v.b))
		return nil
	})
	if err != nil || !reflect.DeepEqual(keys, []string{"a", "b", `k"`, "n", "t", "e"}) || vals[0] != `[1, {"x":"]}"}, "s\"}"]` || vals[1] != `{"c":{}}` {
		t.Fatalf("object: %q %q %v", keys, vals, err)
	}
	// wrong types, bad escapes, overflow, malformed or trailing text
	bad := map[string]func(jvalue) error{
		`1`:                   func(v jvalue) error { _, err := v.str(); return err },
		`"1"`:                 func(v jvalue) error { _, err := v.uint(); return err },
		`-1`:                  func(v jvalue) error { _, err := v.uint(); return err },
		`1.5`:                 func(v jvalue) error { _, err := v.int(); return err },
		`9223372036854775808`: func(v jvalue) error { _, err := v.int(); return err },
		`"true"`:              func(v jvalue) error { _, err := v.bool(); return err },
		`"\x"`:                func(v jvalue) error { _, err := v.str(); return err },
		`[1]`:                 func(v jvalue) error { _, err := v.strings(); return err },
		`{"a":1}`:             func(v jvalue) error { _, err := v.stringMap(); return err },
		`"yesterday"`:         func(v jvalue) error { _, err := v.time(); return err },
		`{"a":1} {}`:          func(v jvalue) error { return v.object(func([]byte, jvalue) error { return nil }) },
		`{"a":1 "b":2}`:       func(v jvalue) error { return v.object(func([]byte, jvalue) error { return nil }) },
		`[1,2`:                func(v jvalue) error { return v.array(func(jvalue) error { return nil }) },
		`{"a":"x}`:            func(v jvalue) error { return v.object(func([]byte, jvalue) error { return nil }) },
	}
	for s, read := range bad {
		if err := read(parseValue([]byte(s))); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
	if _, err := decodeService([]byte(`{"ID":"x","Spec":{"Name":1}}`)); err == nil {
		t.Error("a name that is a number: no error")
	}
}

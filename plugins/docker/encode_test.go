package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginapi/plugin/jsonw"
)

// tricky strings for the encoders: escapes, HTML, unicode, line
// separators, control characters, invalid UTF-8, empty.
var trickyStrings = []string{"", "plain", `a "quoted" \ value`, "line\nbreak\r\ttab", "<script>&amp;</script>",
	"é ü 日本 😀", "\u2028\u2029", "\x00\x01\x1f\x7f", "bad \xff utf8 \xc3", "trailing \\", "=,%2C+"}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return trickyStrings[r.IntN(len(trickyStrings))]
	}
	alphabet := []rune("abcXYZ019 -_:/\"\\<>&\n\t\u00e9\u2028😀\x00")
	n := r.IntN(12)
	out := make([]rune, n)
	for i := range out {
		out[i] = alphabet[r.IntN(len(alphabet))]
	}
	s := string(out)
	if r.IntN(10) == 0 {
		s += "\xff" // invalid UTF-8
	}
	return s
}

func randMap(r *rand.Rand) map[string]string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return map[string]string{}
	}
	m := map[string]string{}
	for range r.IntN(5) + 1 {
		m[randString(r)] = randString(r)
	}
	return m
}

func randStrings(r *rand.Rand) []string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, r.IntN(4)+1)
	for i := range out {
		out[i] = randString(r)
	}
	return out
}

func randIntPtr(r *rand.Rand) *int {
	if r.IntN(2) == 0 {
		return nil
	}
	n := r.IntN(2000) - 1000
	if r.IntN(4) == 0 {
		n = 0
	}
	return &n
}

var trickyFloats = []float64{0, 0.5, 1, 1.25, 2.5e-7, 1e-6, 123456789.125, 1e21, 3e22, -0.75, 1.0 / 3}

func randFloat(r *rand.Rand) float64 { return trickyFloats[r.IntN(len(trickyFloats))] }

func randTimePtr(r *rand.Rand) *time.Time {
	if r.IntN(3) == 0 {
		return nil
	}
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(1000 * time.Hour))))
	if r.IntN(3) == 0 {
		t = t.In(time.FixedZone("", 5*3600+1800))
	}
	if r.IntN(3) == 0 {
		t = t.Truncate(time.Second)
	}
	return &t
}

func randUpdateConfig(r *rand.Rand) *UpdateConfig {
	if r.IntN(2) == 0 {
		return nil
	}
	u := &UpdateConfig{Parallelism: randIntPtr(r), Delay: randString(r), FailureAction: randString(r), Monitor: randString(r), Order: randString(r)}
	if r.IntN(2) == 0 {
		f := randFloat(r)
		u.MaxFailureRatio = &f
	}
	return u
}

func randBoolPtr(r *rand.Rand) *bool {
	if r.IntN(3) == 0 {
		return nil
	}
	b := r.IntN(2) == 0
	return &b
}

func randSpec(r *rand.Rand) *Spec {
	s := &Spec{Name: randString(r), Image: randString(r), Command: randStrings(r), Args: randStrings(r),
		Env: randMap(r), Labels: randMap(r), ContainerLabels: randMap(r), Workdir: randString(r), User: randString(r),
		Groups: randStrings(r), TTY: r.IntN(2) == 0, Hostname: randString(r), ReadOnly: r.IntN(2) == 0, Init: randBoolPtr(r),
		StopSignal: randString(r), StopGracePeriod: randString(r), Hosts: randStrings(r), CapAdd: randStrings(r),
		CapDrop: randStrings(r), Sysctls: randMap(r), Isolation: randString(r),
		Mode: randString(r), Replicas: randIntPtr(r), MaxConcurrent: randIntPtr(r),
		Constraints: randStrings(r), MaxPerNode: r.IntN(3), EndpointMode: randString(r),
		UpdateConfig: randUpdateConfig(r), RollbackConfig: randUpdateConfig(r)}
	if r.IntN(2) == 0 {
		s.Healthcheck = &Healthcheck{Test: randStrings(r), Interval: randString(r), Timeout: randString(r), StartPeriod: randString(r), Retries: r.IntN(3)}
	}
	for range r.IntN(3) {
		s.Mounts = append(s.Mounts, Mount{Type: randString(r), Source: randString(r), Target: randString(r), ReadOnly: r.IntN(2) == 0,
			Consistency: randString(r), Propagation: randString(r), NoCopy: r.IntN(2) == 0, Labels: randMap(r), Driver: randString(r),
			DriverOptions: randMap(r), TmpfsSize: randString(r), TmpfsMode: randString(r)})
	}
	for range r.IntN(3) {
		s.Secrets = append(s.Secrets, FileRef{Name: randString(r), Target: randString(r), UID: randString(r), GID: randString(r), Mode: randString(r)})
	}
	for range r.IntN(3) {
		s.Configs = append(s.Configs, FileRef{Name: randString(r), Target: randString(r)})
	}
	if r.IntN(2) == 0 {
		s.DNSConfig = &DNSConfig{Nameservers: randStrings(r), Search: randStrings(r), Options: randStrings(r)}
	}
	for range r.IntN(3) {
		s.Ulimits = append(s.Ulimits, Ulimit{Name: randString(r), Soft: r.Int64N(1<<40) - 1, Hard: r.Int64N(1<<62) - 1})
	}
	for range r.IntN(3) {
		s.Preferences = append(s.Preferences, Preference{Spread: randString(r)})
	}
	for range r.IntN(3) {
		s.Platforms = append(s.Platforms, Platform{Architecture: randString(r), OS: randString(r)})
	}
	for range r.IntN(4) {
		n := Network{Target: randString(r)}
		if r.IntN(2) == 0 {
			n.Aliases, n.DriverOptions = randStrings(r), randMap(r)
		}
		s.Networks = append(s.Networks, n)
	}
	if r.IntN(2) == 0 {
		s.Resources = &Resources{CPULimit: randFloat(r), MemoryLimit: randString(r), CPUReservation: randFloat(r), MemoryReservation: randString(r)}
		for range r.IntN(3) {
			g := GenericResource{Kind: randString(r), Named: randString(r)}
			if r.IntN(2) == 0 {
				n := r.Int64N(100) - 1
				g.Discrete = &n
			}
			s.Resources.Generic = append(s.Resources.Generic, g)
		}
	}
	if r.IntN(2) == 0 {
		s.RestartPolicy = &RestartPolicy{Condition: randString(r), Delay: randString(r), MaxAttempts: randIntPtr(r), Window: randString(r)}
	}
	switch r.IntN(3) {
	case 0:
		s.Ports = []Port{}
	case 1:
		for range r.IntN(3) + 1 {
			s.Ports = append(s.Ports, Port{Target: r.IntN(3) * 80, Published: r.IntN(2) * 30001, Protocol: randString(r), Mode: randString(r)})
		}
	}
	if r.IntN(2) == 0 {
		s.LogDriver = &LogDriver{Name: randString(r), Options: randMap(r)}
	}
	return s
}

func randService(r *rand.Rand) pluginapi.Service {
	s := pluginapi.Service{ID: randString(r), Name: randString(r), Status: pluginapi.Status(randString(r)),
		NativeStatus: randString(r), StatusMessage: randString(r), Desired: randIntPtr(r), Running: randIntPtr(r),
		Image: randString(r), Labels: randMap(r), CreatedAt: randTimePtr(r), UpdatedAt: randTimePtr(r), Version: randString(r)}
	switch r.IntN(3) {
	case 0:
		s.Endpoints = []pluginapi.Endpoint{}
	case 1:
		for range r.IntN(3) + 1 {
			s.Endpoints = append(s.Endpoints, pluginapi.Endpoint{URL: randString(r), Protocol: randString(r), Port: r.IntN(2) * 80, Public: r.IntN(2) * 30001})
		}
	}
	if r.IntN(2) == 0 {
		s.Rollout = &pluginapi.Rollout{State: randString(r), Message: randString(r), Rollback: r.IntN(2) == 0,
			StartedAt: randTimePtr(r), CompletedAt: randTimePtr(r)}
	}
	if r.IntN(4) != 0 {
		s.Spec = appendSpec(nil, randSpec(r))
	}
	if r.IntN(4) != 0 {
		// as the engine sends it: indented, with escapes
		s.Raw = json.RawMessage("{\n  \"ID\": " + string(jsonw.AppendString(nil, randString(r))) + ",\n  \"Spec\": {\"Name\": \"x\\u00e9\"}\n}")
	}
	return s
}

func randLogEntry(r *rand.Rand) pluginapi.LogEntry {
	return pluginapi.LogEntry{Time: randTimePtr(r), Stream: randString(r), Instance: randString(r), Message: randString(r), Details: randMap(r)}
}

// sameJSON fails unless hand decodes to what encoding/json's output of v
// decodes to.
func sameJSON(t *testing.T, what string, hand []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(hand) {
		t.Fatalf("%s: invalid JSON %s", what, hand)
	}
	var g, w any
	if err := json.Unmarshal(hand, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s differs:\nhand: %s\njson: %s", what, hand, want)
	}
}

// TestAppendSpecMatchesEncodingJSON: the spec encoder writes exactly the
// bytes json.Marshal writes, over random specs with tricky strings,
// floats, nil and empty fields.
func TestAppendSpecMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		s := randSpec(r)
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSpec(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("spec %d:\nhand: %s\njson: %s", i, got, want)
		}
	}
	// and the zero spec
	if got, want := appendSpec(nil, &Spec{}), []byte(`{"name":"","image":""}`); !bytes.Equal(got, want) {
		t.Fatalf("zero spec: %s", got)
	}
}

// TestEncodeAnswerMatchesEncodingJSON: the SDK's answer encoder, which
// the plugin answers with, on services as this plugin makes them (its
// spec embedded, Raw indented as the engine sends it): service, list and
// logs answers decode to the same value as encoding/json's.
func TestEncodeAnswerMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		svc := randService(r)
		sr := &pluginapi.ServiceResponse{Service: &svc, Warnings: randStrings(r)}
		if r.IntN(5) == 0 {
			sr.Service = nil
		}
		out, ok := plugin.EncodeAnswer(sr)
		if !ok {
			t.Fatal("service answer not encoded")
		}
		sameJSON(t, "service answer", out, sr)

		lr := &pluginapi.ListResponse{NextPageToken: randString(r)}
		if r.IntN(4) != 0 {
			lr.Services = []pluginapi.Service{}
			for range r.IntN(4) {
				lr.Services = append(lr.Services, randService(r))
			}
		}
		out, _ = plugin.EncodeAnswer(lr)
		sameJSON(t, "list answer", out, lr)

		gr := &pluginapi.LogsResponse{Cursor: randString(r), More: r.IntN(2) == 0, End: r.IntN(2) == 0}
		if r.IntN(2) == 0 {
			gr.CursorBackward = randString(r)
		}
		if r.IntN(4) != 0 {
			gr.Entries = []pluginapi.LogEntry{}
			for range r.IntN(5) {
				gr.Entries = append(gr.Entries, randLogEntry(r))
			}
		}
		out, _ = plugin.EncodeAnswer(gr)
		sameJSON(t, "logs answer", out, gr)
	}
	// errors and other answers are left to encoding/json
	if _, ok := plugin.EncodeAnswer(&pluginapi.ServiceResponse{Response: pluginapi.Response{Error: pluginapi.NotFound("x")}}); ok {
		t.Error("an error answer was hand-encoded")
	}
	if _, ok := plugin.EncodeAnswer(&pluginapi.DescribeResponse{}); ok {
		t.Error("a describe answer was hand-encoded")
	}
}

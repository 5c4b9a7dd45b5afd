package pluginapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// Absent and empty actions_available mean different things (any action
// may apply; none does), so both must survive a round trip.
func TestActionsAvailableAbsentIsNotEmpty(t *testing.T) {
	for _, tc := range []struct {
		in      string
		out     string // what encoding writes back: "" for nothing
		startOK bool
	}{
		{`{"id":"a"}`, "", true},
		{`{"id":"a","actions_available":null}`, "", true},
		{`{"id":"a","actions_available":[]}`, `"actions_available":[]`, false},
		{`{"id":"a","actions_available":["stop"]}`, `"actions_available":["stop"]`, false},
		{`{"id":"a","actions_available":["start","scale"]}`, `"actions_available":["start","scale"]`, true},
	} {
		var s Service
		if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
			t.Fatal(err)
		}
		if got := s.ActionAvailable(ActionStart); got != tc.startOK {
			t.Errorf("%s: start available = %v, want %v", tc.in, got, tc.startOK)
		}
		b, _ := json.Marshal(&s)
		if tc.out == "" && strings.Contains(string(b), "actions_available") || !strings.Contains(string(b), tc.out) {
			t.Errorf("%s encodes as %s, want %s", tc.in, b, tc.out)
		}
	}
}

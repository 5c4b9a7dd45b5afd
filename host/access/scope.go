package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Target is a connection as scopes see it.
type Target struct {
	Name   string
	Labels map[string]string
}

// MaxScopeConnections bounds the names one scope may list.
const MaxScopeConnections = 1000

// maxSelectorLen bounds a selector's text.
const maxSelectorLen = 1024

// Scope is which connections a grant applies to: exactly one of every
// connection, connections by name, or connections whose labels match a
// Kubernetes label selector ("team=payments,env!=prod", "tier in (web,api)").
// Its JSON is {"all":true}, {"connections":["a","b"]} or
// {"selector":"team=payments"}. Build one with All, Names or ParseSelector,
// or decode one: the zero Scope matches nothing.
type Scope struct {
	all      bool
	names    []string // sorted, unique
	selector string   // as written
	sel      labels.Selector
}

// All is the scope of every connection.
func All() Scope { return Scope{all: true} }

// Names is the scope of the named connections.
func Names(names ...string) (Scope, error) {
	if len(names) == 0 {
		return Scope{}, fmt.Errorf("connections: name at least one connection")
	}
	if len(names) > MaxScopeConnections {
		return Scope{}, fmt.Errorf("connections: at most %d names, not %d", MaxScopeConnections, len(names))
	}
	out := slices.Clone(names)
	for i, n := range out {
		if strings.TrimSpace(n) == "" || len(n) > 128 {
			return Scope{}, fmt.Errorf("connections[%d]: %q is not a connection name", i, n)
		}
	}
	slices.Sort(out)
	return Scope{names: slices.Compact(out)}, nil
}

// ParseSelector is the scope of the connections a label selector matches.
// An empty selector is refused (it would match everything: say All).
func ParseSelector(s string) (Scope, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Scope{}, fmt.Errorf("selector: empty; to mean every connection, use {\"all\": true}")
	case len(s) > maxSelectorLen:
		return Scope{}, fmt.Errorf("selector: at most %d characters", maxSelectorLen)
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return Scope{}, fmt.Errorf("selector %q: %v", s, err)
	}
	if sel.Empty() {
		return Scope{}, fmt.Errorf("selector %q selects everything; to mean every connection, use {\"all\": true}", s)
	}
	return Scope{selector: s, sel: sel}, nil
}

// IsAll reports whether s is every connection.
func (s Scope) IsAll() bool { return s.all }

// Connections returns the names s lists (nil unless it is a by-name scope).
func (s Scope) Connections() []string { return slices.Clone(s.names) }

// Selector returns the selector of s ("" unless it is a selector scope).
func (s Scope) Selector() string { return s.selector }

// Matches reports whether t is in s.
func (s Scope) Matches(t Target) bool {
	switch {
	case s.all:
		return true
	case s.sel != nil:
		return s.sel.Matches(labels.Set(t.Labels))
	default:
		_, found := slices.BinarySearch(s.names, t.Name)
		return found
	}
}

// Covers reports whether every connection o can ever match is in s,
// whatever labels connections get later: All covers everything; a list
// covers a list of some of its names; a selector covers a selector that
// has at least its requirements (team=payments covers
// team=payments,env=prod). Anything else is not covered — a selector never
// covers names, since labels change — so Covers is sound but conservative.
func (s Scope) Covers(o Scope) bool {
	switch {
	case s.all:
		return true
	case o.all:
		return false
	case s.sel != nil:
		if o.sel == nil {
			return false
		}
		mine, ok1 := s.sel.Requirements()
		theirs, ok2 := o.sel.Requirements()
		if !ok1 || !ok2 {
			return false
		}
		have := map[string]bool{}
		for _, r := range theirs {
			have[r.String()] = true
		}
		for _, r := range mine {
			if !have[r.String()] {
				return false
			}
		}
		return true
	default:
		if o.sel != nil || len(s.names) == 0 {
			return false
		}
		for _, n := range o.names {
			if _, found := slices.BinarySearch(s.names, n); !found {
				return false
			}
		}
		return true
	}
}

// String describes s for people: "all connections", "connections a, b",
// "connections matching team=payments".
func (s Scope) String() string {
	switch {
	case s.all:
		return "all connections"
	case s.sel != nil:
		return "connections matching " + s.selector
	case len(s.names) == 1:
		return "connection " + s.names[0]
	case len(s.names) > 0:
		return "connections " + strings.Join(s.names, ", ")
	default:
		return "no connections"
	}
}

type scopeJSON struct {
	All         bool     `json:"all,omitempty"`
	Connections []string `json:"connections,omitempty"`
	Selector    string   `json:"selector,omitempty"`
}

// MarshalJSON writes one of the three forms.
func (s Scope) MarshalJSON() ([]byte, error) {
	return json.Marshal(scopeJSON{All: s.all, Connections: s.names, Selector: s.selector})
}

// UnmarshalJSON reads one of the three forms, refusing unknown fields and
// a scope that says two things (or nothing).
func (s *Scope) UnmarshalJSON(b []byte) error {
	var j scopeJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("scope: %v (write {\"all\": true}, {\"connections\": [...]} or {\"selector\": \"...\"})", err)
	}
	n := 0
	if j.All {
		n++
	}
	if j.Connections != nil {
		n++
	}
	if j.Selector != "" {
		n++
	}
	if n != 1 {
		return fmt.Errorf("scope: give exactly one of all, connections, selector")
	}
	var err error
	switch {
	case j.All:
		*s = All()
	case j.Connections != nil:
		*s, err = Names(j.Connections...)
	default:
		*s, err = ParseSelector(j.Selector)
	}
	if err != nil {
		return fmt.Errorf("scope: %w", err)
	}
	return nil
}

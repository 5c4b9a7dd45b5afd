package access

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Grant is a role on a scope.
type Grant struct {
	Role  Role  `json:"role"`
	Scope Scope `json:"scope"`
}

// Check refuses an unknown role and an owner grant that is not on
// everything (owner powers are host-wide).
func (g Grant) Check() error {
	if !g.Role.Valid() {
		return fmt.Errorf("role %q is not one of viewer, operator, admin, owner", g.Role)
	}
	if g.Role == Owner && !g.Scope.IsAll() {
		return fmt.Errorf("role owner is host-wide: its scope must be {\"all\": true}, not %s", g.Scope)
	}
	if !g.Scope.IsAll() && g.Scope.sel == nil && len(g.Scope.names) == 0 {
		return fmt.Errorf("scope: give exactly one of all, connections, selector")
	}
	return nil
}

// String is "operator on connections matching team=payments".
func (g Grant) String() string { return string(g.Role) + " on " + g.Scope.String() }

// Rights is what a caller may do: the role on each connection, and whether
// they hold the host-wide owner powers.
type Rights interface {
	RoleOn(Target) Role
	Owner() bool
	// Top is the most powerful role held on any connection (owner for an
	// owner): what a page may offer before it knows the connection.
	Top() Role
	// Covers reports whether these rights include g: whether a caller
	// holding them may hand g to a token or a binding.
	Covers(g Grant) bool
}

// Grants is a set of grants; its role on a connection is the most powerful
// role among the grants that match it (owner counts as admin there).
type Grants []Grant

// RoleOn returns the role gs give on t.
func (gs Grants) RoleOn(t Target) Role {
	r := None
	for _, g := range gs {
		if g.Scope.Matches(t) {
			r = Max(r, g.Role)
		}
	}
	if r == Owner {
		return Admin
	}
	return r
}

// Top is the most powerful role among gs.
func (gs Grants) Top() Role {
	r := None
	for _, g := range gs {
		r = Max(r, g.Role)
	}
	return r
}

// Owner reports whether gs hold an owner grant.
func (gs Grants) Owner() bool {
	for _, g := range gs {
		if g.Role == Owner {
			return true
		}
	}
	return false
}

// Covers reports whether gs grant at least g: one grant of gs has a role
// at least g's on a scope that covers g's (see Scope.Covers). It decides
// whether a caller may hand g to a token or a binding.
func (gs Grants) Covers(g Grant) bool {
	for _, mine := range gs {
		if mine.Role.Allows(g.Role) && mine.Scope.Covers(g.Scope) {
			return true
		}
	}
	return false
}

// Check checks every grant, naming the first bad one by index.
func (gs Grants) Check() error {
	for i, g := range gs {
		if err := g.Check(); err != nil {
			return fmt.Errorf("grants[%d]: %w", i, err)
		}
	}
	return nil
}

// ParseGrants decodes a JSON array of grants and checks them.
func ParseGrants(b []byte) (Grants, error) {
	var gs Grants
	if err := json.Unmarshal(b, &gs); err != nil {
		return nil, err
	}
	return gs, gs.Check()
}

// String lists the grants for people.
func (gs Grants) String() string {
	if len(gs) == 0 {
		return "no access"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, "; ")
}

// Everything is the rights of an owner: open mode, the owner's tests.
var Everything Rights = Grants{{Role: Owner, Scope: All()}}

// Nothing is no rights at all.
var Nothing Rights = Grants(nil)

// Intersect is what both a and b allow: a token's own grants bounded by
// the current rights of the user who made it, so a token never outlives a
// demotion.
func Intersect(a, b Rights) Rights { return both{a, b} }

type both struct{ a, b Rights }

func (x both) RoleOn(t Target) Role { return Min(x.a.RoleOn(t), x.b.RoleOn(t)) }
func (x both) Owner() bool          { return x.a.Owner() && x.b.Owner() }

// Top is a bound, not exact: a and b may reach their tops on different
// connections. Pages use it only to decide what to offer.
func (x both) Top() Role { return Min(x.a.Top(), x.b.Top()) }

// Covers asks both: a grant one of them lacks is not held.
func (x both) Covers(g Grant) bool { return x.a.Covers(g) && x.b.Covers(g) }

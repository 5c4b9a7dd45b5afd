// Package access decides what a caller may do: roles, the scopes they
// apply to (every connection, connections by name, connections matching a
// label selector), grants and role bindings. It holds no state and does no
// I/O: the identity store keeps the bindings, host/auth resolves a caller's
// grants, host/ops asks RoleOn before touching a connection.
package access

import "fmt"

// Role is what a caller may do on a connection. Each role includes the ones
// before it.
type Role string

// The roles, least powerful first.
const (
	// None is no role: the connection is not even visible.
	None Role = ""
	// Viewer reads: connections (secrets redacted), services, logs,
	// instances, deployments, the connection's audit entries.
	Viewer Role = "viewer"
	// Operator also changes services: create, update, delete, actions, invoke.
	Operator Role = "operator"
	// Admin also manages the connection itself: its config, secrets, labels.
	Admin Role = "admin"
	// Owner holds host-wide powers besides admin on every connection:
	// plugins, role bindings, users, sessions and tokens of others, the
	// whole audit log. An owner grant's scope is always everything.
	Owner Role = "owner"
)

// Roles lists the roles from least to most powerful.
var Roles = []Role{Viewer, Operator, Admin, Owner}

// Rank orders roles: None is 0, Viewer 1 … Owner 4; an unknown role is -1.
func (r Role) Rank() int {
	if r == None {
		return 0
	}
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Allows reports whether r may do what need may do.
func (r Role) Allows(need Role) bool { return r.Rank() >= 0 && r.Rank() >= need.Rank() }

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return None, fmt.Errorf("role %q is not one of viewer, operator, admin, owner", s)
}

// Max returns the more powerful of a and b.
func Max(a, b Role) Role {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// Min returns the less powerful of a and b.
func Min(a, b Role) Role {
	if b.Rank() < a.Rank() {
		return b
	}
	return a
}

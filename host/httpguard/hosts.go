package httpguard

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostSet is the set of Host names a host answers to. Loopback names are
// always in it: a page can only have a loopback origin if it is served from
// this machine, so they cannot be used for DNS rebinding.
type hostSet map[string]bool

func newHostSet(names []string) (hostSet, error) {
	s := hostSet{}
	for i, n := range names {
		if err := s.add(n); err != nil {
			return nil, fmt.Errorf("httpguard: AllowedHosts[%d]: %w", i, err)
		}
	}
	return s, nil
}

// add puts a name (a DNS name or an IP literal, no port) in the set.
func (s hostSet) add(name string) error {
	n, ok := normHost(name)
	if !ok || strings.ContainsAny(n, "/@?#*") {
		return fmt.Errorf("%q is not a host name (no scheme, port or wildcard)", name)
	}
	s[n] = true
	return nil
}

// allows reports whether hostport, a request's Host header, is served.
func (s hostSet) allows(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	n, ok := normHost(h)
	if !ok {
		return false
	}
	return s[n] || isLoopbackName(n)
}

// normHost lowercases a host name, drops a trailing dot and IPv6 brackets,
// and writes IP literals in their canonical form.
func normHost(h string) (string, bool) {
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" || strings.ContainsAny(h, " :\t") && !isIP(h) {
		return "", false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String(), true
	}
	return h, true
}

func isIP(h string) bool { _, err := netip.ParseAddr(h); return err == nil }

// isLoopbackName reports localhost and loopback IP literals.
func isLoopbackName(n string) bool {
	if n == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(n)
	return err == nil && a.IsLoopback()
}

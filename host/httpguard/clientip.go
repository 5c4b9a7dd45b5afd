package httpguard

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// proxySet is the trusted reverse proxies.
type proxySet []netip.Prefix

func newProxySet(cidrs []string) (proxySet, error) {
	var s proxySet
	for i, c := range cidrs {
		c = strings.TrimSpace(c)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("httpguard: TrustedProxies[%d] %q: not a CIDR (10.0.0.0/8) or an IP address", i, c)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		s = append(s, p.Masked())
	}
	return s, nil
}

// contains reports whether addr (an IP or host:port) is a trusted proxy.
func (s proxySet) contains(addr string) bool {
	if len(s) == 0 {
		return false
	}
	a, ok := parseAddr(addr)
	if !ok {
		return false
	}
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an IP from "ip" or "ip:port".
func parseAddr(addr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"))
	return a.Unmap(), err == nil
}

// IPExtractor returns the client address of a request: the socket's peer,
// or, when the peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For. X-Real-IP is never read. Loopback, private and
// link-local peers are not trusted unless configured (echo trusts them by
// default, which would let anyone on the same network pick their address).
func (g *Guard) IPExtractor() echo.IPExtractor {
	if len(g.proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range g.proxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ClientKey is the unit a per-client limit counts: the address itself for
// IPv4, its /64 for IPv6 (one subscriber usually holds a whole /64).
func ClientKey(addr string) string {
	a, ok := parseAddr(addr)
	if !ok {
		return addr
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

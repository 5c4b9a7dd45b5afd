package egress

import (
	"net"
	"net/url"
	"strings"
)

// hostPattern is one allowed host: an exact host from an endpoint value, or
// a pattern from the plugin's describe where "*" matches within one DNS
// label ("ecs.*.amazonaws.com"). Without a port it matches the scheme's
// default port only.
type hostPattern struct {
	labels []string // lowercase, split at dots
	port   string   // "" = the default port of the request's scheme
	text   string   // as written, for messages
	exact  bool     // from an endpoint value: no wildcards
}

// parsePattern reads "host", "host:port", "[v6]" or "[v6]:port".
func parsePattern(p string) (hostPattern, bool) {
	p = strings.TrimSpace(p)
	host, port := p, ""
	if strings.HasPrefix(p, "[") || strings.Count(p, ":") == 1 {
		h, pt, err := net.SplitHostPort(p)
		if err != nil {
			if !strings.HasSuffix(p, "]") {
				return hostPattern{}, false
			}
			h = strings.Trim(p, "[]") // "[::1]" without a port
		}
		host, port = h, pt
	}
	host = normalizeHost(host)
	if host == "" || strings.Contains(host, "/") {
		return hostPattern{}, false
	}
	return hostPattern{labels: strings.Split(host, "."), port: port, text: p}, true
}

// exactPattern allows exactly host:port.
func exactPattern(hostname, port string) hostPattern {
	h := normalizeHost(hostname)
	return hostPattern{labels: strings.Split(h, "."), port: port, text: net.JoinHostPort(h, port), exact: true}
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// matches reports whether the pattern allows a request to u.
func (p hostPattern) matches(u *url.URL) bool {
	host := normalizeHost(u.Hostname())
	if host == "" {
		return false
	}
	if port := portOf(u); p.port == "" {
		if port != defaultPort(u.Scheme) {
			return false
		}
	} else if port != p.port {
		return false
	}
	labels := strings.Split(host, ".")
	if len(labels) != len(p.labels) {
		return false
	}
	for i, l := range labels {
		if p.exact {
			if l != p.labels[i] {
				return false
			}
		} else if l == "" || !globLabel(p.labels[i], l) {
			return false
		}
	}
	return true
}

// globLabel matches one DNS label against a pattern label in which "*"
// stands for any run of characters (never a dot: labels are split already).
func globLabel(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	prefix, rest := pattern[:star], pattern[star+1:]
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	s = s[len(prefix):]
	for i := 0; i <= len(s); i++ {
		if globLabel(rest, s[i:]) {
			return true
		}
	}
	return false
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// hostKey is host:port with the default port filled in, to tell hosts apart.
func hostKey(u *url.URL) string {
	return net.JoinHostPort(normalizeHost(u.Hostname()), portOf(u))
}

// describeAllowed lists allowed hosts for an error message.
func describeAllowed(ps []hostPattern, socket bool) string {
	var parts []string
	if socket {
		parts = append(parts, "the endpoint's unix socket")
	}
	for _, p := range ps {
		parts = append(parts, p.text)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

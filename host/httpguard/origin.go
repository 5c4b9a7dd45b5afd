package httpguard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// checkOrigin refuses a request a browser sent on behalf of another site.
//
// Browsers put Origin on every cross-origin request and on every POST, and
// modern ones add Sec-Fetch-Site; a page cannot forge either. So:
//   - an Origin must be the host's own (the scheme and Host of this
//     request, or PublicURL's) or one of AllowedOrigins; "null" never is;
//   - without Origin, Sec-Fetch-Site must be same-origin or none, except
//     that a cross-site top-level GET navigation (someone followed a link)
//     is fine: reads cannot be seen by the other site and GETs change
//     nothing;
//   - a request with neither header (curl, the wharf CLI) passes: it was
//     not sent by a browser for a web page.
func (g *Guard) checkOrigin(r *http.Request) error {
	if origin := r.Header.Get("Origin"); origin != "" {
		n, ok := parseOrigin(origin)
		if ok && (n == g.requestOrigin(r) || n == g.public || g.allowed[n]) {
			return nil
		}
		return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused: origin "+quoteShort(origin)+
			" is not this host's own origin nor an allowed origin (--allowed-origin)")
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
		return nil
	default:
		if safeMethod(r.Method) && r.Header.Get("Sec-Fetch-Mode") == "navigate" &&
			(r.Header.Get("Sec-Fetch-Dest") == "document" || r.Header.Get("Sec-Fetch-Dest") == "") {
			return nil
		}
		return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused: Sec-Fetch-Site is "+quoteShort(site))
	}
}

// IsHTTPS reports whether the request reached the host over https: TLS,
// or X-Forwarded-Proto: https from a trusted proxy of the guard installed
// on c's echo instance (believed from no one else).
func IsHTTPS(c echo.Context) bool {
	r := c.Request()
	if r.TLS != nil {
		return true
	}
	g, ok := c.Get(contextKey).(*Guard)
	return ok && g.proxies.contains(r.RemoteAddr) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// requestOrigin is the origin this request was addressed to: its scheme
// (TLS, or X-Forwarded-Proto from a trusted proxy) and its Host.
func (g *Guard) requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if g.proxies.contains(r.RemoteAddr) {
		if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
			scheme = p
		}
	}
	return normOrigin(scheme, r.Host)
}

// parseOrigin normalizes an Origin value (scheme://host[:port]); ok is
// false for "null", other schemes, and anything with a path or user.
func parseOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return normOrigin(u.Scheme, u.Host), true
}

// normOrigin writes scheme://host[:port] lowercased, without the scheme's
// default port, so that equal origins compare equal.
func normOrigin(scheme, hostport string) string {
	scheme, hostport = strings.ToLower(scheme), strings.ToLower(hostport)
	switch {
	case scheme == "http" && strings.HasSuffix(hostport, ":80"):
		hostport = strings.TrimSuffix(hostport, ":80")
	case scheme == "https" && strings.HasSuffix(hostport, ":443"):
		hostport = strings.TrimSuffix(hostport, ":443")
	}
	return scheme + "://" + hostport
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// quoteShort quotes a header value for a message, cut to a sane length.
func quoteShort(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

package httpguard

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config says which names, origins and proxies a host trusts. The zero
// value is the safe default: loopback names only, no other site, no proxy.
type Config struct {
	// PublicURL is the URL people use to reach the host, such as
	// https://wharf.example.com. Its host name is served and its origin is
	// the host's own.
	PublicURL string
	// AllowedHosts are further Host names served, with any port
	// ("wharf.internal", "10.0.0.5"). Loopback names (localhost,
	// 127.0.0.1, ::1) are always served.
	AllowedHosts []string
	// AllowedOrigins are other sites (scheme://host[:port]) allowed to make
	// cross-site requests, e.g. an internal developer platform calling the
	// API from a browser. CORS is answered for them and for no one else.
	AllowedOrigins []string
	// TrustedProxies are the reverse proxies (CIDRs or single addresses)
	// whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []string
	// AuthFailures limits failed authentications per client address.
	AuthFailures AuthLimit
	// Logger receives refusals; default: discarded.
	Logger *slog.Logger
}

// Guard is a validated Config, ready to install on an echo instance.
type Guard struct {
	hosts   hostSet
	public  string          // origin of PublicURL, "" if none
	allowed map[string]bool // AllowedOrigins, normalized
	proxies proxySet
	auth    *AuthLimiter
	log     *slog.Logger
}

// New validates cfg; an error names the field and the value at fault.
func New(cfg Config) (*Guard, error) {
	g := &Guard{allowed: map[string]bool{}, log: cfg.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if g.hosts, err = newHostSet(cfg.AllowedHosts); err != nil {
		return nil, err
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("httpguard: PublicURL %q: want http(s)://host[:port][/path]", cfg.PublicURL)
		}
		g.public = normOrigin(u.Scheme, u.Host)
		if err := g.hosts.add(u.Hostname()); err != nil {
			return nil, err
		}
	}
	for i, o := range cfg.AllowedOrigins {
		n, ok := parseOrigin(o)
		if !ok {
			return nil, fmt.Errorf("httpguard: AllowedOrigins[%d] %q: want scheme://host[:port], nothing more", i, o)
		}
		g.allowed[n] = true
	}
	if g.proxies, err = newProxySet(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	g.auth = NewAuthLimiter(cfg.AuthFailures, g.log)
	return g, nil
}

// contextKey is where Guard's middleware leaves itself for the faces.
const contextKey = "wharf.httpguard"

// Install sets e's client address extraction and puts the Host and origin
// checks in front of routing, so they run before any route's middleware
// (CSRF, body parsing) and before any handler. It answers CORS only for
// AllowedOrigins.
func (g *Guard) Install(e *echo.Echo) {
	e.IPExtractor = g.IPExtractor()
	e.Pre(g.Middleware())
	if len(g.allowed) > 0 {
		origins := make([]string, 0, len(g.allowed))
		for o := range g.allowed {
			origins = append(origins, o)
		}
		e.Pre(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  origins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders:  []string{"Authorization", "Content-Type", "If-Match", "X-Request-Id"},
			ExposeHeaders: []string{"ETag", "X-Request-Id"},
			MaxAge:        600,
		}))
	}
}

// Middleware refuses requests for a Host the host does not serve (421) and
// cross-site requests (403), and makes the guard available to AuthGate
// and AuthFailed.
func (g *Guard) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !g.hosts.allows(r.Host) {
				g.log.Warn("http: request for a host name not served", "host", r.Host, "client", c.RealIP(), "path", r.URL.Path)
				return echo.NewHTTPError(http.StatusMisdirectedRequest, fmt.Sprintf(
					"this host does not serve the name %q; add it with --public-url or --allowed-host if it is this host's", hostOnly(r.Host)))
			}
			if err := g.checkOrigin(r); err != nil {
				g.log.Warn("http: cross-site request refused", "origin", r.Header.Get("Origin"),
					"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "method", r.Method, "path", r.URL.Path, "client", c.RealIP())
				return err
			}
			c.Set(contextKey, g)
			return next(c)
		}
	}
}

// Trusts reports whether addr (an IP, or host:port) is a trusted proxy.
func (g *Guard) Trusts(addr string) bool { return g.proxies.contains(addr) }

// AuthLimiter is the guard's limiter of failed authentications.
func (g *Guard) AuthLimiter() *AuthLimiter { return g.auth }

// guardOf is the guard that let c's request in, or nil.
func guardOf(c echo.Context) *Guard {
	g, _ := c.Get(contextKey).(*Guard)
	return g
}

// hostOnly drops the port of a Host header, for messages.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		return h[:i]
	}
	return h
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// ProxyAuth trusts an authenticating gateway in front of the host: a
// request whose socket peer is in Trusted and that carries UserHeader is
// the user the header names, with the groups of GroupsHeader. Anyone who
// can reach the host from a trusted address can claim any user, so the
// gateway must be the only way in from there and must remove these headers
// from what its clients send. Off unless configured.
type ProxyAuth struct {
	// Name is the provider in subjects: user:<Name>/<user>, group:<Name>/<group>.
	Name string `json:"name"`
	// Trusted are the address ranges of the gateway, matched against the
	// connection's peer (never X-Forwarded-For). Required.
	Trusted []string `json:"trusted"`
	// UserHeader names the user (required); GroupsHeader lists groups,
	// comma-separated (optional); EmailHeader gives the email (optional).
	UserHeader   string `json:"user_header"`
	GroupsHeader string `json:"groups_header,omitempty"`
	EmailHeader  string `json:"email_header,omitempty"`
}

// proxyRefresh is how long a proxy user's record is trusted as written:
// a request within it with the same groups writes nothing.
const proxyRefresh = time.Minute

// maxProxyUsername is identity's bound on usernames.
const maxProxyUsername = 200

// maxProxyUsers bounds the cache of proxy users seen (it is emptied when full).
const maxProxyUsers = 10000

// proxyAuth is a checked ProxyAuth with the users it has written.
type proxyAuth struct {
	ProxyAuth
	trusted []netip.Prefix

	mu   sync.Mutex
	seen map[string]proxySeen // by username
}

type proxySeen struct {
	userID, email string
	groups        []string
	at            time.Time
}

// Check validates p, naming the config field of each problem.
func (p ProxyAuth) Check() error {
	_, err := checkProxy(p)
	return err
}

// checkProxy validates p, naming the config field of each problem.
func checkProxy(p ProxyAuth) (*proxyAuth, error) {
	if p.Name == "" || strings.ContainsAny(p.Name, "/: ") {
		return nil, fmt.Errorf("proxy_auth.name %q: give a short name without '/', ':' or spaces (it is the provider of user:<name>/<user>)", p.Name)
	}
	if len(p.Trusted) == 0 {
		return nil, errors.New("proxy_auth.trusted: list the gateway's address ranges (e.g. 10.0.0.5/32)")
	}
	pa := &proxyAuth{ProxyAuth: p, seen: map[string]proxySeen{}}
	for i, s := range p.Trusted {
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("proxy_auth.trusted[%d]: %q is neither an address nor a range", i, s)
			}
			pr = netip.PrefixFrom(a, a.BitLen())
		}
		pa.trusted = append(pa.trusted, pr.Masked())
	}
	for field, h := range map[string]string{"user_header": p.UserHeader, "groups_header": p.GroupsHeader, "email_header": p.EmailHeader} {
		if h == "" && field != "user_header" {
			continue
		}
		if h == "" || strings.ContainsAny(h, " :\r\n") {
			return nil, fmt.Errorf("proxy_auth.%s %q: give a header name such as X-Forwarded-User", field, h)
		}
		if strings.EqualFold(h, "Authorization") || strings.EqualFold(h, "Cookie") {
			return nil, fmt.Errorf("proxy_auth.%s cannot be the Authorization or Cookie header", field)
		}
	}
	return pa, nil
}

// trusts reports whether the connection's peer is the gateway.
func (p *proxyAuth) trusts(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, pr := range p.trusted {
		if pr.Contains(addr) {
			return true
		}
	}
	return false
}

// Proxy authenticates a request by the trusted gateway's headers. ok is
// false when proxy authentication is off, the peer is not the gateway or
// the request names no user: the caller then authenticates it otherwise.
func (a *Authenticator) Proxy(ctx context.Context, r *http.Request, cl Client) (c ops.Caller, ok bool, err error) {
	p := a.proxy
	if p == nil || !p.trusts(r.RemoteAddr) {
		return ops.Caller{}, false, nil
	}
	username := strings.TrimSpace(r.Header.Get(p.UserHeader))
	if username == "" {
		return ops.Caller{}, false, nil
	}
	method := "proxy:" + p.Name
	if len(username) > maxProxyUsername {
		a.SignInFailed(ctx, method, p.Name+"/"+username[:maxProxyUsername]+"…", "user header too long", cl)
		return ops.Caller{}, true, pluginapi.Errorf(pluginapi.CodeForbidden,
			"the gateway's %s header names a username of %d bytes; at most %d", p.UserHeader, len(username), maxProxyUsername)
	}
	var groups []string
	if p.GroupsHeader != "" {
		for _, v := range r.Header.Values(p.GroupsHeader) {
			for _, g := range strings.Split(v, ",") {
				if g = strings.TrimSpace(g); g != "" {
					groups = append(groups, g)
				}
			}
		}
		slices.Sort(groups)
		groups = slices.Compact(groups)
	}
	email := ""
	if p.EmailHeader != "" {
		email = strings.TrimSpace(r.Header.Get(p.EmailHeader))
	}
	userID, err := a.proxyUser(ctx, p, username, email, groups, cl)
	if err != nil {
		return ops.Caller{}, true, err
	}
	c, err = a.principalCaller(ctx, userID, cl)
	if err != nil {
		return ops.Caller{}, true, err
	}
	c.Auth = method
	return c, true, nil
}

// proxyUser records the gateway's user (at most once per proxyRefresh
// while nothing changes) and audits the first time this process sees
// them or their groups change.
func (a *Authenticator) proxyUser(ctx context.Context, p *proxyAuth, username, email string, groups []string, cl Client) (string, error) {
	now := a.o.Now()
	p.mu.Lock()
	prev, known := p.seen[username]
	p.mu.Unlock()
	changed := !known || prev.email != email || !slices.Equal(prev.groups, groups)
	if !changed && now.Sub(prev.at) < proxyRefresh {
		return prev.userID, nil
	}
	method := "proxy:" + p.Name
	u, created, err := a.o.Store.UpsertUser(ctx, identity.UserInput{Provider: p.Name, Subject: username, Username: username,
		Email: email, Groups: groups})
	if err != nil {
		var inv *identity.InvalidError
		if errors.As(err, &inv) {
			a.SignInFailed(ctx, method, p.Name+"/"+username, err.Error(), cl)
			return "", pluginapi.Errorf(pluginapi.CodeForbidden, "the gateway's identity headers cannot be used: %s", inv.Error())
		}
		return "", a.storeFailed(err)
	}
	p.mu.Lock()
	if len(p.seen) >= maxProxyUsers {
		clear(p.seen)
	}
	p.seen[username] = proxySeen{userID: u.ID, email: email, groups: groups, at: now}
	p.mu.Unlock()
	if changed {
		a.record(ctx, ops.Caller{Actor: userActor(u), Auth: method, UserID: u.ID, ClientAddr: cl.Addr, RequestID: cl.RequestID},
			"auth.signin", u.ID, map[string]any{"method": method, "user": u.ID, "new_user": created, "groups": u.Groups}, nil)
	}
	return u.ID, nil
}

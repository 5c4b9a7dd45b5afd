package oidc

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Config is one OpenID provider of the host's configuration (sso.<name> in
// the config file). The zero values of the optional fields mean the defaults
// given below; Check validates a Config once, New applies the defaults.
type Config struct {
	// Name is the config key, [a-z0-9-]{1,32}. It appears in URLs
	// (/auth/oidc/<name>/…) and in user subjects (user:<name>/<username>).
	Name string `json:"-"`
	// Title is the sign-in button's text; default "Sign in with <Name>".
	Title string `json:"title,omitempty"`
	// Issuer is the provider's issuer URL, where discovery starts. It must be
	// https; plain http is allowed only for a loopback host (tests, a local
	// provider).
	Issuer       string `json:"issuer"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// Scopes requested; default openid, profile, email, and groups when
	// GroupsClaim is "groups". openid is always requested.
	Scopes []string `json:"scopes,omitempty"`
	// GroupsClaim is the ID token claim that lists the user's groups, a
	// string or an array of strings; default "groups". A missing claim means
	// no groups.
	GroupsClaim string `json:"groups_claim,omitempty"`
	// UsernameClaim is the ID token claim that names the user; default
	// "preferred_username". When it is absent the username is the verified
	// email, else the subject. Some providers let users change
	// preferred_username: name a stable claim where that matters.
	UsernameClaim string `json:"username_claim,omitempty"`
	// RedirectURL is <public url>/auth/oidc/<name>/callback, set by the host
	// (not read from the config file); New requires it.
	RedirectURL string `json:"-"`
}

// Bounds of a Config.
const (
	MaxTitle     = 128
	MaxURL       = 2048
	MaxClientID  = 256
	MaxSecret    = 1024
	MaxScopes    = 32
	MaxScope     = 128
	MaxClaimName = 128
)

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Check reports the first problem of c, naming the field as the config file
// does: "sso.<name>.issuer: …". An empty RedirectURL is allowed here (the host
// sets it later).
func (c Config) Check() error {
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("sso.%.32q: the name must be 1 to 32 characters a-z, 0-9 or -", c.Name)
	}
	field := func(f, format string, args ...any) error {
		return fmt.Errorf("sso.%s.%s: %s", c.Name, f, fmt.Sprintf(format, args...))
	}
	if err := checkText(c.Title, MaxTitle); err != nil {
		return field("title", "%v", err)
	}
	if c.Issuer == "" {
		return field("issuer", "required")
	}
	if err := checkIssuer(c.Issuer); err != nil {
		return field("issuer", "%v", err)
	}
	if c.ClientID == "" {
		return field("client_id", "required")
	}
	if err := checkText(c.ClientID, MaxClientID); err != nil {
		return field("client_id", "%v", err)
	}
	if c.ClientSecret == "" {
		return field("client_secret", "required")
	}
	if err := checkText(c.ClientSecret, MaxSecret); err != nil {
		return field("client_secret", "%v", err)
	}
	if len(c.Scopes) > MaxScopes {
		return field("scopes", "at most %d scopes, got %d", MaxScopes, len(c.Scopes))
	}
	for i, s := range c.Scopes {
		if err := checkScope(s); err != nil {
			return field(fmt.Sprintf("scopes[%d]", i), "%v", err)
		}
	}
	if err := checkClaimName(c.GroupsClaim); err != nil {
		return field("groups_claim", "%v", err)
	}
	if err := checkClaimName(c.UsernameClaim); err != nil {
		return field("username_claim", "%v", err)
	}
	if c.RedirectURL != "" {
		if err := checkRedirect(c.RedirectURL); err != nil {
			return field("redirect_url", "%v", err)
		}
	}
	return nil
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.Title == "" {
		c.Title = "Sign in with " + c.Name
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = "preferred_username"
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = []string{"profile", "email"}
		if c.GroupsClaim == "groups" {
			scopes = append(scopes, "groups")
		}
	}
	c.Scopes = []string{"openid"}
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			c.Scopes = append(c.Scopes, s)
		}
	}
	return c
}

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("at most %d bytes, got %d", max, len(s))
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("control characters are not allowed")
	}
	return nil
}

func checkIssuer(s string) error {
	if err := checkText(s, MaxURL); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be an absolute URL without credentials, query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("plain http is allowed only for a loopback host (127.0.0.1, localhost, ::1), not %q: use https", u.Hostname())
	}
	return fmt.Errorf("the scheme must be https, not %q", u.Scheme)
}

func checkRedirect(s string) error {
	if err := checkText(s, MaxURL); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return errors.New("must be an absolute http(s) URL without fragment")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkScope allows RFC 6749's scope-token characters.
func checkScope(s string) error {
	if s == "" || len(s) > MaxScope {
		return fmt.Errorf("1 to %d characters", MaxScope)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return fmt.Errorf("%q is not allowed in a scope", r)
		}
	}
	return nil
}

// checkClaimName allows an empty name (the default) or printable ASCII
// without spaces.
func checkClaimName(s string) error {
	if len(s) > MaxClaimName {
		return fmt.Errorf("at most %d characters", MaxClaimName)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("%q is not allowed in a claim name", r)
		}
	}
	return nil
}

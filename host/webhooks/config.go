package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/ops"
)

// Subscription is one webhook as the config file's "webhooks" list gives it.
type Subscription struct {
	// Name identifies the subscription in the API, the portal and the
	// delivery log: 1 to 63 lowercase letters, digits and dashes.
	Name string `json:"name"`
	// URL receives the events: https, or http to a loopback address (or
	// anywhere with AllowHTTP).
	URL string `json:"url"`
	// Secret keys the signature (at least MinSecretLength bytes); usually
	// {"$env": "NAME"} or {"$file": "…"} in the config file.
	Secret string `json:"secret"`
	// Events are the event types sent, each a type or a glob ("service.*",
	// "*"); at least one.
	Events []string `json:"events"`
	// Selector is a label selector over the connection's labels
	// ("team=payments"); empty sends the events of every connection, and
	// only then the audit entries of no connection (sign-ins, tokens,
	// bindings).
	Selector string `json:"selector,omitempty"`
	// AllowHTTP allows a plain http URL to a host that is not loopback:
	// the events and their signatures then cross the network unencrypted.
	AllowHTTP bool `json:"allow_http,omitempty"`
}

// Event types besides the service events of host/ops.
const (
	// EventAudit is an audit log entry, once its outcome is written.
	EventAudit = "audit"
	// EventPing is what a test of a subscription sends (always, whatever
	// its Events).
	EventPing = "ping"
)

// EventTypes are the types a subscription may ask for.
var EventTypes = append(slices.Clone(ops.ServiceEventTypes), EventAudit)

// Bounds of the configuration.
const (
	MaxSubscriptions = 64
	MinSecretLength  = 16
	maxSecretLength  = 4096
	maxURLLength     = 2048
	maxEventPatterns = 32
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Check validates subscriptions as the config file's "webhooks" list; every
// problem names its field (webhooks[1].url: …).
func Check(subs []Subscription) error {
	var errs []error
	if len(subs) > MaxSubscriptions {
		errs = append(errs, fmt.Errorf("webhooks: at most %d subscriptions, not %d", MaxSubscriptions, len(subs)))
	}
	names := map[string]bool{}
	for i, s := range subs {
		f := fmt.Sprintf("webhooks[%d]", i)
		add := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s: %s", f, field, fmt.Sprintf(format, args...)))
		}
		switch {
		case !nameRE.MatchString(s.Name):
			add("name", "%.70q is not valid: use 1 to 63 lowercase letters, digits and dashes", s.Name)
		case names[s.Name]:
			add("name", "a second webhook called %s", s.Name)
		}
		names[s.Name] = true
		if err := checkURL(s.URL, s.AllowHTTP); err != nil {
			add("url", "%v", err)
		}
		switch {
		case len(s.Secret) < MinSecretLength:
			add("secret", "required, at least %d characters (give it as {\"$env\": \"NAME\"} or {\"$file\": \"path\"})", MinSecretLength)
		case len(s.Secret) > maxSecretLength:
			add("secret", "at most %d characters", maxSecretLength)
		}
		if len(s.Events) == 0 {
			add("events", "name at least one event type or glob (%s, or \"*\")", strings.Join(EventTypes, ", "))
		}
		if len(s.Events) > maxEventPatterns {
			add("events", "at most %d patterns, not %d", maxEventPatterns, len(s.Events))
		}
		for j, p := range s.Events {
			if err := checkPattern(p); err != nil {
				add(fmt.Sprintf("events[%d]", j), "%v", err)
			}
		}
		if _, err := parseSelector(s.Selector); err != nil {
			add("selector", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute http(s) URL; plain http only to a loopback
// host unless allowHTTP.
func checkURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("required")
	}
	if len(raw) > maxURLLength {
		return fmt.Errorf("at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL") // the text may hold a credential: not echoed
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%s has no host", Shown(raw))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !allowHTTP && !loopbackHost(u.Hostname()) {
			return fmt.Errorf("%s is plain http to a host that is not loopback: use https, or set allow_http to send events unencrypted", Shown(raw))
		}
	default:
		return fmt.Errorf("the scheme must be https or http, not %.20q", u.Scheme)
	}
	if u.Fragment != "" {
		return errors.New("a webhook URL takes no #fragment")
	}
	return nil
}

// loopbackHost reports whether a URL's host is this machine.
func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Shown is a URL as the API, the portal and errors show it: without the
// user's password and with query values hidden (either may be a token).
func Shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String()
}

// checkPattern accepts an event type or a glob matching at least one.
func checkPattern(p string) error {
	if p == "" {
		return errors.New("empty")
	}
	if len(p) > 64 {
		return errors.New("at most 64 characters")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%q is not a glob: %v", p, err)
	}
	for _, t := range EventTypes {
		if ok, _ := path.Match(p, t); ok {
			return nil
		}
	}
	return fmt.Errorf("%q matches no event type (%s)", p, strings.Join(EventTypes, ", "))
}

// parseSelector is the scope a subscription's selector makes; nil for an
// empty one (every connection).
func parseSelector(s string) (*access.Scope, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sc, err := access.ParseSelector(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "selector: "))
	}
	return &sc, nil
}

// wants reports whether a subscription's patterns take an event type.
func wants(patterns []string, typ string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, typ); ok {
			return true
		}
	}
	return false
}

package auth

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/pluginapi"
)

// SSO is the configured OpenID providers. Each is discovered on its first
// use, not at start, so a host whose provider is down still starts (and
// serves its token users); a failed discovery is tried again at the next
// sign-in.
type SSO struct {
	cfgs   []oidc.Config
	client *http.Client

	mu    sync.Mutex
	ready map[string]*oidc.Provider
}

// ProviderInfo is a provider as the sign-in page offers it.
type ProviderInfo struct {
	Name, Title string
}

// NewSSO checks the configs (each with its RedirectURL set). client may
// be nil (oidc's default).
func NewSSO(cfgs []oidc.Config, client *http.Client) (*SSO, error) {
	seen := map[string]bool{}
	for _, c := range cfgs {
		if err := c.Check(); err != nil {
			return nil, err
		}
		if c.RedirectURL == "" {
			return nil, fmt.Errorf("sso.%s: the host needs its public_url to tell the provider where to send users back", c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("sso.%s: configured twice", c.Name)
		}
		seen[c.Name] = true
	}
	return &SSO{cfgs: cfgs, client: client, ready: map[string]*oidc.Provider{}}, nil
}

// Providers lists the providers in config order.
func (s *SSO) Providers() []ProviderInfo {
	if s == nil {
		return nil
	}
	out := make([]ProviderInfo, len(s.cfgs))
	for i, c := range s.cfgs {
		out[i] = ProviderInfo{Name: c.Name, Title: c.Title}
		if out[i].Title == "" {
			out[i].Title = "Sign in with " + c.Name
		}
	}
	return out
}

// discoveryTimeout bounds one discovery of a provider.
const discoveryTimeout = 10 * time.Second

// Provider returns the named provider, discovering it on first use. An
// unknown name is not found; a provider that cannot be reached is
// unavailable.
func (s *SSO) Provider(ctx context.Context, name string) (*oidc.Provider, error) {
	if s == nil {
		return nil, pluginapi.NotFound("no identity provider %q is configured", name)
	}
	s.mu.Lock()
	p := s.ready[name]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	for _, c := range s.cfgs {
		if c.Name != name {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
		defer cancel()
		p, err := oidc.New(ctx, c, s.client)
		if err != nil {
			return nil, &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true,
				Message: fmt.Sprintf("the identity provider %s cannot be reached: %v", name, err)}
		}
		s.mu.Lock()
		if q := s.ready[name]; q != nil {
			p = q
		} else {
			s.ready[name] = p
		}
		s.mu.Unlock()
		return p, nil
	}
	return nil, pluginapi.NotFound("no identity provider %q is configured", name)
}

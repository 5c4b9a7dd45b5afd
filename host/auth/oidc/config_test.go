package oidc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/auth/oidc"
)

func validConfig() oidc.Config {
	return oidc.Config{
		Name: "corp", Issuer: "https://login.example.com/realms/corp",
		ClientID: "wharf", ClientSecret: "s3cret",
	}
}

func TestConfigCheckNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		change func(*oidc.Config)
		want   string
	}{
		{"bad name", func(c *oidc.Config) { c.Name = "Corp" }, `sso."Corp": the name must be`},
		{"empty name", func(c *oidc.Config) { c.Name = "" }, `sso."": the name must be`},
		{"long name", func(c *oidc.Config) { c.Name = strings.Repeat("a", 33) }, "the name must be 1 to 32"},
		{"long title", func(c *oidc.Config) { c.Title = strings.Repeat("t", oidc.MaxTitle+1) }, "sso.corp.title: at most 128 bytes"},
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "sso.corp.issuer: required"},
		{"relative issuer", func(c *oidc.Config) { c.Issuer = "/realms/corp" }, "sso.corp.issuer: must be an absolute URL"},
		{"issuer with query", func(c *oidc.Config) { c.Issuer = "https://x.example/?a=b" }, "sso.corp.issuer: must be an absolute URL without credentials, query or fragment"},
		{"ftp issuer", func(c *oidc.Config) { c.Issuer = "ftp://x.example" }, `sso.corp.issuer: the scheme must be https, not "ftp"`},
		{"no client id", func(c *oidc.Config) { c.ClientID = "" }, "sso.corp.client_id: required"},
		{"long client id", func(c *oidc.Config) { c.ClientID = strings.Repeat("c", oidc.MaxClientID+1) }, "sso.corp.client_id: at most 256 bytes"},
		{"no client secret", func(c *oidc.Config) { c.ClientSecret = "" }, "sso.corp.client_secret: required"},
		{"secret with a newline", func(c *oidc.Config) { c.ClientSecret = "a\nb" }, "sso.corp.client_secret: control characters"},
		{"too many scopes", func(c *oidc.Config) { c.Scopes = make([]string, oidc.MaxScopes+1) }, "sso.corp.scopes: at most 32 scopes, got 33"},
		{"scope with a space", func(c *oidc.Config) { c.Scopes = []string{"openid", "a b"} }, "sso.corp.scopes[1]: ' ' is not allowed"},
		{"empty scope", func(c *oidc.Config) { c.Scopes = []string{""} }, "sso.corp.scopes[0]: 1 to 128 characters"},
		{"groups claim with a space", func(c *oidc.Config) { c.GroupsClaim = "my groups" }, "sso.corp.groups_claim:"},
		{"long username claim", func(c *oidc.Config) { c.UsernameClaim = strings.Repeat("u", oidc.MaxClaimName+1) }, "sso.corp.username_claim: at most 128"},
		{"relative redirect", func(c *oidc.Config) { c.RedirectURL = "/auth/oidc/corp/callback" }, "sso.corp.redirect_url: must be an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
	if err := validConfig().Check(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestPlainHTTPIssuerIsRefusedUnlessLoopback(t *testing.T) {
	for _, issuer := range []string{"http://login.example.com", "http://10.0.0.5:8080", "http://127.0.0.1.example.com"} {
		c := validConfig()
		c.Issuer = issuer
		err := c.Check()
		if err == nil || !strings.Contains(err.Error(), "sso.corp.issuer: plain http is allowed only for a loopback host") {
			t.Errorf("issuer %s: Check() = %v, want the plain-http refusal", issuer, err)
		}
		// New refuses it before any request.
		c.RedirectURL = "https://wharf.example.com/auth/oidc/corp/callback"
		if _, err := oidc.New(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "plain http") {
			t.Errorf("issuer %s: New() = %v, want the plain-http refusal", issuer, err)
		}
	}
	for _, issuer := range []string{"http://127.0.0.1:5556", "http://localhost:5556/dex", "http://[::1]:5556"} {
		c := validConfig()
		c.Issuer = issuer
		if err := c.Check(); err != nil {
			t.Errorf("loopback issuer %s: %v", issuer, err)
		}
	}
}

func TestNewNeedsTheRedirectURL(t *testing.T) {
	_, err := oidc.New(context.Background(), validConfig(), nil)
	if err == nil || !strings.Contains(err.Error(), "sso.corp.redirect_url: required") {
		t.Fatalf("New() = %v", err)
	}
}

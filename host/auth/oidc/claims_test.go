package oidc

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Shapes of claims the test provider does not send; the sign-ins through the
// real provider are in oidc_test.go.
func TestClaimShapes(t *testing.T) {
	p := &Provider{cfg: Config{Name: "corp", GroupsClaim: "roles", UsernameClaim: "upn"}.withDefaults()}
	tests := []struct {
		name, claims string
		wantUser     string
		wantGroups   []string
		wantVerified bool
		wantErr      string
	}{
		{name: "groups as one string", claims: `{"upn":"a","roles":"admins"}`, wantUser: "a", wantGroups: []string{"admins"}},
		{name: "groups as an array", claims: `{"upn":"a","roles":["x","y"]}`, wantUser: "a", wantGroups: []string{"x", "y"}},
		{name: "groups null", claims: `{"upn":"a","roles":null}`, wantUser: "a"},
		{name: "groups a number", claims: `{"upn":"a","roles":3}`, wantErr: "claim roles: not a string or an array"},
		{name: "groups with a number", claims: `{"upn":"a","roles":["x",3]}`, wantErr: "claim roles: not a string or an array"},
		{name: "empty group", claims: `{"upn":"a","roles":["x",""]}`, wantErr: "claim roles[1]: empty group name"},
		{name: "control character in a group", claims: `{"upn":"a","roles":["x\u0000"]}`, wantErr: "claim roles[0]: control characters"},
		{name: "email_verified as a string", claims: `{"email":"e@x","email_verified":"true"}`, wantUser: "e@x", wantVerified: true},
		{name: "unverified email is not the username", claims: `{"email":"e@x","email_verified":false}`, wantUser: "sub-1"},
		{name: "email_verified malformed", claims: `{"email_verified":"yes"}`, wantErr: "claim email_verified: not a boolean"},
		{name: "username not a string", claims: `{"upn":["a"]}`, wantErr: "claim upn: not a string"},
		{name: "username too long", claims: `{"upn":"` + strings.Repeat("u", MaxUsername+1) + `"}`, wantErr: "claim upn: at most 256 bytes, got 257"},
		{name: "username at the bound", claims: `{"upn":"` + strings.Repeat("u", MaxUsername) + `"}`, wantUser: strings.Repeat("u", MaxUsername)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.claims), &claims); err != nil {
				t.Fatal(err)
			}
			id, err := p.identity("sub-1", claims)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Provider != "corp" || id.Subject != "sub-1" || id.Username != tt.wantUser ||
				!slices.Equal(id.Groups, tt.wantGroups) || id.EmailVerified != tt.wantVerified {
				t.Fatalf("identity %+v, want username %q, groups %q, verified %v", id, tt.wantUser, tt.wantGroups, tt.wantVerified)
			}
		})
	}
}

func TestTooManyGroupsIsAnErrorNotATruncation(t *testing.T) {
	p := &Provider{cfg: Config{Name: "corp"}.withDefaults()}
	groups, _ := json.Marshal(make([]string, MaxGroups+1))
	_, err := p.identity("s", map[string]json.RawMessage{"groups": groups})
	if err == nil || !strings.Contains(err.Error(), "at most 256 groups, got 257") {
		t.Fatalf("err = %v", err)
	}
}

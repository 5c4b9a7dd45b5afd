package oidc

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Bounds on an Identity: a claim over them makes the sign-in fail rather
// than be cut, so a user is never taken for another whose name is a prefix.
const (
	MaxSubject  = 255 // OpenID Connect Core 1.0, §2
	MaxUsername = 256
	MaxName     = 256
	MaxEmail    = 320
	MaxGroups   = 256
	MaxGroup    = 256
)

// identity reads the Identity from the ID token's claims.
func (p *Provider) identity(sub string, claims map[string]json.RawMessage) (Identity, error) {
	id := Identity{Provider: p.cfg.Name, Subject: sub}
	if err := checkClaim("sub", sub, MaxSubject); err != nil {
		return Identity{}, err
	}
	var err error
	if id.Name, err = stringClaim(claims, "name", MaxName); err != nil {
		return Identity{}, err
	}
	if id.Email, err = stringClaim(claims, "email", MaxEmail); err != nil {
		return Identity{}, err
	}
	if id.EmailVerified, err = boolClaim(claims, "email_verified"); err != nil {
		return Identity{}, err
	}
	if id.Username, err = stringClaim(claims, p.cfg.UsernameClaim, MaxUsername); err != nil {
		return Identity{}, err
	}
	switch {
	case id.Username != "":
	case id.Email != "" && id.EmailVerified:
		if len(id.Email) > MaxUsername {
			return Identity{}, fmt.Errorf("claim email as the username: at most %d bytes, got %d", MaxUsername, len(id.Email))
		}
		id.Username = id.Email
	default:
		id.Username = sub
	}
	if id.Groups, err = groupsClaim(claims, p.cfg.GroupsClaim); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// stringClaim is claim name as a string, "" when it is absent or null.
func stringClaim(claims map[string]json.RawMessage, name string, max int) (string, error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("claim %s: not a string", name)
	}
	return s, checkClaim(name, s, max)
}

// boolClaim accepts true and false, and the strings "true" and "false" that
// some providers send for email_verified.
func boolClaim(claims map[string]json.RawMessage, name string) (bool, error) {
	switch string(claims[name]) {
	case "", "null", "false", `"false"`:
		return false, nil
	case "true", `"true"`:
		return true, nil
	}
	return false, fmt.Errorf("claim %s: not a boolean", name)
}

// groupsClaim accepts a string (one group) or an array of strings.
func groupsClaim(claims map[string]json.RawMessage, name string) ([]string, error) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var groups []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		groups = []string{one}
	} else if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, fmt.Errorf("claim %s: not a string or an array of strings", name)
	}
	if len(groups) > MaxGroups {
		return nil, fmt.Errorf("claim %s: at most %d groups, got %d", name, MaxGroups, len(groups))
	}
	for i, g := range groups {
		if g == "" {
			return nil, fmt.Errorf("claim %s[%d]: empty group name", name, i)
		}
		if err := checkClaim(fmt.Sprintf("%s[%d]", name, i), g, MaxGroup); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

// checkClaim bounds a text claim and keeps out what would garble logs and
// subjects: invalid UTF-8 and control characters.
func checkClaim(name, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("claim %s: at most %d bytes, got %d", name, max, len(s))
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("claim %s: not valid UTF-8", name)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("claim %s: control characters are not allowed", name)
		}
	}
	return nil
}

package access

import (
	"fmt"
	"strings"
)

// Subject kinds.
const (
	KindUser  = "user"  // user:<provider>/<username>
	KindGroup = "group" // group:<provider>/<group>, a group the identity provider reports
	KindToken = "token" // token:<token id> or token:<bootstrap token name>
)

// maxSubjectLen bounds a subject's text.
const maxSubjectLen = 320

// Subject names who a binding is for.
type Subject string

// User is the subject of a user of an identity provider.
func User(provider, username string) Subject {
	return Subject(KindUser + ":" + provider + "/" + username)
}

// Group is the subject of an identity provider's group.
func Group(provider, group string) Subject {
	return Subject(KindGroup + ":" + provider + "/" + group)
}

// Token is the subject of an API token.
func Token(idOrName string) Subject { return Subject(KindToken + ":" + idOrName) }

// ParseSubject checks a subject's form: user:<provider>/<name>,
// group:<provider>/<name> or token:<id or name>.
func ParseSubject(s string) (Subject, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return "", fmt.Errorf("subject %q: write user:<provider>/<username>, group:<provider>/<group> or token:<name>", s)
	}
	if len(s) > maxSubjectLen {
		return "", fmt.Errorf("subject: at most %d characters", maxSubjectLen)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("subject %q: control characters", s)
	}
	switch kind {
	case KindUser, KindGroup:
		provider, name, ok := strings.Cut(rest, "/")
		if !ok || provider == "" || name == "" {
			return "", fmt.Errorf("subject %q: write %s:<provider>/<name> (the provider as named in the config: an sso entry or \"proxy\")", s, kind)
		}
	case KindToken:
	default:
		return "", fmt.Errorf("subject %q: kind %q is not one of user, group, token", s, kind)
	}
	return Subject(s), nil
}

// Kind is the subject's kind: user, group or token.
func (s Subject) Kind() string { k, _, _ := strings.Cut(string(s), ":"); return k }

// Binding gives a subject a role on a scope.
type Binding struct {
	ID      string  `json:"id,omitempty"`
	Subject Subject `json:"subject"`
	Grant
	// Source is "api" (made through the API, CLI or portal) or "config"
	// (seeded from the config file, replaced at each start).
	Source string `json:"source,omitempty"`
}

// Check checks the subject and the grant.
func (b Binding) Check() error {
	if _, err := ParseSubject(string(b.Subject)); err != nil {
		return err
	}
	return b.Grant.Check()
}

// GrantsFor returns the grants the bindings give to any of subjects.
func GrantsFor(bindings []Binding, subjects ...Subject) Grants {
	var out Grants
	for _, b := range bindings {
		for _, s := range subjects {
			if b.Subject == s {
				out = append(out, b.Grant)
				break
			}
		}
	}
	return out
}

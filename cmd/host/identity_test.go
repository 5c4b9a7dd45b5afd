package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/api"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/server"
	"github.com/wharfhq/wharf/pluginapi"
)

const rootToken = "root-token-for-the-identity-cli-tests-0123456789"

// identityEnv is a closed host (one bootstrap owner token) with the REST API.
type identityEnv struct {
	srv    *server.Server
	server string
}

func newIdentityEnv(t *testing.T) *identityEnv {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: t.TempDir(),
		Tokens:  []ops.Token{{Name: "root", Role: ops.RoleOwner, SHA256: ops.HashToken(rootToken)}},
		Faces:   []server.Face{api.Face(api.Options{})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &identityEnv{srv: srv, server: hs.URL}
}

// as runs one command line with token.
func (e *identityEnv) as(t *testing.T, token string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), append(args, "--server", e.server, "--token", token), strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

func (e *identityEnv) ok(t *testing.T, token string, args ...string) string {
	t.Helper()
	out, err := e.as(t, token, args...)
	if err != nil {
		t.Fatalf("wharf %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// refused checks that a command fails with an error of code.
func (e *identityEnv) refused(t *testing.T, code pluginapi.Code, token string, args ...string) error {
	t.Helper()
	_, err := e.as(t, token, args...)
	if pluginapi.CodeOf(err) != code {
		t.Fatalf("wharf %s: error %v, want code %s", strings.Join(args, " "), err, code)
	}
	return err
}

// signIn signs a user in through SSO (the authenticator's part of the
// callback) and returns their session secret and caller.
func (e *identityEnv) signIn(t *testing.T, username string, groups ...string) (string, ops.Caller) {
	t.Helper()
	secret, c, err := e.srv.Auth.SignIn(context.Background(), oidc.Identity{Provider: "corp", Subject: "sub-" + username,
		Username: username, Groups: groups}, auth.Client{Addr: "192.0.2.7", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return secret, c
}

func newTokenOf(t *testing.T, out string) auth.NewToken {
	t.Helper()
	var nt auth.NewToken
	if err := json.Unmarshal([]byte(out), &nt); err != nil || !strings.HasPrefix(nt.Secret, "wharf_pat_") {
		t.Fatalf("created token %q (%v): want JSON with a wharf_pat_ secret", out, err)
	}
	return nt
}

// An owner makes a service-account token with the CLI; the token sees
// only its grant, can neither widen itself nor manage others, and stops
// working when rotated (old secret) or revoked.
func TestCLITokensLifecycle(t *testing.T) {
	e := newIdentityEnv(t)
	mustContain(t, e.ok(t, rootToken, "whoami"), "token:root", "Owner:", "true")

	out := e.ok(t, rootToken, "tokens", "create", "nightly", "--role", "viewer", "--connection", "prod,staging",
		"--expires", "30d", "--service-account", "-o", "json")
	nt := newTokenOf(t, out)
	if nt.UserID != "" || len(nt.Grants) != 1 || nt.Grants[0].Role != access.Viewer || nt.Grants[0].Scope.String() != "connections prod, staging" {
		t.Fatalf("created token = %+v, want a service account viewing prod and staging", nt.Token)
	}
	if d := time.Until(nt.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("expires %s, want 30 days from now", nt.ExpiresAt)
	}

	table := e.ok(t, rootToken, "tokens", "ls", "--user", "service")
	mustContain(t, table, nt.ID, "nightly", "viewer on connections prod, staging", "never", "active")
	if strings.Contains(table, nt.Secret) {
		t.Fatal("tokens ls shows the secret")
	}

	me := e.ok(t, nt.Secret, "whoami")
	mustContain(t, me, "pat:"+nt.ID, "viewer on connections prod, staging")
	// The new token is now used: ls says when and from where.
	mustContain(t, e.ok(t, rootToken, "tokens", "ls", "--user", "service"), "from 127.0.0.1")

	e.refused(t, pluginapi.CodeForbidden, nt.Secret, "tokens", "create", "wider", "--role", "admin", "--all", "--expires", "1d", "--service-account")
	e.refused(t, pluginapi.CodeForbidden, nt.Secret, "bindings", "ls")
	e.refused(t, pluginapi.CodeForbidden, nt.Secret, "users", "ls")

	rotated := newTokenOf(t, e.ok(t, rootToken, "tokens", "rotate", nt.ID, "-o", "json"))
	if rotated.ID != nt.ID || rotated.Secret == nt.Secret {
		t.Fatalf("rotate gave %s/%s, want the same id with a new secret", rotated.ID, rotated.Secret)
	}
	e.refused(t, pluginapi.CodeUnauthorized, nt.Secret, "whoami")
	e.ok(t, rotated.Secret, "whoami")

	mustContain(t, e.ok(t, rootToken, "tokens", "revoke", nt.ID), "Revoked:", nt.ID, "nightly")
	e.refused(t, pluginapi.CodeUnauthorized, rotated.Secret, "whoami")
	mustContain(t, e.ok(t, rootToken, "tokens", "ls", "--user", "all"), nt.ID, "revoked")
	e.refused(t, pluginapi.CodeNotFound, rootToken, "tokens", "revoke", "tok_doesnotexist00000")
}

// A user's own token, made with the CLI from a token of theirs, is no
// wider than the user's bindings allow.
func TestCLIUserTokenWithinTheirRights(t *testing.T) {
	e := newIdentityEnv(t)
	e.ok(t, rootToken, "bindings", "create", "group:corp/payments", "--role", "operator", "--selector", "team=payments")
	_, alice := e.signIn(t, "alice", "payments")
	first, err := e.srv.Auth.CreateToken(context.Background(), alice, auth.TokenRequest{Name: "laptop",
		Grants: access.Grants{mustGrant(t, access.Operator, "team=payments")}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	nt := newTokenOf(t, e.ok(t, first.Secret, "tokens", "create", "ci", "--role", "viewer", "--selector", "team=payments,env=prod",
		"--expires", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), "-o", "json"))
	if nt.UserID != alice.UserID {
		t.Fatalf("token of %q, want alice's %q", nt.UserID, alice.UserID)
	}
	mine := e.ok(t, first.Secret, "tokens", "ls")
	mustContain(t, mine, "laptop", "ci", "viewer on connections matching team=payments,env=prod")

	err = e.refused(t, pluginapi.CodeForbidden, first.Secret, "tokens", "create", "too-wide", "--role", "admin", "--selector", "team=payments", "--expires", "1d")
	if !strings.Contains(err.Error(), "admin") {
		t.Fatalf("refusal %q does not say which grant is too wide", err)
	}
	e.refused(t, pluginapi.CodeForbidden, first.Secret, "tokens", "ls", "--user", "all")
}

func mustGrant(t *testing.T, r access.Role, selector string) access.Grant {
	t.Helper()
	s, err := access.ParseSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	return access.Grant{Role: r, Scope: s}
}

// Owners manage bindings, users and sessions from the CLI, and each change
// takes effect at once.
func TestCLIBindingsUsersSessions(t *testing.T) {
	e := newIdentityEnv(t)
	created := e.ok(t, rootToken, "bindings", "create", "user:corp/bob", "--role", "admin", "--connection", "prod", "-o", "json")
	var b access.Binding
	if err := json.Unmarshal([]byte(created), &b); err != nil || b.ID == "" {
		t.Fatalf("created binding %q: %v", created, err)
	}
	mustContain(t, e.ok(t, rootToken, "bindings", "ls"), b.ID, "user:corp/bob", "admin", "connection prod", "api")

	secret, bob := e.signIn(t, "bob", "qa")
	if got := bob.Access().RoleOn(access.Target{Name: "prod"}); got != access.Admin {
		t.Fatalf("bob's role on prod = %q, want admin from the binding", got)
	}
	users := e.ok(t, rootToken, "users", "ls")
	mustContain(t, users, bob.UserID, "corp", "bob", "qa", "active")

	sessions := e.ok(t, rootToken, "sessions", "ls", "--user", "all")
	mustContain(t, sessions, bob.SessionID, bob.UserID, "oidc:corp", "192.0.2.7")
	mustContain(t, e.ok(t, rootToken, "sessions", "end", bob.SessionID), "Ended: "+bob.SessionID)
	cl := auth.Client{Addr: "192.0.2.7"}
	if _, err := e.srv.Auth.Session(context.Background(), secret, cl); pluginapi.CodeOf(err) != pluginapi.CodeUnauthorized {
		t.Fatalf("ended session still works: %v", err)
	}

	mustContain(t, e.ok(t, rootToken, "users", "disable", bob.UserID), "Disabled:", bob.UserID)
	mustContain(t, e.ok(t, rootToken, "users", "ls"), "disabled")
	if _, _, err := e.srv.Auth.SignIn(context.Background(), oidc.Identity{Provider: "corp", Subject: "sub-bob", Username: "bob"}, cl); pluginapi.CodeOf(err) != pluginapi.CodeForbidden {
		t.Fatalf("a disabled user signed in: %v", err)
	}
	mustContain(t, e.ok(t, rootToken, "users", "enable", bob.UserID), "Enabled:", bob.UserID)

	mustContain(t, e.ok(t, rootToken, "bindings", "delete", b.ID), "Deleted:", b.ID)
	if out := e.ok(t, rootToken, "bindings", "ls"); strings.Contains(out, b.ID) {
		t.Fatalf("deleted binding still listed:\n%s", out)
	}
	_, bob = e.signIn(t, "bob")
	if got := bob.Access().RoleOn(access.Target{Name: "prod"}); got != access.None {
		t.Fatalf("bob's role on prod after the binding went = %q, want none", got)
	}
	e.refused(t, pluginapi.CodeNotFound, rootToken, "bindings", "delete", b.ID)
}

// Bad flags are refused before anything is sent, naming what is wrong.
func TestCLIIdentityBadFlags(t *testing.T) {
	e := newIdentityEnv(t)
	for _, c := range []struct {
		want string
		args []string
	}{
		{"--expires is required", []string{"tokens", "create", "x", "--role", "viewer", "--all"}},
		{"--expires \"soon\"", []string{"tokens", "create", "x", "--role", "viewer", "--all", "--expires", "soon"}},
		{"--role is required", []string{"tokens", "create", "x", "--all", "--expires", "1d"}},
		{"--role: ", []string{"tokens", "create", "x", "--role", "root", "--all", "--expires", "1d"}},
		{"give exactly one scope", []string{"tokens", "create", "x", "--role", "viewer", "--expires", "1d"}},
		{"give exactly one scope", []string{"bindings", "create", "user:corp/a", "--role", "viewer", "--all", "--connection", "prod"}},
		{"--selector: ", []string{"bindings", "create", "user:corp/a", "--role", "viewer", "--selector", "team in ("}},
		{"role owner is host-wide", []string{"bindings", "create", "group:corp/ops", "--role", "owner", "--connection", "prod"}},
		{"SUBJECT: ", []string{"bindings", "create", "robot", "--role", "viewer", "--all"}},
	} {
		_, err := e.as(t, rootToken, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("wharf %s: error %v, want one containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	// None of them reached the host.
	if out := e.ok(t, rootToken, "bindings", "ls", "-o", "json"); strings.Contains(out, "user:corp/a") || strings.Contains(out, "group:corp/ops") {
		t.Fatalf("a refused binding was made:\n%s", out)
	}
}

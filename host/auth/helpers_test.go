package auth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/identity"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

var ctx = context.Background()

// Bootstrap tokens of the config every env starts with.
const (
	rootSecret = "root-bootstrap-secret-0123456789abcdef" // owner on everything
	ciSecret   = "ci-bootstrap-secret-0123456789abcdefgh" // viewer on everything
)

func rootToken() ops.Token {
	return ops.Token{Name: "root", SHA256: ops.HashToken(rootSecret), Role: ops.RoleOwner}
}

func ciToken() ops.Token {
	return ops.Token{Name: "ci", SHA256: ops.HashToken(ciSecret), Role: ops.RoleViewer}
}

// clock is the injected time of the identity store and the
// authenticator: tests move it by hand, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// env is a closed host on a real SQLite file: the audit log, the
// connection store, the identity store, ops.Host with the root and ci
// bootstrap tokens, and the Authenticator.
type env struct {
	dir, dbPath string
	db          *sql.DB
	audit       *audit.Log
	conns       *connstore.Store
	store       *identity.Store
	host        *ops.Host
	auth        *auth.Authenticator
	clock       *clock
	// root is the owner bootstrap token's caller.
	root ops.Caller
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, dbPath: filepath.Join(dir, "wharf.db"),
		clock: &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	db, err := store.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	ao, err := audit.LoadOrCreateOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.audit, err = audit.New(db, ao); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.audit.Close() })
	key, err := connstore.LoadOrCreateKey(filepath.Join(dir, "connections.key"))
	if err != nil {
		t.Fatal(err)
	}
	if e.conns, err = connstore.New(db, key); err != nil {
		t.Fatal(err)
	}
	if e.store, err = identity.New(ctx, db, identity.Options{Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.host, e.auth = e.newHost(t, rootToken(), ciToken())
	e.root = must(e.auth.Bearer(ctx, rootSecret, "", client()))(t)
	return e
}

// newHost is another ops.Host and Authenticator on the env's stores with
// the given bootstrap tokens: the host restarted with a changed config.
func (e *env) newHost(t *testing.T, tokens ...ops.Token) (*ops.Host, *auth.Authenticator) {
	t.Helper()
	h, err := ops.New(ops.Config{Connections: e.conns, Audit: e.audit, Egress: egress.New(egress.Options{}),
		Tokens: tokens, RequireAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	a, err := auth.New(auth.Options{Host: h, Store: e.store, Audit: e.audit, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h, a
}

// otherProcess is a second identity store on the env's file, as another
// process (the CLI, a second host) opens it.
func (e *env) otherProcess(t *testing.T) *identity.Store {
	t.Helper()
	db, err := store.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := identity.New(ctx, db, identity.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func client() auth.Client {
	return auth.Client{Addr: "192.0.2.7:4242", UserAgent: "test-browser", RequestID: "req-1"}
}

// person is what the identity provider says of a user of provider corp.
func person(username string, groups ...string) oidc.Identity {
	return oidc.Identity{Provider: "corp", Subject: "sub-" + username, Username: username,
		Name: strings.ToUpper(username[:1]) + username[1:], Email: username + "@example.com", EmailVerified: true,
		Groups: groups}
}

// signIn signs a person in through SSO, returning the session secret and
// the caller.
func (e *env) signIn(t *testing.T, username string, groups ...string) (string, ops.Caller) {
	t.Helper()
	secret, c, err := e.auth.SignIn(ctx, person(username, groups...), client())
	if err != nil {
		t.Fatalf("sign in %s: %v", username, err)
	}
	return secret, c
}

// bind gives subject role on scope (a selector, "*" for everything)
// through the store, as the config or another face would.
func (e *env) bind(t *testing.T, subject access.Subject, role access.Role, scope string) access.Binding {
	t.Helper()
	b, err := e.store.CreateBinding(ctx, access.Binding{Subject: subject, Grant: grant(t, role, scope)})
	if err != nil {
		t.Fatalf("bind %s %s on %s: %v", subject, role, scope, err)
	}
	return b
}

// grant is role on a selector's connections, or on all of them for "*".
func grant(t *testing.T, role access.Role, scope string) access.Grant {
	t.Helper()
	if scope == "*" {
		return access.Grant{Role: role, Scope: access.All()}
	}
	s, err := access.ParseSelector(scope)
	if err != nil {
		t.Fatal(err)
	}
	return access.Grant{Role: role, Scope: s}
}

// Connections that scopes are checked against.
var (
	teamA = access.Target{Name: "pay", Labels: map[string]string{"team": "a"}}
	teamB = access.Target{Name: "search", Labels: map[string]string{"team": "b"}}
)

func roleOn(c ops.Caller, t access.Target) access.Role { return c.Access().RoleOn(t) }

// newToken creates a managed token for c, failing the test on refusal.
func (e *env) newToken(t *testing.T, c ops.Caller, name string, gs ...access.Grant) auth.NewToken {
	t.Helper()
	nt, err := e.auth.CreateToken(ctx, c, auth.TokenRequest{Name: name, Grants: gs,
		ExpiresAt: e.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatalf("create token %s: %v", name, err)
	}
	return nt
}

// must returns a function that fails the test on err, else returns v.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantCode checks err is a pluginapi error with code (and, for
// CodeInvalid, field when given).
func wantCode(t *testing.T, what string, err error, code pluginapi.Code) *pluginapi.Error {
	t.Helper()
	var pe *pluginapi.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
	if pe.Code != code {
		t.Fatalf("%s: %s (%s), want %s", what, pe.Code, pe.Message, code)
	}
	return pe
}

func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	if pe := wantCode(t, what, err, pluginapi.CodeInvalid); pe.Field != field {
		t.Fatalf("%s: invalid at %q (%s), want at %s", what, pe.Field, pe.Message, field)
	}
}

// entries queries the whole audit log.
func (e *env) entries(t *testing.T, f audit.Filter) []audit.Entry {
	t.Helper()
	f.Limit = audit.MaxLimit
	es, err := e.audit.Query(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// one wants exactly one entry for f and returns it.
func (e *env) one(t *testing.T, f audit.Filter) audit.Entry {
	t.Helper()
	es := e.entries(t, f)
	if len(es) != 1 {
		t.Fatalf("audit entries for %+v: %d, want 1: %+v", f, len(es), es)
	}
	return es[0]
}

// request decodes an entry's request.
func request(t *testing.T, en audit.Entry) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(en.Request) > 0 {
		if err := json.Unmarshal(en.Request, &m); err != nil {
			t.Fatalf("entry %d request %s: %v", en.ID, en.Request, err)
		}
	}
	return m
}

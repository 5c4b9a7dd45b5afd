package auth_test

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/auth/oidc"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/internal/oidctest"
	"github.com/wharfhq/wharf/pluginapi"
)

// A user's token holds its grants only while its user still has them:
// operator on team=a given to the token, but once the user's binding is
// deleted the very next request has nothing.
func TestManagedTokenIsBoundedByItsUsersCurrentRights(t *testing.T) {
	e := newEnv(t)
	b := e.bind(t, access.User("corp", "alice"), access.Operator, "team=a")
	e.bind(t, access.User("corp", "alice"), access.Viewer, "team=b")
	_, alice := e.signIn(t, "alice")
	// The token asks for operator on team=a and viewer on team=b.
	nt := e.newToken(t, alice, "deploy", grant(t, access.Operator, "team=a"), grant(t, access.Viewer, "team=b"))

	c := must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	if c.Actor != "corp/alice" || c.UserID != alice.UserID || c.TokenID != nt.ID || c.Auth != "pat:"+nt.ID {
		t.Fatalf("token caller %+v", c)
	}
	if got := roleOn(c, teamA); got != access.Operator {
		t.Fatalf("token role on team=a %q, want operator", got)
	}

	// Alice is demoted: her operator binding on team=a goes.
	must(e.store.DeleteBinding(ctx, b.ID))(t)
	c = must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	if got := roleOn(c, teamA); got != access.None {
		t.Fatalf("after the demotion the token has %q on team=a, want nothing", got)
	}
	if got := roleOn(c, teamB); got != access.Viewer {
		t.Fatalf("after the demotion the token has %q on team=b, want viewer (still held)", got)
	}
}

// The token's grants bound the user's rights too: an owner's viewer token
// is a viewer.
func TestManagedTokenHasNoMoreThanItsGrants(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "olga"), access.Owner, "*")
	_, olga := e.signIn(t, "olga")
	nt := e.newToken(t, olga, "read-only", grant(t, access.Viewer, "*"))
	c := must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	if c.Owner() || roleOn(c, teamA) != access.Viewer {
		t.Fatalf("an owner's viewer token: owner %v, role %q", c.Owner(), roleOn(c, teamA))
	}
}

func TestTokenOfADisabledUserIsRefused(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "dan"), access.Viewer, "*")
	_, dan := e.signIn(t, "dan")
	nt := e.newToken(t, dan, "laptop", grant(t, access.Viewer, "*"))
	must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)

	must(e.auth.SetUserDisabled(ctx, e.root, dan.UserID, true))(t)
	_, err := e.auth.Bearer(ctx, nt.Secret, "", client())
	wantCode(t, "a disabled user's token", err, pluginapi.CodeUnauthorized)

	// Enabled again, the token works again: it was never revoked.
	must(e.auth.SetUserDisabled(ctx, e.root, dan.UserID, false))(t)
	must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
}

func TestRevokedTokenIsRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "rita"), access.Viewer, "*")
	_, rita := e.signIn(t, "rita")
	nt := e.newToken(t, rita, "ci", grant(t, access.Viewer, "*"))
	must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)

	must(e.auth.RevokeToken(ctx, rita, nt.ID))(t)
	_, err := e.auth.Bearer(ctx, nt.Secret, "", client())
	wantCode(t, "a revoked token", err, pluginapi.CodeUnauthorized)

	en := e.one(t, audit.Filter{Operation: "auth.token.revoke"})
	if en.Actor != "corp/rita" || en.Target != nt.ID || en.Outcome != audit.OutcomeOK {
		t.Fatalf("revoke entry %+v", en)
	}
}

// An expired token is refused, and its expiry is audited once however
// often it is tried.
func TestExpiredTokenIsRefusedAndItsExpiryAuditedOnce(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "eve"), access.Viewer, "*")
	_, eve := e.signIn(t, "eve")
	nt := e.newToken(t, eve, "short", grant(t, access.Viewer, "*")) // expires in 24h
	must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)

	e.clock.Advance(24 * time.Hour)
	for i := range 2 {
		_, err := e.auth.Bearer(ctx, nt.Secret, "", client())
		if pe := wantCode(t, "an expired token", err, pluginapi.CodeUnauthorized); pe.Message == "unknown token" {
			t.Fatalf("attempt %d: %q does not say the token expired", i, pe.Message)
		}
	}
	en := e.one(t, audit.Filter{Operation: "auth.token.expire"})
	if en.Target != nt.ID || en.Actor != "wharf" {
		t.Fatalf("expiry entry %+v", en)
	}
	if r := request(t, en); r["token"] != nt.ID || r["name"] != "short" {
		t.Fatalf("expiry entry request %v", r)
	}
}

// A token used only through a portal session (pasted on the sign-in page)
// has its expiry audited too, once, when the session is refused for it.
func TestExpiryOfATokenUsedThroughASessionIsAudited(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "ed"), access.Viewer, "*")
	_, ed := e.signIn(t, "ed")
	nt := e.newToken(t, ed, "pasted", grant(t, access.Viewer, "*")) // expires in 24h
	secret, _, err := e.auth.SignInWithToken(ctx, nt.Secret, client())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // used every 6 hours: the session stays within its idle bound
		e.clock.Advance(6 * time.Hour)
		must(e.auth.Session(ctx, secret, client()))(t)
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.token.expire"}); len(got) != 0 {
		t.Fatalf("expiry audited before the token expired: %+v", got)
	}
	e.clock.Advance(6 * time.Hour)
	_, err = e.auth.Session(ctx, secret, client())
	wantCode(t, "a session of an expired token", err, pluginapi.CodeUnauthorized)
	en := e.one(t, audit.Filter{Operation: "auth.token.expire"})
	if en.Target != nt.ID || en.Actor != "wharf" {
		t.Fatalf("expiry entry %+v", en)
	}
}

func TestTokenFirstUseIsAuditedOnce(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "fay"), access.Viewer, "*")
	_, fay := e.signIn(t, "fay")
	nt := e.newToken(t, fay, "script", grant(t, access.Viewer, "*"))
	if got := e.entries(t, audit.Filter{Operation: "auth.token.first-use"}); len(got) != 0 {
		t.Fatalf("first use audited before any use: %+v", got)
	}
	for range 2 {
		must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	}
	en := e.one(t, audit.Filter{Operation: "auth.token.first-use"})
	if en.Actor != "corp/fay" || en.Target != nt.ID || en.ClientAddr != client().Addr {
		t.Fatalf("first-use entry %+v", en)
	}
	if r := request(t, en); r["auth"] != "pat:"+nt.ID {
		t.Fatalf("first-use entry request %v: want auth pat:%s", r, nt.ID)
	}
}

func TestUnknownAndMalformedBearersAreUnauthorized(t *testing.T) {
	e := newEnv(t)
	for _, bearer := range []string{"", "short", "wharf_pat_000000000000000000000000000000000000000000000",
		"an-unknown-bootstrap-secret-of-enough-length"} {
		_, err := e.auth.Bearer(ctx, bearer, "mallory", client())
		wantCode(t, "bearer "+bearer, err, pluginapi.CodeUnauthorized)
	}
	// A real token with one character changed.
	e.bind(t, access.User("corp", "gil"), access.Viewer, "*")
	_, gil := e.signIn(t, "gil")
	nt := e.newToken(t, gil, "x", grant(t, access.Viewer, "*"))
	last := nt.Secret[len(nt.Secret)-1]
	tampered := nt.Secret[:len(nt.Secret)-1] + map[bool]string{true: "B", false: "A"}[last == 'A']
	_, err := e.auth.Bearer(ctx, tampered, "", client())
	wantCode(t, "a tampered token", err, pluginapi.CodeUnauthorized)
	// Open mode's actor header means nothing on a closed host.
	_, err = e.auth.Bearer(ctx, "", "root", client())
	wantCode(t, "an actor header without a token", err, pluginapi.CodeUnauthorized)
}

// A bootstrap token's caller gains what token:<name> bindings give.
func TestBootstrapTokenGainsItsTokenBindings(t *testing.T) {
	e := newEnv(t)
	ci := must(e.auth.Bearer(ctx, ciSecret, "", client()))(t)
	if ci.Actor != "ci" || roleOn(ci, teamA) != access.Viewer {
		t.Fatalf("ci caller %+v, role %q", ci, roleOn(ci, teamA))
	}
	e.bind(t, access.Token("ci"), access.Operator, "team=a")
	ci = must(e.auth.Bearer(ctx, ciSecret, "", client()))(t)
	if roleOn(ci, teamA) != access.Operator || roleOn(ci, teamB) != access.Viewer {
		t.Fatalf("ci with a binding: %q on team=a, %q on team=b", roleOn(ci, teamA), roleOn(ci, teamB))
	}
}

// Scope attack: a team-a viewer tries to mint a token wider than
// themself.
func TestTokenWiderThanItsCreatorIsRefusedAndAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "vic"), access.Viewer, "team=a")
	_, vic := e.signIn(t, "vic")
	exp := e.clock.Now().Add(time.Hour)

	for _, g := range []access.Grant{grant(t, access.Operator, "team=a"), grant(t, access.Viewer, "*"),
		grant(t, access.Viewer, "team=b")} {
		_, err := e.auth.CreateToken(ctx, vic, auth.TokenRequest{Name: "wide", Grants: access.Grants{g}, ExpiresAt: exp})
		wantCode(t, "a token with "+g.String(), err, pluginapi.CodeForbidden)
	}
	denied := e.entries(t, audit.Filter{Operation: "auth.token.create", Outcome: audit.OutcomeDenied})
	if len(denied) != 3 {
		t.Fatalf("denied token creations audited: %d, want 3: %+v", len(denied), denied)
	}
	for _, en := range denied {
		if en.Actor != "corp/vic" || en.ErrorCode != string(pluginapi.CodeForbidden) {
			t.Fatalf("denied entry %+v", en)
		}
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.token.create", Outcome: audit.OutcomeOK}); len(got) != 0 {
		t.Fatalf("a refused creation is also logged as run: %+v", got)
	}
	if ts := must(e.auth.Tokens(ctx, vic, auth.Mine))(t); len(ts) != 0 {
		t.Fatalf("vic has tokens after refusals: %+v", ts)
	}

	// Exactly what vic holds works (a narrower selector too).
	nt := e.newToken(t, vic, "ok", grant(t, access.Viewer, "team=a"))
	e.newToken(t, vic, "narrower", grant(t, access.Viewer, "team=a,env=prod"))
	c := must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	if roleOn(c, teamA) != access.Viewer || roleOn(c, teamB) != access.None {
		t.Fatalf("vic's token: %q on team=a, %q on team=b", roleOn(c, teamA), roleOn(c, teamB))
	}
	en := e.entries(t, audit.Filter{Operation: "auth.token.create", Outcome: audit.OutcomeOK})
	if len(en) != 2 {
		t.Fatalf("token creations audited ok: %+v", en)
	}
}

// A managed token cannot mint a wider one either: it is bounded by its
// own grants, not only its user's.
func TestTokenCannotMintAWiderToken(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "ops"), access.Admin, "*")
	_, u := e.signIn(t, "ops")
	nt := e.newToken(t, u, "viewer", grant(t, access.Viewer, "*"))
	tc := must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)
	_, err := e.auth.CreateToken(ctx, tc, auth.TokenRequest{Name: "admin", Grants: access.Grants{grant(t, access.Admin, "*")},
		ExpiresAt: e.clock.Now().Add(time.Hour)})
	wantCode(t, "a viewer token minting an admin token", err, pluginapi.CodeForbidden)
}

func TestTokenRequestsWithoutAValidExpiryOrOwnerAreRefused(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "vic"), access.Viewer, "team=a")
	_, vic := e.signIn(t, "vic")
	g := access.Grants{grant(t, access.Viewer, "team=a")}
	now := e.clock.Now()

	_, err := e.auth.CreateToken(ctx, vic, auth.TokenRequest{Name: "forever", Grants: g})
	wantInvalid(t, "no expiry", err, "/expires_at")
	_, err = e.auth.CreateToken(ctx, vic, auth.TokenRequest{Name: "long", Grants: g,
		ExpiresAt: now.Add(e.auth.TokenMaxLifetime() + time.Minute)})
	wantInvalid(t, "beyond the longest lifetime", err, "/expires_at")
	must(e.auth.CreateToken(ctx, vic, auth.TokenRequest{Name: "longest", Grants: g,
		ExpiresAt: now.Add(e.auth.TokenMaxLifetime())}))(t)

	// Service accounts are for owners only.
	_, err = e.auth.CreateToken(ctx, vic, auth.TokenRequest{Name: "svc", Grants: g, ExpiresAt: now.Add(time.Hour),
		ServiceAccount: true})
	wantCode(t, "a service account by a viewer", err, pluginapi.CodeForbidden)
	en := e.one(t, audit.Filter{Operation: "auth.token.create", Outcome: audit.OutcomeDenied})
	if en.Actor != "corp/vic" || request(t, en)["service_account"] != true {
		t.Fatalf("denied service account entry %+v", en)
	}

	// A bootstrap token is no user: its token must be a service account's.
	_, err = e.auth.CreateToken(ctx, e.root, auth.TokenRequest{Name: "mine", Grants: g, ExpiresAt: now.Add(time.Hour)})
	wantInvalid(t, "a user token by a bootstrap token", err, "/service_account")
	svc := must(e.auth.CreateToken(ctx, e.root, auth.TokenRequest{Name: "svc", Grants: g, ExpiresAt: now.Add(time.Hour),
		ServiceAccount: true}))(t)
	c := must(e.auth.Bearer(ctx, svc.Secret, "", client()))(t)
	if c.UserID != "" || c.Actor != "service:svc" || roleOn(c, teamA) != access.Viewer {
		t.Fatalf("service account caller %+v", c)
	}

	// Grants are checked: an owner grant is host-wide only.
	_, err = e.auth.CreateToken(ctx, e.root, auth.TokenRequest{Name: "bad", ServiceAccount: true,
		Grants: access.Grants{grant(t, access.Owner, "team=a")}, ExpiresAt: now.Add(time.Hour)})
	wantInvalid(t, "an owner grant on a selector", err, "/grants")
}

// A stolen cookie is useless once its owner signed out.
func TestSessionGivesTheSameRightsUntilSignOut(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "sam"), access.Operator, "team=a")
	secret, sam := e.signIn(t, "sam")
	if sam.SessionID == "" || sam.Auth != "session:oidc:corp" || roleOn(sam, teamA) != access.Operator {
		t.Fatalf("signed-in caller %+v", sam)
	}
	en := e.one(t, audit.Filter{Operation: "auth.signin"})
	if r := request(t, en); en.Actor != "corp/sam" || r["session"] != sam.SessionID || r["new_user"] != true {
		t.Fatalf("sign-in entry %+v %v", en, r)
	}

	c := must(e.auth.Session(ctx, secret, client()))(t)
	if c.UserID != sam.UserID || c.SessionID != sam.SessionID || roleOn(c, teamA) != access.Operator ||
		roleOn(c, teamB) != access.None {
		t.Fatalf("session caller %+v", c)
	}

	must(0, e.auth.SignOut(ctx, c))(t)
	_, err := e.auth.Session(ctx, secret, client())
	wantCode(t, "the session after sign-out", err, pluginapi.CodeUnauthorized)
	out := e.one(t, audit.Filter{Operation: "auth.signout"})
	if out.Target != sam.SessionID || out.Actor != "corp/sam" {
		t.Fatalf("sign-out entry %+v", out)
	}

	_, err = e.auth.Session(ctx, "", client())
	wantCode(t, "no cookie", err, pluginapi.CodeUnauthorized)
	_, err = e.auth.Session(ctx, "forged-secret", client())
	wantCode(t, "a forged cookie", err, pluginapi.CodeUnauthorized)
}

func TestSessionOpenedWithAManagedTokenDiesWithIt(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "tom"), access.Viewer, "*")
	_, tom := e.signIn(t, "tom")
	nt := e.newToken(t, tom, "browser", grant(t, access.Viewer, "*"))

	secret, c, err := e.auth.SignInWithToken(ctx, "  "+nt.Secret+"\n", client())
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenID != nt.ID || c.Auth != "session:token" {
		t.Fatalf("token session caller %+v", c)
	}
	s := must(e.auth.Session(ctx, secret, client()))(t)
	if s.UserID != tom.UserID || s.TokenID != nt.ID || roleOn(s, teamA) != access.Viewer {
		t.Fatalf("token session %+v", s)
	}

	must(e.auth.RevokeToken(ctx, tom, nt.ID))(t)
	_, err = e.auth.Session(ctx, secret, client())
	wantCode(t, "the session of a revoked token", err, pluginapi.CodeUnauthorized)
}

// A pasted token that does not work opens nothing, and the attempt is
// audited.
func TestSignInWithABadTokenIsRefusedAndAudited(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.auth.SignInWithToken(ctx, "not-a-token-but-long-enough-to-be-hashed", client())
	wantCode(t, "sign-in with an unknown token", err, pluginapi.CodeUnauthorized)
	en := e.one(t, audit.Filter{Operation: "auth.signin"})
	if en.Actor != "unknown" || en.ErrorCode != string(pluginapi.CodeUnauthorized) {
		t.Fatalf("refused sign-in entry %+v", en)
	}
}

func TestSessionOpenedWithABootstrapTokenDiesWhenTheConfigDropsIt(t *testing.T) {
	e := newEnv(t)
	secret, c, err := e.auth.SignInWithToken(ctx, ciSecret, client())
	if err != nil {
		t.Fatal(err)
	}
	if c.Actor != "ci" || c.Auth != "session:bootstrap-token" {
		t.Fatalf("bootstrap session caller %+v", c)
	}
	if s := must(e.auth.Session(ctx, secret, client()))(t); s.Actor != "ci" || roleOn(s, teamA) != access.Viewer {
		t.Fatalf("bootstrap session %+v", s)
	}

	// The host restarts with ci removed from the config.
	_, restarted := e.newHost(t, rootToken())
	_, err = restarted.Session(ctx, secret, client())
	wantCode(t, "a session of a removed bootstrap token", err, pluginapi.CodeUnauthorized)
	// The refusal ended the session: putting ci back does not revive it.
	_, back := e.newHost(t, rootToken(), ciToken())
	_, err = back.Session(ctx, secret, client())
	wantCode(t, "a session ended by the config change, after ci came back", err, pluginapi.CodeUnauthorized)
}

// The same name with another secret is another token.
func TestSessionOfAChangedBootstrapTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	secret, _, err := e.auth.SignInWithToken(ctx, ciSecret, client())
	if err != nil {
		t.Fatal(err)
	}
	changedCI := ciToken()
	changedCI.SHA256 = ops.HashToken("ci-bootstrap-secret-CHANGED-0123456789ab")
	_, changed := e.newHost(t, rootToken(), changedCI)
	_, err = changed.Session(ctx, secret, client())
	wantCode(t, "a session of a changed bootstrap token", err, pluginapi.CodeUnauthorized)
}

func TestDisabledUsersSessionsStopWorking(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "dora"), access.Viewer, "*")
	sso, dora := e.signIn(t, "dora")
	nt := e.newToken(t, dora, "paste", grant(t, access.Viewer, "*"))
	pasted, _, err := e.auth.SignInWithToken(ctx, nt.Secret, client())
	if err != nil {
		t.Fatal(err)
	}

	must(e.auth.SetUserDisabled(ctx, e.root, dora.UserID, true))(t)
	for name, secret := range map[string]string{"sso": sso, "token": pasted} {
		_, err := e.auth.Session(ctx, secret, client())
		wantCode(t, "the "+name+" session of a disabled user", err, pluginapi.CodeUnauthorized)
	}
	// Nor can she sign in again.
	_, _, err = e.auth.SignIn(ctx, person("dora"), client())
	wantCode(t, "sign-in of a disabled user", err, pluginapi.CodeForbidden)
	en := e.entries(t, audit.Filter{Operation: "auth.user.disable"})
	if len(en) != 1 || en[0].Outcome != audit.OutcomeOK || en[0].Target != dora.UserID {
		t.Fatalf("disable entries %+v", en)
	}
}

// A group binding follows what the provider said at the last sign-in.
func TestGroupBindingFollowsTheGroupsOfTheLastSignIn(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.Group("corp", "payments"), access.Operator, "team=a")

	first, gina := e.signIn(t, "gina", "payments", "staff")
	_, hugo := e.signIn(t, "hugo", "staff")
	if roleOn(gina, teamA) != access.Operator {
		t.Fatalf("gina of payments has %q on team=a", roleOn(gina, teamA))
	}
	if roleOn(hugo, teamA) != access.None {
		t.Fatalf("hugo, not of payments, has %q on team=a", roleOn(hugo, teamA))
	}
	// The same group name of another provider is another group.
	_, ivan, err := e.auth.SignIn(ctx, oidc.Identity{Provider: "other", Subject: "x", Username: "ivan",
		Groups: []string{"payments"}}, client())
	if err != nil || roleOn(ivan, teamA) != access.None {
		t.Fatalf("payments of another provider: %v, %q", err, roleOn(ivan, teamA))
	}

	// Gina leaves payments: her next sign-in says so, and even her older
	// session loses the role.
	_, again := e.signIn(t, "gina", "staff")
	if again.UserID != gina.UserID || roleOn(again, teamA) != access.None {
		t.Fatalf("gina after leaving payments: %+v, %q", again, roleOn(again, teamA))
	}
	old := must(e.auth.Session(ctx, first, client()))(t)
	if roleOn(old, teamA) != access.None {
		t.Fatalf("gina's older session still has %q on team=a", roleOn(old, teamA))
	}
}

// Another process (the CLI on the same file) adds a binding: the
// Authenticator sees it on the next request, not after a restart.
func TestBindingMadeByAnotherProcessIsSeenOnTheNextRequest(t *testing.T) {
	e := newEnv(t)
	secret, kim := e.signIn(t, "kim")
	if roleOn(kim, teamA) != access.None {
		t.Fatalf("kim starts with %q", roleOn(kim, teamA))
	}
	// Warm the cache.
	must(e.auth.Session(ctx, secret, client()))(t)

	cli := e.otherProcess(t)
	b := must(cli.CreateBinding(ctx, access.Binding{Subject: access.User("corp", "kim"), Grant: grant(t, access.Admin, "team=a")}))(t)
	c := must(e.auth.Session(ctx, secret, client()))(t)
	if roleOn(c, teamA) != access.Admin {
		t.Fatalf("after another process's binding kim has %q, want admin", roleOn(c, teamA))
	}
	must(cli.DeleteBinding(ctx, b.ID))(t)
	c = must(e.auth.Session(ctx, secret, client()))(t)
	if roleOn(c, teamA) != access.None {
		t.Fatalf("after another process deleted it kim has %q", roleOn(c, teamA))
	}

	// Config bindings replaced at another process's start count too.
	must(0, cli.ReplaceConfigBindings(ctx, []access.Binding{{Subject: access.User("corp", "kim"),
		Grant: grant(t, access.Viewer, "*")}}))(t)
	c = must(e.auth.Session(ctx, secret, client()))(t)
	if roleOn(c, teamB) != access.Viewer {
		t.Fatalf("after a config binding kim has %q on team=b", roleOn(c, teamB))
	}
}

func TestNewSSORefusesAConfigWithoutRedirectURLOrTwice(t *testing.T) {
	good := oidc.Config{Name: "corp", Issuer: "https://id.example.com", ClientID: "wharf",
		ClientSecret: "s3cret", RedirectURL: "https://wharf.example.com/auth/oidc/corp/callback"}
	noRedirect := good
	noRedirect.RedirectURL = ""
	if _, err := auth.NewSSO([]oidc.Config{noRedirect}, nil); err == nil {
		t.Fatal("a config without RedirectURL accepted")
	}
	if _, err := auth.NewSSO([]oidc.Config{good, good}, nil); err == nil {
		t.Fatal("the same provider twice accepted")
	}
	bad := good
	bad.Issuer = "http://id.example.com" // plain http off loopback
	if _, err := auth.NewSSO([]oidc.Config{bad}, nil); err == nil {
		t.Fatal("a plain-http issuer accepted")
	}

	other := good
	other.Name, other.Title = "other", "Staff login"
	sso := must(auth.NewSSO([]oidc.Config{good, other}, nil))(t)
	ps := sso.Providers()
	if len(ps) != 2 || ps[0] != (auth.ProviderInfo{Name: "corp", Title: "Sign in with corp"}) ||
		ps[1] != (auth.ProviderInfo{Name: "other", Title: "Staff login"}) {
		t.Fatalf("providers %+v", ps)
	}
	// An unknown name is not found, without any discovery.
	_, err := sso.Provider(ctx, "nope")
	wantCode(t, "an unknown provider", err, pluginapi.CodeNotFound)
	var none *auth.SSO
	_, err = none.Provider(ctx, "corp")
	wantCode(t, "a provider when none is configured", err, pluginapi.CodeNotFound)
	if none.Providers() != nil {
		t.Fatal("no SSO lists providers")
	}
}

// The whole sign-in through the real test provider: the SSO discovers it
// on first use, Finish's identity signs in, and the group the provider
// reports gives the group binding's role.
func TestSignInThroughTheRealProviderGivesTheGroupsRole(t *testing.T) {
	const callback = "http://127.0.0.1:1/auth/oidc/corp/callback" // never requested: Login stops at it
	alice := oidctest.User{Sub: "alice-1", Password: "correct horse", Email: "alice@example.com", Name: "Alice",
		PreferredUsername: "alice", Groups: []string{"payments"}}
	idp := oidctest.Start(t, oidctest.Options{Users: []oidctest.User{alice}, RedirectURLs: []string{callback}})
	e := newEnv(t)
	e.bind(t, access.Group("corp", "payments"), access.Operator, "team=a")
	sso := must(auth.NewSSO([]oidc.Config{{Name: "corp", Issuer: idp.Issuer, ClientID: idp.ClientID,
		ClientSecret: idp.ClientSecret, RedirectURL: callback}}, nil))(t)

	p := must(sso.Provider(ctx, "corp"))(t)
	if again := must(sso.Provider(ctx, "corp"))(t); again != p {
		t.Fatal("the provider was discovered twice")
	}
	authURL, st, err := p.Begin()
	if err != nil {
		t.Fatal(err)
	}
	cb := idp.Login(t, nil, authURL, "alice", alice.Password)
	id := must(p.Finish(ctx, st, cb.Query()))(t)
	secret, c, err := e.auth.SignIn(ctx, id, client())
	if err != nil {
		t.Fatal(err)
	}
	if c.Actor != "corp/alice" || roleOn(c, teamA) != access.Operator || roleOn(c, teamB) != access.None {
		t.Fatalf("signed in as %+v: %q on team=a, %q on team=b", c, roleOn(c, teamA), roleOn(c, teamB))
	}
	s := must(e.auth.Session(ctx, secret, client()))(t)
	if s.UserID != c.UserID || roleOn(s, teamA) != access.Operator {
		t.Fatalf("session %+v", s)
	}
	en := e.one(t, audit.Filter{Operation: "auth.signin"})
	if r := request(t, en); r["method"] != "oidc:corp" || en.Actor != "corp/alice" {
		t.Fatalf("sign-in entry %+v %v", en, r)
	}
}

// A session opened with a managed token ends when the token expires,
// though the session itself would live longer.
func TestSessionOfAnExpiredTokenEnds(t *testing.T) {
	e := newEnv(t)
	e.bind(t, access.User("corp", "una"), access.Viewer, "*")
	_, una := e.signIn(t, "una")
	nt := must(e.auth.CreateToken(ctx, una, auth.TokenRequest{Name: "hour", Grants: access.Grants{grant(t, access.Viewer, "*")},
		ExpiresAt: e.clock.Now().Add(time.Hour)}))(t)
	secret, _, err := e.auth.SignInWithToken(ctx, nt.Secret, client())
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(59 * time.Minute)
	must(e.auth.Session(ctx, secret, client()))(t)
	e.clock.Advance(time.Minute)
	_, err = e.auth.Session(ctx, secret, client())
	wantCode(t, "the session of an expired token", err, pluginapi.CodeUnauthorized)
}

func TestRemovedBootstrapTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	_, restarted := e.newHost(t, rootToken())
	_, err := restarted.Bearer(ctx, ciSecret, "", client())
	wantCode(t, "a bootstrap token removed from the config", err, pluginapi.CodeUnauthorized)
	must(restarted.Bearer(ctx, rootSecret, "", client()))(t)
}

// On an open host everyone is an owner already: a pasted token opens
// nothing.
func TestSignInWithTokenOnAnOpenHostIsAConflict(t *testing.T) {
	e := newEnv(t)
	h, err := ops.New(ops.Config{Connections: e.conns, Audit: e.audit, Egress: egress.New(egress.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	a := must(auth.New(auth.Options{Host: h, Store: e.store, Audit: e.audit, Now: e.clock.Now}))(t)
	if !a.Open() {
		t.Fatal("a host without tokens or RequireAuth is not open")
	}
	_, _, err = a.SignInWithToken(ctx, rootSecret, client())
	wantCode(t, "sign-in on an open host", err, pluginapi.CodeConflict)
	c := must(a.Bearer(ctx, "", "someone", client()))(t)
	if c.Actor != "someone" || !c.Owner() {
		t.Fatalf("open host caller %+v", c)
	}
}

func TestNewRefusesMissingPartsAndBadLifetimes(t *testing.T) {
	e := newEnv(t)
	if _, err := auth.New(auth.Options{Host: e.host, Store: e.store}); err == nil {
		t.Fatal("an Authenticator without an audit log")
	}
	for _, d := range []time.Duration{time.Minute, auth.MaxTokenMaxLifetime + time.Hour} {
		if _, err := auth.New(auth.Options{Host: e.host, Store: e.store, Audit: e.audit, TokenMaxLifetime: d}); err == nil {
			t.Fatalf("TokenMaxLifetime %s accepted", d)
		}
	}
	a := must(auth.New(auth.Options{Host: e.host, Store: e.store, Audit: e.audit}))(t)
	if a.TokenMaxLifetime() != auth.DefaultTokenMaxLifetime {
		t.Fatalf("default lifetime %s", a.TokenMaxLifetime())
	}
}

// Requests resolving rights at once while another process changes the
// bindings share the cache safely (run with -race), and once the change
// is made every later request sees it.
func TestConcurrentRequestsSeeTheLatestBindings(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.signIn(t, "lee")
	cli := e.otherProcess(t)
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if _, err = e.auth.Session(ctx, secret, client()); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for i := range 5 {
		if _, err := cli.CreateBinding(ctx, access.Binding{Subject: access.User("corp", "lee"),
			Grant: grant(t, access.Viewer, "n="+string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	c := must(e.auth.Session(ctx, secret, client()))(t)
	if got := roleOn(c, access.Target{Name: "x", Labels: map[string]string{"n": "e"}}); got != access.Viewer {
		t.Fatalf("after the last binding lee has %q on n=e", got)
	}
}

// An identity-provider account whose preferred_username copies an owner's
// (many providers let users edit it) is refused: it neither becomes the
// owner's user nor inherits the bindings that name the owner's username.
func TestSignInWithAnotherUsersUsernameIsRefused(t *testing.T) {
	const callback = "http://127.0.0.1:1/auth/oidc/corp/callback"
	alice := oidctest.User{Sub: "alice-1", Password: "correct horse", PreferredUsername: "alice"}
	mallory := oidctest.User{Sub: "mallory-1", Password: "battery staple", PreferredUsername: "alice"}
	idp := oidctest.Start(t, oidctest.Options{Users: []oidctest.User{alice, mallory}, RedirectURLs: []string{callback}})
	e := newEnv(t)
	e.bind(t, access.User("corp", "alice"), access.Owner, "*")
	sso := must(auth.NewSSO([]oidc.Config{{Name: "corp", Issuer: idp.Issuer, ClientID: idp.ClientID,
		ClientSecret: idp.ClientSecret, RedirectURL: callback}}, nil))(t)
	p := must(sso.Provider(ctx, "corp"))(t)
	signIn := func(login, password string) (string, ops.Caller, error) {
		authURL, st, err := p.Begin()
		if err != nil {
			t.Fatal(err)
		}
		id := must(p.Finish(ctx, st, idp.Login(t, nil, authURL, login, password).Query()))(t)
		return e.auth.SignIn(ctx, id, client())
	}

	_, a, err := signIn("alice-1", alice.Password)
	if err != nil || !a.Owner() {
		t.Fatalf("alice: %+v %v, want an owner", a, err)
	}
	secret, m, err := signIn("mallory-1", mallory.Password)
	wantCode(t, "mallory signing in as alice", err, pluginapi.CodeForbidden)
	if secret != "" || m.Owner() || m.UserID != "" {
		t.Fatalf("the refused sign-in gave a session %q / caller %+v", secret, m)
	}
	refused := e.entries(t, audit.Filter{Operation: "auth.signin", Outcome: audit.OutcomeError})
	if len(refused) != 1 || refused[0].Actor != "corp/alice" {
		t.Fatalf("refused sign-ins audited: %+v, want one", refused)
	}
	users := must(e.store.Users(ctx))(t)
	if len(users) != 1 || users[0].Subject != "alice-1" {
		t.Fatalf("users %+v, want alice's alone", users)
	}
}

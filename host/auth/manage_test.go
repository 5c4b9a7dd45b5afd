package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// newTeam signs in an owner (olga) and two viewers on everything (vic,
// wes) through SSO.
func newTeam(t *testing.T, e *env) (olga, vic, wes ops.Caller) {
	t.Helper()
	e.bind(t, access.User("corp", "olga"), access.Owner, "*")
	e.bind(t, access.User("corp", "vic"), access.Viewer, "*")
	e.bind(t, access.User("corp", "wes"), access.Viewer, "*")
	_, olga = e.signIn(t, "olga")
	_, vic = e.signIn(t, "vic")
	_, wes = e.signIn(t, "wes")
	return olga, vic, wes
}

func TestViewerCannotCreateOrDeleteBindingsAndIsAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	olga, vic, _ := newTeam(t, e)
	b := access.Binding{Subject: access.User("corp", "vic"), Grant: grant(t, access.Admin, "*")}

	_, err := e.auth.CreateBinding(ctx, vic, b)
	wantCode(t, "a viewer making themself admin", err, pluginapi.CodeForbidden)
	existing := must(e.store.Bindings(ctx))(t)
	_, err = e.auth.DeleteBinding(ctx, vic, existing[0].ID)
	wantCode(t, "a viewer deleting a binding", err, pluginapi.CodeForbidden)
	_, err = e.auth.Bindings(ctx, vic)
	wantCode(t, "a viewer listing bindings", err, pluginapi.CodeForbidden)
	if got := must(e.store.Bindings(ctx))(t); len(got) != len(existing) {
		t.Fatalf("bindings changed by refused calls: %+v", got)
	}

	for _, op := range []string{"auth.binding.create", "auth.binding.delete"} {
		en := e.one(t, audit.Filter{Operation: op})
		if en.Actor != "corp/vic" || en.Outcome != audit.OutcomeDenied || en.ErrorCode != string(pluginapi.CodeForbidden) {
			t.Fatalf("%s entry %+v", op, en)
		}
	}

	// The owner can, each audited as run.
	made := must(e.auth.CreateBinding(ctx, olga, b))(t)
	if made.ID == "" || made.Source != "api" {
		t.Fatalf("created binding %+v", made)
	}
	_, c := e.signIn(t, "vic")
	if roleOn(c, teamA) != access.Admin {
		t.Fatalf("vic after the owner's binding: %q", roleOn(c, teamA))
	}
	must(e.auth.DeleteBinding(ctx, olga, made.ID))(t)
	ok := e.entries(t, audit.Filter{Actor: "corp/olga", Outcome: audit.OutcomeOK})
	var done []string
	for _, en := range ok {
		done = append(done, en.Operation)
	}
	if !slices.Contains(done, "auth.binding.create") || !slices.Contains(done, "auth.binding.delete") {
		t.Fatalf("olga's audited operations %v", done)
	}
	if got := must(e.auth.Bindings(ctx, olga))(t); len(got) != len(existing) {
		t.Fatalf("bindings after create and delete: %+v", got)
	}
}

func TestBadBindingsAreInvalidAndNotLoggedAsRun(t *testing.T) {
	e := newEnv(t)
	olga, _, _ := newTeam(t, e)
	_, err := e.auth.CreateBinding(ctx, olga, access.Binding{Subject: "nobody", Grant: grant(t, access.Viewer, "*")})
	wantInvalid(t, "a subject without a kind", err, "/subject")
	_, err = e.auth.CreateBinding(ctx, olga, access.Binding{Subject: access.User("corp", "x"),
		Grant: access.Grant{Role: "god", Scope: access.All()}})
	wantInvalid(t, "an unknown role", err, "/role")
	_, err = e.auth.CreateBinding(ctx, olga, access.Binding{Subject: access.User("corp", "x"),
		Grant: grant(t, access.Owner, "team=a")})
	wantInvalid(t, "a scoped owner", err, "/scope")
	if got := e.entries(t, audit.Filter{Operation: "auth.binding.create"}); len(got) != 0 {
		t.Fatalf("refused inputs logged: %+v", got)
	}
	// The same binding twice is a conflict.
	b := access.Binding{Subject: access.User("corp", "x"), Grant: grant(t, access.Viewer, "*")}
	must(e.auth.CreateBinding(ctx, olga, b))(t)
	_, err = e.auth.CreateBinding(ctx, olga, b)
	wantCode(t, "a duplicate binding", err, pluginapi.CodeConflict)
}

func TestOnlyOwnersListUsersAndOthersTokensAndSessions(t *testing.T) {
	e := newEnv(t)
	olga, vic, wes := newTeam(t, e)
	_, err := e.auth.Users(ctx, vic)
	wantCode(t, "a viewer listing users", err, pluginapi.CodeForbidden)
	us := must(e.auth.Users(ctx, olga))(t)
	if len(us) != 3 {
		t.Fatalf("users %+v", us)
	}

	e.newToken(t, wes, "wes-token", grant(t, access.Viewer, "*"))
	for _, whose := range []string{wes.UserID, auth.Everyone, auth.ServiceAccounts} {
		_, err = e.auth.Tokens(ctx, vic, whose)
		wantCode(t, "a viewer listing tokens of "+whose, err, pluginapi.CodeForbidden)
		_, err = e.auth.Sessions(ctx, vic, whose)
		if whose != auth.ServiceAccounts {
			wantCode(t, "a viewer listing sessions of "+whose, err, pluginapi.CodeForbidden)
		}
	}
	if ts := must(e.auth.Tokens(ctx, vic, auth.Mine))(t); len(ts) != 0 {
		t.Fatalf("vic's own tokens show others': %+v", ts)
	}
	if ts := must(e.auth.Tokens(ctx, olga, wes.UserID))(t); len(ts) != 1 || ts[0].Name != "wes-token" {
		t.Fatalf("olga lists wes's tokens as %+v", ts)
	}
	mine := must(e.auth.Sessions(ctx, vic, auth.Mine))(t)
	if len(mine) != 1 || mine[0].ID != vic.SessionID {
		t.Fatalf("vic's sessions %+v", mine)
	}
	if all := must(e.auth.Sessions(ctx, olga, auth.Everyone))(t); len(all) != 3 {
		t.Fatalf("olga lists %d sessions, want 3", len(all))
	}
}

// Another user's token is not found for a non-owner, exactly as an
// unknown id is: its existence does not leak. The attempt is audited.
func TestViewerCannotRevokeAnotherUsersToken(t *testing.T) {
	e := newEnv(t)
	olga, vic, wes := newTeam(t, e)
	nt := e.newToken(t, wes, "wes-token", grant(t, access.Viewer, "*"))

	_, err := e.auth.RevokeToken(ctx, vic, nt.ID)
	theirs := wantCode(t, "vic revoking wes's token", err, pluginapi.CodeNotFound)
	_, err = e.auth.RevokeToken(ctx, vic, "tok_doesnotexist")
	unknown := wantCode(t, "vic revoking an unknown token", err, pluginapi.CodeNotFound)
	if theirs.Message != "token "+nt.ID+": not found" || unknown.Message != "token tok_doesnotexist: not found" {
		t.Fatalf("refusals %q and %q differ in more than the id", theirs.Message, unknown.Message)
	}
	_, err = e.auth.RotateToken(ctx, vic, nt.ID)
	wantCode(t, "vic rotating wes's token", err, pluginapi.CodeNotFound)
	must(e.auth.Bearer(ctx, nt.Secret, "", client()))(t)

	for _, op := range []string{"auth.token.revoke", "auth.token.rotate"} {
		en := e.one(t, audit.Filter{Operation: op, Outcome: audit.OutcomeDenied})
		if en.Actor != "corp/vic" || en.Target != nt.ID {
			t.Fatalf("%s denied entry %+v", op, en)
		}
	}

	// An owner can revoke anyone's.
	rt := must(e.auth.RevokeToken(ctx, olga, nt.ID))(t)
	if rt.RevokedAt.IsZero() {
		t.Fatalf("revoked token %+v", rt)
	}
	_, err = e.auth.Bearer(ctx, nt.Secret, "", client())
	wantCode(t, "wes's token revoked by the owner", err, pluginapi.CodeUnauthorized)
}

func TestUserRevokesAndRotatesTheirOwnToken(t *testing.T) {
	e := newEnv(t)
	_, vic, _ := newTeam(t, e)
	nt := e.newToken(t, vic, "laptop", grant(t, access.Viewer, "*"))
	session, _, err := e.auth.SignInWithToken(ctx, nt.Secret, client())
	if err != nil {
		t.Fatal(err)
	}

	rot := must(e.auth.RotateToken(ctx, vic, nt.ID))(t)
	if rot.Secret == "" || rot.Secret == nt.Secret || rot.ID != nt.ID || rot.Name != "laptop" ||
		!rot.ExpiresAt.Equal(nt.ExpiresAt) {
		t.Fatalf("rotated %+v from %+v", rot.Token, nt.Token)
	}
	_, err = e.auth.Bearer(ctx, nt.Secret, "", client())
	wantCode(t, "the old secret after rotation", err, pluginapi.CodeUnauthorized)
	_, err = e.auth.Session(ctx, session, client())
	wantCode(t, "a session of the old secret after rotation", err, pluginapi.CodeUnauthorized)
	c := must(e.auth.Bearer(ctx, rot.Secret, "", client()))(t)
	if c.TokenID != nt.ID {
		t.Fatalf("new secret caller %+v", c)
	}
	en := e.one(t, audit.Filter{Operation: "auth.token.rotate"})
	if en.Outcome != audit.OutcomeOK || en.Actor != "corp/vic" || en.Target != nt.ID {
		t.Fatalf("rotate entry %+v", en)
	}

	must(e.auth.RevokeToken(ctx, vic, nt.ID))(t)
	_, err = e.auth.Bearer(ctx, rot.Secret, "", client())
	wantCode(t, "the rotated secret after revocation", err, pluginapi.CodeUnauthorized)
}

// Revoking twice, or rotating a token that no longer works, is a
// conflict with the token's state, not a store failure to retry.
func TestRevokingOrRotatingAnEndedTokenIsAConflict(t *testing.T) {
	e := newEnv(t)
	_, vic, _ := newTeam(t, e)
	revoked := e.newToken(t, vic, "revoked", grant(t, access.Viewer, "*"))
	must(e.auth.RevokeToken(ctx, vic, revoked.ID))(t)
	_, err := e.auth.RevokeToken(ctx, vic, revoked.ID)
	wantCode(t, "revoking a revoked token", err, pluginapi.CodeConflict)
	_, err = e.auth.RotateToken(ctx, vic, revoked.ID)
	wantCode(t, "rotating a revoked token", err, pluginapi.CodeConflict)

	expired := e.newToken(t, vic, "expired", grant(t, access.Viewer, "*"))
	e.clock.Advance(25 * time.Hour)
	_, err = e.auth.RotateToken(ctx, vic, expired.ID)
	wantCode(t, "rotating an expired token", err, pluginapi.CodeConflict)
	// An expired token can still be revoked.
	must(e.auth.RevokeToken(ctx, vic, expired.ID))(t)
}

func TestEndingSessionsOfOthersNeedsTheOwner(t *testing.T) {
	e := newEnv(t)
	olga, vic, wes := newTeam(t, e)
	wesSecret, _ := e.signIn(t, "wes") // a second session of wes

	err := e.auth.EndSession(ctx, vic, wes.SessionID)
	theirs := wantCode(t, "vic ending wes's session", err, pluginapi.CodeNotFound)
	unknown := wantCode(t, "vic ending an unknown session", e.auth.EndSession(ctx, vic, "ses_unknown"), pluginapi.CodeNotFound)
	if theirs.Message != "session "+wes.SessionID+": not found" || unknown.Message != "session ses_unknown: not found" {
		t.Fatalf("refusals %q and %q differ in more than the id", theirs.Message, unknown.Message)
	}
	denied := e.one(t, audit.Filter{Operation: "auth.session.end", Outcome: audit.OutcomeDenied})
	if denied.Actor != "corp/vic" || denied.Target != wes.SessionID {
		t.Fatalf("denied entry %+v", denied)
	}
	must(e.auth.Session(ctx, wesSecret, client()))(t)

	// A user ends their own session.
	must(0, e.auth.EndSession(ctx, vic, vic.SessionID))(t)
	own := e.one(t, audit.Filter{Operation: "auth.session.end", Outcome: audit.OutcomeOK})
	if request(t, own)["by_owner"] != false {
		t.Fatalf("own session end entry %s", own.Request)
	}

	// The owner ends wes's, audited as done by an owner.
	ss := must(e.auth.Sessions(ctx, olga, wes.UserID))(t)
	if len(ss) != 2 {
		t.Fatalf("wes's sessions %+v", ss)
	}
	for _, s := range ss {
		must(0, e.auth.EndSession(ctx, olga, s.ID))(t)
	}
	_, err = e.auth.Session(ctx, wesSecret, client())
	wantCode(t, "wes's session ended by the owner", err, pluginapi.CodeUnauthorized)
	byOwner := e.entries(t, audit.Filter{Operation: "auth.session.end", Actor: "corp/olga"})
	if len(byOwner) != 2 {
		t.Fatalf("owner's session ends %+v", byOwner)
	}
	for _, en := range byOwner {
		if r := request(t, en); en.Outcome != audit.OutcomeOK || r["by_owner"] != true || r["user"] != wes.UserID {
			t.Fatalf("owner's session end entry %+v %v", en, r)
		}
	}
}

func TestOwnerCannotDisableThemselfButCanDisableOthers(t *testing.T) {
	e := newEnv(t)
	olga, vic, wes := newTeam(t, e)
	_, err := e.auth.SetUserDisabled(ctx, olga, olga.UserID, true)
	wantCode(t, "an owner disabling themself", err, pluginapi.CodeConflict)
	if u := must(e.store.User(ctx, olga.UserID))(t); u.Disabled {
		t.Fatal("olga was disabled")
	}

	_, err = e.auth.SetUserDisabled(ctx, vic, wes.UserID, true)
	wantCode(t, "a viewer disabling a user", err, pluginapi.CodeForbidden)
	en := e.one(t, audit.Filter{Operation: "auth.user.disable", Outcome: audit.OutcomeDenied})
	if en.Actor != "corp/vic" || en.Target != wes.UserID {
		t.Fatalf("denied disable entry %+v", en)
	}

	u := must(e.auth.SetUserDisabled(ctx, olga, wes.UserID, true))(t)
	if !u.Disabled {
		t.Fatalf("disabled user %+v", u)
	}
	u = must(e.auth.SetUserDisabled(ctx, olga, wes.UserID, false))(t)
	if u.Disabled {
		t.Fatalf("enabled user %+v", u)
	}
	if got := e.entries(t, audit.Filter{Operation: "auth.user.enable", Outcome: audit.OutcomeOK}); len(got) != 1 {
		t.Fatalf("enable entries %+v", got)
	}
	_, err = e.auth.SetUserDisabled(ctx, olga, "usr_nobody", true)
	wantCode(t, "disabling an unknown user", err, pluginapi.CodeNotFound)
}

// Bindings of the config file are replaced at each start: the API cannot
// delete them (they would come back).
func TestConfigBindingCannotBeDeletedThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	olga, _, _ := newTeam(t, e)
	must(0, e.store.ReplaceConfigBindings(ctx, []access.Binding{{Subject: access.Group("corp", "sre"),
		Grant: grant(t, access.Admin, "*")}}))(t)
	var cfg access.Binding
	for _, b := range must(e.auth.Bindings(ctx, olga))(t) {
		if b.Source == "config" {
			cfg = b
		}
	}
	if cfg.ID == "" {
		t.Fatal("no config binding listed")
	}
	_, err := e.auth.DeleteBinding(ctx, olga, cfg.ID)
	wantCode(t, "deleting a config binding", err, pluginapi.CodeConflict)
	en := e.one(t, audit.Filter{Operation: "auth.binding.delete"})
	if en.Outcome != audit.OutcomeError || en.ErrorCode != string(pluginapi.CodeConflict) {
		t.Fatalf("refused config-binding delete entry %+v", en)
	}
}

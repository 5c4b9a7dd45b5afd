package identity

import (
	"context"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
)

func TestAReopenedStoreKeepsEverything(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		u, _ := f.User(ctx, uid)
		sessSecret, sess := newSession(t, f, SessionInput{Principal: uid, UserID: uid, Method: "oidc:corp", UserAgent: "Firefox"})
		tokSecret, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		_, revoked := newToken(t, f, tokenInput(f, "", "old robot"))
		if _, err := f.RevokeToken(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.MarkTokenUsed(ctx, tok.ID, "192.0.2.9:9"); err != nil {
			t.Fatal(err)
		}
		api, err := f.CreateBinding(ctx, binding(t, "user:corp/alice", access.Admin, `{"connections":["a"]}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.ReplaceConfigBindings(ctx, []access.Binding{binding(t, "group:corp/payments", access.Viewer, `{"selector":"team=payments"}`)}); err != nil {
			t.Fatal(err)
		}
		bindingsBefore, _ := f.Bindings(ctx)
		tokensBefore, _ := f.Tokens(ctx, "", true)
		g := gen(t, f)

		f.clock.Advance(time.Second)
		f.open(t)

		if got, err := f.User(ctx, uid); err != nil || !equalUsers(got, u) {
			t.Errorf("user after reopening: %+v %v; want %+v", got, err, u)
		}
		if got, err := f.SessionBySecret(ctx, sessSecret); err != nil || got != sess {
			t.Errorf("session after reopening: %+v %v; want %+v", got, err, sess)
		}
		got, err := f.TokenBySecret(ctx, tokSecret)
		if err != nil || got.ID != tok.ID || got.LastUsedAddr != "192.0.2.9:9" || got.Grants.String() != tok.Grants.String() {
			t.Errorf("token after reopening: %+v %v", got, err)
		}
		if got, err := f.Token(ctx, revoked.ID); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("revoked token after reopening: %+v %v", got, err)
		}
		tokensAfter, _ := f.Tokens(ctx, "", true)
		if len(tokensAfter) != len(tokensBefore) {
			t.Errorf("%d tokens listed after reopening, %d before", len(tokensAfter), len(tokensBefore))
		}
		for i := range tokensAfter {
			if !sameToken(tokensAfter[i], tokensBefore[i]) {
				t.Errorf("token %d: %+v, before %+v", i, tokensAfter[i], tokensBefore[i])
			}
		}
		bindingsAfter, _ := f.Bindings(ctx)
		if describe(bindingsAfter) != describe(bindingsBefore) || bindingsAfter[1].ID != api.ID || bindingsAfter[0].ID != bindingsBefore[0].ID {
			t.Errorf("bindings after reopening:\n%s\nbefore:\n%s", describe(bindingsAfter), describe(bindingsBefore))
		}
		if g2 := gen(t, f); g2 != g {
			t.Errorf("generation %d after reopening, %d before", g2, g)
		}
		// The config binding still cannot be deleted, the api one can.
		_, err = f.DeleteBinding(ctx, bindingsAfter[0].ID)
		wantErr(t, "deleting the config binding after reopening", err, ErrConflict)
		if _, err := f.DeleteBinding(ctx, api.ID); err != nil {
			t.Error(err)
		}
	})
}

func TestOptionsDefaults(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		f := newFixture(t, e, Options{SessionIdle: -1, MaxTokensPerUser: -5})
		o := f.Store.o
		if o.SessionIdle != 8*time.Hour || o.SessionAbsolute != 7*24*time.Hour || o.MaxSessionsPerUser != 20 ||
			o.MaxTokensPerUser != 100 || o.MaxServiceTokens != 1000 || o.Now == nil {
			t.Errorf("defaults %+v", o)
		}
	})
}

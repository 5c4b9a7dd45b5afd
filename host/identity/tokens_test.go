package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/access"
)

func scope(t *testing.T, js string) access.Scope {
	t.Helper()
	var s access.Scope
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("scope %s: %v", js, err)
	}
	return s
}

// tokenFixture is a store with the user alice, whose id it returns.
func tokenFixture(t *testing.T, e engine, o Options) (*fixture, string) {
	t.Helper()
	f := newFixture(t, e, o)
	u, _, err := f.UpsertUser(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	return f, u.ID
}

func tokenInput(f *fixture, userID, name string) TokenInput {
	return TokenInput{Name: name, UserID: userID, Grants: access.Grants{{Role: access.Viewer, Scope: access.All()}},
		ExpiresAt: f.clock.Now().Add(24 * time.Hour), CreatedBy: "user:corp/alice"}
}

func newToken(t *testing.T, f *fixture, in TokenInput) (string, Token) {
	t.Helper()
	secret, tok, err := f.CreateToken(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func TestTokenSecretsHaveTheScannableForm(t *testing.T) {
	for range 200 {
		s := newTokenSecret()
		if !strings.HasPrefix(s, "wharf_pat_") || len(s) != len("wharf_pat_")+46 || !LooksLikeToken(s) {
			t.Fatalf("secret %q", s)
		}
		for _, c := range s[len(TokenPrefix):] {
			if !strings.ContainsRune(base62, c) {
				t.Fatalf("secret %q holds %q", s, c)
			}
		}
	}
}

func TestLooksLikeTokenRefusesEveryOneCharacterChange(t *testing.T) {
	s := newTokenSecret()
	alphabet := base62 + "_-+/=. é\x00"
	for i := range len(s) {
		for _, c := range alphabet {
			if string(c) == s[i:i+1] {
				continue
			}
			changed := s[:i] + string(c) + s[i+1:]
			if LooksLikeToken(changed) {
				t.Fatalf("position %d changed to %q accepted: %s", i, c, changed)
			}
		}
	}
	for _, bad := range []string{"", TokenPrefix, s[:len(s)-1], s + "0", s[1:], "WHARF_PAT_" + s[len(TokenPrefix):],
		s[:len(TokenPrefix)] + s[len(TokenPrefix)+1:len(TokenPrefix)+40] + s[len(TokenPrefix):len(TokenPrefix)+1] + s[len(TokenPrefix)+40:]} {
		if LooksLikeToken(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCreateTokenAndFindItBySecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		in := tokenInput(f, uid, "  ci deploy-1.x_y ")
		in.Grants = access.Grants{{Role: access.Operator, Scope: scope(t, `{"selector":"team=payments"}`)},
			{Role: access.Viewer, Scope: scope(t, `{"connections":["b","a"]}`)}}
		secret, tok := newToken(t, f, in)
		if !LooksLikeToken(secret) || !strings.HasPrefix(tok.ID, "tok_") || tok.Name != "ci deploy-1.x_y" || tok.UserID != uid ||
			tok.CreatedBy != "user:corp/alice" || !tok.CreatedAt.Equal(f.clock.Now()) || !tok.ExpiresAt.Equal(in.ExpiresAt) ||
			!tok.LastUsedAt.IsZero() || !tok.RevokedAt.IsZero() || !tok.RotatedAt.IsZero() {
			t.Errorf("created %+v", tok)
		}
		got, err := f.TokenBySecret(ctx, secret)
		if err != nil || !sameToken(got, tok) {
			t.Fatalf("TokenBySecret = %+v, %v; want %+v", got, err, tok)
		}
		if got.Grants.String() != "operator on connections matching team=payments; viewer on connections a, b" {
			t.Errorf("grants read back as %s", got.Grants)
		}
		if got, err := f.Token(ctx, tok.ID); err != nil || !sameToken(got, tok) {
			t.Errorf("Token = %+v, %v", got, err)
		}
		_, err = f.Token(ctx, "tok_nonesuch")
		wantErr(t, "Token of an unknown id", err, ErrNotFound)
		for _, bad := range []string{"", "hunter2", secret[:len(secret)-1] + "x", newTokenSecret()} {
			got, err := f.TokenBySecret(ctx, bad)
			wantErr(t, "secret "+bad, err, ErrNotFound)
			if got.ID != "" || (bad != "" && strings.Contains(err.Error(), bad)) {
				t.Errorf("for %q: %+v, %v", bad, got, err)
			}
		}
		// A service account's token.
		if _, sa := newToken(t, f, tokenInput(f, "", "robot")); sa.UserID != "" {
			t.Errorf("service account token %+v", sa)
		}
	})
}

// sameToken compares tokens, grants by their text.
func sameToken(a, b Token) bool {
	ga, gb := a.Grants.String(), b.Grants.String()
	a.Grants, b.Grants = nil, nil
	return ga == gb && fmt.Sprint(a) == fmt.Sprint(b)
}

func TestTokenSecretsAreNeverStored(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		s1, tok := newToken(t, f, tokenInput(f, uid, "one"))
		s2, _, err := f.RotateToken(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		s3, _ := newToken(t, f, tokenInput(f, "", "robot"))
		for _, s := range []string{s1, s2, s3, s1[len(TokenPrefix):], s2[len(TokenPrefix):]} {
			wantNowhere(t, f, s, "identity_tokens", "identity_sessions")
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		secret, tok := newToken(t, f, tokenInput(f, uid, "short"))
		if first, err := f.NoteTokenExpired(ctx, tok.ID); first || err != nil {
			t.Errorf("NoteTokenExpired of a live token = %v, %v", first, err)
		}
		f.clock.Advance(24*time.Hour - time.Nanosecond)
		if _, err := f.TokenBySecret(ctx, secret); err != nil {
			t.Fatalf("just before expiry: %v", err)
		}
		f.clock.Advance(time.Nanosecond)
		got, err := f.TokenBySecret(ctx, secret)
		wantErr(t, "at expiry", err, ErrTokenExpired)
		if got.ID != tok.ID {
			t.Errorf("the expired token is not returned with the error: %+v", got)
		}
		if first, err := f.NoteTokenExpired(ctx, tok.ID); !first || err != nil {
			t.Errorf("first NoteTokenExpired = %v, %v", first, err)
		}
		f.open(t) // even after a restart
		for range 2 {
			if first, err := f.NoteTokenExpired(ctx, tok.ID); first || err != nil {
				t.Errorf("NoteTokenExpired again = %v, %v", first, err)
			}
		}
		_, err = f.NoteTokenExpired(ctx, "tok_nonesuch")
		wantErr(t, "NoteTokenExpired of an unknown id", err, ErrNotFound)
		_, _, err = f.RotateToken(ctx, tok.ID)
		wantErr(t, "rotating an expired token", err, ErrTokenExpired)
		// An expired token can still be revoked.
		if rev, err := f.RevokeToken(ctx, tok.ID); err != nil || rev.RevokedAt.IsZero() {
			t.Errorf("revoking an expired token: %+v %v", rev, err)
		}
	})
}

func TestRevokeToken(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		secret, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		_, other := newToken(t, f, tokenInput(f, uid, "other"))
		newSession(t, f, SessionInput{Principal: tok.ID, UserID: uid, Method: "token"})
		newSession(t, f, SessionInput{Principal: tok.ID, UserID: uid, Method: "token"})
		_, keep := newSession(t, f, SessionInput{Principal: other.ID, UserID: uid, Method: "token"})
		f.clock.Advance(time.Minute)
		rev, err := f.RevokeToken(ctx, tok.ID)
		if err != nil || !rev.RevokedAt.Equal(f.clock.Now()) || rev.ID != tok.ID {
			t.Fatalf("RevokeToken = %+v, %v", rev, err)
		}
		got, err := f.TokenBySecret(ctx, secret)
		wantErr(t, "a revoked token", err, ErrTokenRevoked)
		if !sameToken(got, rev) {
			t.Errorf("returned %+v with the error, want %+v", got, rev)
		}
		if list, _ := f.Sessions(ctx, uid); len(list) != 1 || list[0].ID != keep.ID {
			t.Errorf("sessions after revoking: %+v, want only the other token's", list)
		}
		again, err := f.RevokeToken(ctx, tok.ID)
		wantErr(t, "revoking twice", err, ErrTokenRevoked)
		if !again.RevokedAt.Equal(rev.RevokedAt) {
			t.Errorf("revoking twice moved the time: %+v", again)
		}
		_, err = f.RevokeToken(ctx, "tok_nonesuch")
		wantErr(t, "revoking an unknown id", err, ErrNotFound)
		_, _, err = f.RotateToken(ctx, tok.ID)
		wantErr(t, "rotating a revoked token", err, ErrTokenRevoked)
	})
}

func TestRotateToken(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		old, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		newSession(t, f, SessionInput{Principal: tok.ID, UserID: uid, Method: "token"})
		f.clock.Advance(time.Hour)
		secret, rot, err := f.RotateToken(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if secret == old || !LooksLikeToken(secret) || rot.ID != tok.ID || rot.Name != tok.Name || rot.Grants.String() != tok.Grants.String() ||
			!rot.ExpiresAt.Equal(tok.ExpiresAt) || !rot.RotatedAt.Equal(f.clock.Now()) {
			t.Errorf("rotated %+v", rot)
		}
		_, err = f.TokenBySecret(ctx, old)
		wantErr(t, "the old secret", err, ErrNotFound)
		if got, err := f.TokenBySecret(ctx, secret); err != nil || !sameToken(got, rot) {
			t.Errorf("the new secret: %+v %v", got, err)
		}
		if n := count(t, f, "identity_sessions"); n != 0 {
			t.Errorf("%d sessions of the old secret left", n)
		}
		_, _, err = f.RotateToken(ctx, "tok_nonesuch")
		wantErr(t, "rotating an unknown id", err, ErrNotFound)
	})
}

func TestTokenNamesAreUniqueAmongAnOwnersLiveTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		bob, _, err := f.UpsertUser(ctx, UserInput{Provider: "corp", Subject: "sub-bob", Username: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		_, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		_, _, err = f.CreateToken(ctx, tokenInput(f, uid, "ci"))
		wantErr(t, "the same name twice", err, ErrConflict)
		if !strings.Contains(err.Error(), `"ci"`) {
			t.Errorf("the conflict does not name the token: %v", err)
		}
		newToken(t, f, tokenInput(f, bob.ID, "ci")) // another owner
		newToken(t, f, tokenInput(f, "", "ci"))     // a service account
		_, _, err = f.CreateToken(ctx, tokenInput(f, "", "ci"))
		wantErr(t, "a service account name twice", err, ErrConflict)
		newToken(t, f, tokenInput(f, uid, "CI")) // names are compared exactly
		if _, err := f.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, renewed := newToken(t, f, tokenInput(f, uid, "ci")) // the revoked one no longer holds the name
		in := tokenInput(f, uid, "soon")
		in.ExpiresAt = f.clock.Now().Add(time.Minute)
		newToken(t, f, in)
		f.clock.Advance(time.Minute)
		newToken(t, f, tokenInput(f, uid, "soon")) // nor does an expired one
		if renewed.ID == tok.ID {
			t.Error("a new token reused the revoked one's id")
		}
	})
}

func TestTokenLimitsCountLiveTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{MaxTokensPerUser: 2, MaxServiceTokens: 1})
		_, t1 := newToken(t, f, tokenInput(f, uid, "one"))
		newToken(t, f, tokenInput(f, uid, "two"))
		_, _, err := f.CreateToken(ctx, tokenInput(f, uid, "three"))
		wantErr(t, "a third token", err, ErrConflict)
		if _, err := f.RevokeToken(ctx, t1.ID); err != nil {
			t.Fatal(err)
		}
		newToken(t, f, tokenInput(f, uid, "three"))
		newToken(t, f, tokenInput(f, "", "robot"))
		_, _, err = f.CreateToken(ctx, tokenInput(f, "", "robot2"))
		wantErr(t, "a second service token", err, ErrConflict)
	})
}

func TestTokensOfUnknownOrDisabledUsersAreRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		_, _, err := f.CreateToken(ctx, tokenInput(f, "usr_nobody", "ci"))
		wantErr(t, "an unknown owner", err, ErrNotFound)
		if err := f.SetUserDisabled(ctx, uid, true); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.CreateToken(ctx, tokenInput(f, uid, "ci"))
		wantErr(t, "a disabled owner", err, ErrUserDisabled)
	})
}

func TestTokenInputBounds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		tooMany := make(access.Grants, MaxTokenGrants+1)
		for i := range tooMany {
			tooMany[i] = access.Grant{Role: access.Viewer, Scope: access.All()}
		}
		for _, c := range []struct {
			name  string
			edit  func(*TokenInput)
			field string
		}{
			{"no name", func(in *TokenInput) { in.Name = "" }, "/name"},
			{"only spaces", func(in *TokenInput) { in.Name = "   " }, "/name"},
			{"65 characters", func(in *TokenInput) { in.Name = strings.Repeat("n", 65) }, "/name"},
			{"a slash", func(in *TokenInput) { in.Name = "ci/cd" }, "/name"},
			{"a newline", func(in *TokenInput) { in.Name = "ci\ncd" }, "/name"},
			{"invalid UTF-8", func(in *TokenInput) { in.Name = "ci\xff" }, "/name"},
			{"no grants", func(in *TokenInput) { in.Grants = nil }, "/grants"},
			{"too many grants", func(in *TokenInput) { in.Grants = tooMany }, "/grants"},
			{"unknown role", func(in *TokenInput) { in.Grants = access.Grants{{Role: "root", Scope: access.All()}} }, "/grants/0/role"},
			{"owner on a selector", func(in *TokenInput) {
				in.Grants = access.Grants{{Role: access.Viewer, Scope: access.All()}, {Role: access.Owner, Scope: scope(t, `{"selector":"a=b"}`)}}
			}, "/grants/1/scope"},
			{"no scope", func(in *TokenInput) { in.Grants = access.Grants{{Role: access.Viewer}} }, "/grants/0/scope"},
			{"no expiry", func(in *TokenInput) { in.ExpiresAt = time.Time{} }, "/expires_at"},
			{"expiry now", func(in *TokenInput) { in.ExpiresAt = f.clock.Now() }, "/expires_at"},
			{"expiry past", func(in *TokenInput) { in.ExpiresAt = f.clock.Now().Add(-time.Hour) }, "/expires_at"},
			{"expiry in the year 3000", func(in *TokenInput) { in.ExpiresAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, "/expires_at"},
		} {
			in := tokenInput(f, uid, "ok")
			c.edit(&in)
			_, _, err := f.CreateToken(ctx, in)
			wantInvalid(t, c.name, err, c.field)
		}
		in := tokenInput(f, uid, strings.Repeat("é", 64))
		in.Grants, in.CreatedBy = tooMany[:MaxTokenGrants], strings.Repeat("c", 400)
		_, tok, err := f.CreateToken(ctx, in)
		if err != nil || len(tok.CreatedBy) != 320 {
			t.Errorf("64 letters, %d grants, a long actor: %+v %v", MaxTokenGrants, tok, err)
		}
	})
}

func TestTokensListsAndPrune(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		_, a := newToken(t, f, tokenInput(f, uid, "a"))
		f.clock.Advance(time.Second)
		_, b := newToken(t, f, tokenInput(f, uid, "b"))
		f.clock.Advance(time.Second)
		newToken(t, f, tokenInput(f, "", "robot"))
		ids := func(ts []Token, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, tk := range ts {
				out = append(out, tk.Name)
			}
			return strings.Join(out, ",")
		}
		if got := ids(f.Tokens(ctx, uid, false)); got != "b,a" {
			t.Errorf("alice's tokens %s, want b,a (newest first)", got)
		}
		if got := ids(f.Tokens(ctx, "", false)); got != "robot" {
			t.Errorf("service account tokens %s", got)
		}
		if got := ids(f.Tokens(ctx, "", true)); got != "robot,b,a" {
			t.Errorf("every token %s", got)
		}
		if list, err := f.Tokens(ctx, "usr_nobody", false); err != nil || list == nil || len(list) != 0 {
			t.Errorf("no tokens: %#v %v, want an empty list", list, err)
		}

		if _, err := f.RevokeToken(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		newSession(t, f, SessionInput{Principal: b.ID, UserID: uid, Method: "token", UserAgent: "curl"})
		f.clock.Advance(TokenRetention - time.Second)
		if got := ids(f.Tokens(ctx, uid, false)); got != "b,a" {
			t.Errorf("within the retention %s, want the revoked one listed", got)
		}
		f.clock.Advance(time.Second)
		if got := ids(f.Tokens(ctx, uid, false)); got != "b" {
			t.Errorf("retention over: %s, want the revoked one hidden even before Prune", got)
		}
		// b and robot expired a day in; their retention ends a day later.
		if ns, nt, err := f.Prune(ctx); err != nil || ns != 1 || nt != 1 {
			t.Errorf("Prune = %d sessions, %d tokens, %v; want 1 (expired), 1 (revoked 30 days ago)", ns, nt, err)
		}
		if _, err := f.Token(ctx, a.ID); err == nil {
			t.Error("the pruned token is still there")
		}
		f.clock.Advance(24 * time.Hour)
		if ns, nt, err := f.Prune(ctx); err != nil || ns != 0 || nt != 2 {
			t.Errorf("second Prune = %d, %d, %v; want 0, 2", ns, nt, err)
		}
		if got := ids(f.Tokens(ctx, "", true)); got != "" {
			t.Errorf("after pruning everything: %s", got)
		}
	})
}

func TestMarkTokenUsed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		_, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		first, err := f.MarkTokenUsed(ctx, tok.ID, "192.0.2.1:1000")
		if err != nil || !first {
			t.Fatalf("first use = %v, %v", first, err)
		}
		t0 := f.clock.Now()
		f.clock.Advance(59 * time.Second)
		if first, err := f.MarkTokenUsed(ctx, tok.ID, "192.0.2.2:2000"); first || err != nil {
			t.Errorf("second use = %v, %v", first, err)
		}
		got, _ := f.Token(ctx, tok.ID)
		if !got.LastUsedAt.Equal(t0) || got.LastUsedAddr != "192.0.2.1:1000" {
			t.Errorf("within a minute it was written: %+v", got)
		}
		f.clock.Advance(time.Second)
		if first, err := f.MarkTokenUsed(ctx, tok.ID, "192.0.2.3:3000"); first || err != nil {
			t.Errorf("use a minute later = %v, %v", first, err)
		}
		got, _ = f.Token(ctx, tok.ID)
		if !got.LastUsedAt.Equal(f.clock.Now()) || got.LastUsedAddr != "192.0.2.3:3000" {
			t.Errorf("a minute later: %+v", got)
		}
		_, err = f.MarkTokenUsed(ctx, "tok_nonesuch", "x")
		wantErr(t, "an unknown id", err, ErrNotFound)
	})
}

func TestConcurrentFirstUsesAndNamesHaveOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		_, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		const n = 8
		var wg sync.WaitGroup
		firsts := make(chan bool, n)
		created := make(chan error, n)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				first, err := f.MarkTokenUsed(ctx, tok.ID, fmt.Sprintf("192.0.2.%d:1", i))
				if err != nil {
					t.Error(err)
				}
				firsts <- first
			}()
			go func() {
				defer wg.Done()
				_, _, err := f.CreateToken(ctx, tokenInput(f, uid, "deploy"))
				created <- err
			}()
		}
		wg.Wait()
		close(firsts)
		close(created)
		nFirst, nCreated := 0, 0
		for first := range firsts {
			if first {
				nFirst++
			}
		}
		for err := range created {
			switch {
			case err == nil:
				nCreated++
			case !errors.Is(err, ErrConflict):
				t.Errorf("creating at once: %v", err)
			}
		}
		if nFirst != 1 || nCreated != 1 {
			t.Errorf("%d first uses, %d tokens named deploy; want 1 and 1", nFirst, nCreated)
		}
	})
}

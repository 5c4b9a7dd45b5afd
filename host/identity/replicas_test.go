package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/store"
)

// Two stores on one database (two processes on the file, two replicas on
// PostgreSQL) see each other's writes at once: nothing is cached.
func TestReplicasShareOneStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		r := f.replica(t)

		if u, err := r.UserBy(ctx, alice.Provider, alice.Subject); err != nil || u.ID != uid {
			t.Fatalf("the replica's UserBy: %+v %v", u, err)
		}
		secret, ss := newSession(t, r, SessionInput{Principal: uid, UserID: uid, Method: "oidc:corp"})
		if got, err := f.SessionBySecret(ctx, secret); err != nil || got.ID != ss.ID {
			t.Errorf("a session made on the replica: %+v %v", got, err)
		}
		tokSecret, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		if got, err := r.TokenBySecret(ctx, tokSecret); err != nil || got.ID != tok.ID {
			t.Errorf("a token made on the first store, on the replica: %+v %v", got, err)
		}
		if _, err := r.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.TokenBySecret(ctx, tokSecret)
		wantErr(t, "a token revoked on the replica", err, ErrTokenRevoked)

		g := gen(t, f)
		b, err := f.CreateBinding(ctx, binding(t, "user:corp/alice", access.Admin, `{"all":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if list, err := r.Bindings(ctx); err != nil || len(list) != 1 || list[0].ID != b.ID {
			t.Errorf("the replica's bindings: %+v %v", list, err)
		}
		if g2 := gen(t, r); g2 <= g {
			t.Errorf("the replica's generation %d, %d before the binding", g2, g)
		}

		if err := r.SetUserDisabled(ctx, uid, true); err != nil {
			t.Fatal(err)
		}
		_, err = f.SessionBySecret(ctx, secret)
		wantErr(t, "a session of a user disabled on the replica", err, ErrNotFound)
		_, _, err = f.CreateSession(ctx, SessionInput{Principal: uid, UserID: uid, Method: "oidc:corp"})
		wantErr(t, "a new session of a user disabled on the replica", err, ErrUserDisabled)
	})
}

// race runs f(i, store) for i < n in goroutines released together, the
// stores taken in turn.
func race(n int, stores []*fixture, f func(i int, s *fixture)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i, stores[i%len(stores)])
		}()
	}
	close(start)
	wg.Wait()
}

// Writers racing on two stores of one database: every check-then-write
// has exactly one winner, and nobody gets an error the store does not
// define (on PostgreSQL, without the write lock, the losers of a sign-in
// race hit the unique index instead, and two tokens get one name).
func TestReplicasRacingWritesHaveOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, uid := tokenFixture(t, e, Options{})
		stores := []*fixture{f, f.replica(t)}
		_, tok := newToken(t, f, tokenInput(f, uid, "ci"))
		const n = 12
		var mu sync.Mutex
		count := func(p *int) { mu.Lock(); *p++; mu.Unlock() }

		var created int
		ids := map[string]bool{}
		bob := UserInput{Provider: "corp", Subject: "sub-bob", Username: "bob"}
		race(n, stores, func(i int, s *fixture) {
			u, c, err := s.UpsertUser(ctx, bob)
			if err != nil {
				t.Errorf("sign-in %d: %v", i, err)
				return
			}
			mu.Lock()
			ids[u.ID] = true
			mu.Unlock()
			if c {
				count(&created)
			}
		})
		if created != 1 || len(ids) != 1 {
			t.Errorf("%d sign-ins created bob, giving %d ids; want 1 and 1", created, len(ids))
		}

		var firsts int
		race(n, stores, func(i int, s *fixture) {
			first, err := s.MarkTokenUsed(ctx, tok.ID, fmt.Sprintf("192.0.2.%d:1", i))
			if err != nil {
				t.Errorf("use %d: %v", i, err)
			}
			if first {
				count(&firsts)
			}
		})
		if firsts != 1 {
			t.Errorf("%d first uses, want 1", firsts)
		}

		won := func(what string, p *int, err error) {
			switch {
			case err == nil:
				count(p)
			case !errors.Is(err, ErrConflict):
				t.Errorf("%s: %v, want success or ErrConflict", what, err)
			}
		}
		var tokens, bindings int
		race(n, stores, func(i int, s *fixture) {
			_, _, err := s.CreateToken(ctx, tokenInput(f, uid, "deploy"))
			won("a token named deploy", &tokens, err)
		})
		race(n, stores, func(i int, s *fixture) {
			_, err := s.CreateBinding(ctx, binding(t, "group:corp/devs", access.Viewer, `{"all":true}`))
			won("a binding", &bindings, err)
		})
		if tokens != 1 || bindings != 1 {
			t.Errorf("%d tokens named deploy, %d equal bindings; want 1 and 1", tokens, bindings)
		}
	})
}

// Ids PostgreSQL's text cannot hold (a NUL byte, invalid UTF-8) are not
// found on either engine, rather than an error on one and "not found" on
// the other.
func TestIDsThatTextCannotHoldAreNotFound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f, _ := tokenFixture(t, e, Options{})
		for _, bad := range []string{"usr_\x00", "tok_\xff\xfe", "\x00"} {
			_, err := f.User(ctx, bad)
			wantErr(t, "User", err, ErrNotFound)
			_, err = f.UserBy(ctx, "corp", bad)
			wantErr(t, "UserBy", err, ErrNotFound)
			_, err = f.UserBy(ctx, bad, "sub-alice")
			wantErr(t, "UserBy provider", err, ErrNotFound)
			wantErr(t, "SetUserDisabled", f.SetUserDisabled(ctx, bad, true), ErrNotFound)
			_, err = f.Session(ctx, bad)
			wantErr(t, "Session", err, ErrNotFound)
			wantErr(t, "DeleteSession", f.DeleteSession(ctx, bad), ErrNotFound)
			if list, err := f.Sessions(ctx, bad); err != nil || len(list) != 0 {
				t.Errorf("Sessions(%q) = %v, %v", bad, list, err)
			}
			if n, err := f.DeleteUserSessions(ctx, bad); err != nil || n != 0 {
				t.Errorf("DeleteUserSessions(%q) = %d, %v", bad, n, err)
			}
			if n, err := f.DeletePrincipalSessions(ctx, bad); err != nil || n != 0 {
				t.Errorf("DeletePrincipalSessions(%q) = %d, %v", bad, n, err)
			}
			_, err = f.Token(ctx, bad)
			wantErr(t, "Token", err, ErrNotFound)
			if list, err := f.Tokens(ctx, bad, false); err != nil || len(list) != 0 {
				t.Errorf("Tokens(%q) = %v, %v", bad, list, err)
			}
			_, err = f.MarkTokenUsed(ctx, bad, "192.0.2.1:1")
			wantErr(t, "MarkTokenUsed", err, ErrNotFound)
			_, err = f.NoteTokenExpired(ctx, bad)
			wantErr(t, "NoteTokenExpired", err, ErrNotFound)
			_, err = f.RevokeToken(ctx, bad)
			wantErr(t, "RevokeToken", err, ErrNotFound)
			_, _, err = f.RotateToken(ctx, bad)
			wantErr(t, "RotateToken", err, ErrNotFound)
			_, err = f.DeleteBinding(ctx, bad)
			wantErr(t, "DeleteBinding", err, ErrNotFound)
		}
		// Informational text is cleaned, not refused.
		_, tok := newToken(t, f, tokenInput(f, "", "robot"))
		if _, err := f.MarkTokenUsed(ctx, tok.ID, "192.0.2.1:1\x00\xff"); err != nil {
			t.Errorf("an address with a NUL byte: %v", err)
		}
		if _, _, err := f.CreateSession(ctx, SessionInput{Principal: "cfg:ci", Method: "bootstrap-token",
			ClientAddr: "\x00\xff", UserAgent: "curl\x00/8"}); err != nil {
			t.Errorf("a session with a NUL byte in its user agent: %v", err)
		}
	})
}

// SQLite databases written before version 3 hold binding keys as text;
// the upgrade makes them bytes, so a binding made since is still the same
// as one made before.
func TestUpgradeMakesBindingKeysBytes(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(sqliteEngine.newDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := store.For(db, "identity")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Migrate(ctx, migrations[:2]); err != nil {
		t.Fatal(err)
	}
	old := binding(t, "group:corp/devs", access.Viewer, `{"connections":["b","a"]}`)
	key, err := bindingKey(old)
	if err != nil {
		t.Fatal(err)
	}
	// As version 2 wrote it: the key a Go string, stored as TEXT.
	if _, err := h.ExecContext(ctx, `INSERT INTO identity_bindings (`+bindingColumns+`, key) VALUES ('bnd_old', ?, ?, ?, 'api', ?)`,
		old.Subject, old.Role, `{"connections":["b","a"]}`, key); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := db.QueryRow(`SELECT typeof(key) FROM identity_bindings WHERE id = 'bnd_old'`).Scan(&typ); err != nil || typ != "blob" {
		t.Errorf("the old key is %s (%v) after the upgrade, want blob", typ, err)
	}
	_, err = s.CreateBinding(ctx, binding(t, "group:corp/devs", access.Viewer, `{"connections":["a","b"]}`))
	wantErr(t, "the same binding as one made before the upgrade", err, ErrConflict)
	if _, err := s.CreateBinding(ctx, binding(t, "group:corp/devs", access.Admin, `{"connections":["a","b"]}`)); err != nil {
		t.Errorf("another binding after the upgrade: %v", err)
	}
}

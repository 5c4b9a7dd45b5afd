package identity

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func newSession(t *testing.T, f *fixture, in SessionInput) (string, Session) {
	t.Helper()
	secret, ss, err := f.CreateSession(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return secret, ss
}

var aliceSession = SessionInput{Principal: "usr_alice", UserID: "usr_alice", Method: "oidc:corp", ClientAddr: "192.0.2.7:5555", UserAgent: "Firefox"}

func TestCreateSessionAndFindItBySecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		secret, ss := newSession(t, f, aliceSession)
		if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
			t.Errorf("secret %q: %d bytes, %v; want 32 bytes of unpadded base64url", secret, len(raw), err)
		}
		if !strings.HasPrefix(ss.ID, "ses_") || strings.Contains(ss.ID, secret) {
			t.Errorf("id %q", ss.ID)
		}
		now := f.clock.Now()
		if !ss.CreatedAt.Equal(now) || !ss.LastSeen.Equal(now) || !ss.IdleExpires.Equal(now.Add(DefaultSessionIdle)) ||
			!ss.AbsoluteExpires.Equal(now.Add(DefaultSessionAbsolute)) {
			t.Errorf("times %+v", ss)
		}
		got, err := f.SessionBySecret(ctx, secret)
		if err != nil || got != ss {
			t.Errorf("SessionBySecret = %+v, %v; want %+v", got, err, ss)
		}
		if got, err := f.Session(ctx, ss.ID); err != nil || got != ss {
			t.Errorf("Session = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "x", secret[:42], secret + "A", strings.Repeat("A", 43)} {
			_, err := f.SessionBySecret(ctx, bad)
			wantErr(t, "secret "+bad, err, ErrNotFound)
			if bad != "" && strings.Contains(err.Error(), bad) {
				t.Errorf("the error %q repeats the secret", err)
			}
		}
		_, err = f.Session(ctx, "ses_nonesuch")
		wantErr(t, "Session of an unknown id", err, ErrNotFound)
	})
}

func TestSessionSecretsAreNeverStored(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		f := newFixture(t, e, Options{})
		var secrets []string
		for range 5 {
			secret, _ := newSession(t, f, aliceSession)
			secrets = append(secrets, secret)
		}
		for _, s := range secrets {
			wantNowhere(t, f, s, "identity_sessions")
		}
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{SessionIdle: time.Hour})
		secret, _ := newSession(t, f, aliceSession)
		f.clock.Advance(time.Hour - time.Nanosecond)
		if _, err := f.SessionBySecret(ctx, secret); err != nil {
			t.Fatalf("just before idle expiry: %v", err)
		}
		// That use moved the idle expiry on by an hour.
		f.clock.Advance(time.Hour - time.Nanosecond)
		if _, err := f.SessionBySecret(ctx, secret); err != nil {
			t.Fatalf("used within the hour: %v", err)
		}
		f.clock.Advance(time.Hour)
		_, err := f.SessionBySecret(ctx, secret)
		wantErr(t, "an hour unused", err, ErrNotFound)
		if n := count(t, f, "identity_sessions"); n != 0 {
			t.Errorf("%d expired rows kept", n)
		}
	})
}

func TestSessionTouchedAtMostOnceAMinute(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{SessionIdle: time.Hour})
		secret, ss := newSession(t, f, aliceSession)
		stored := func() Session {
			got, err := f.Session(ctx, ss.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		f.clock.Advance(59 * time.Second)
		got, err := f.SessionBySecret(ctx, secret)
		if err != nil || !got.LastSeen.Equal(ss.CreatedAt) {
			t.Fatalf("after 59 s: %+v %v; want it not written", got, err)
		}
		if st := stored(); !st.LastSeen.Equal(ss.CreatedAt) || !st.IdleExpires.Equal(ss.IdleExpires) {
			t.Errorf("after 59 s the row was written: %+v", st)
		}
		f.clock.Advance(time.Second)
		now := f.clock.Now()
		got, err = f.SessionBySecret(ctx, secret)
		if err != nil || !got.LastSeen.Equal(now) || !got.IdleExpires.Equal(now.Add(time.Hour)) {
			t.Fatalf("after a minute: %+v %v", got, err)
		}
		if st := stored(); st != got {
			t.Errorf("stored %+v, returned %+v", st, got)
		}
		f.clock.Advance(30 * time.Second)
		if st, _ := f.SessionBySecret(ctx, secret); !st.LastSeen.Equal(now) {
			t.Errorf("30 s after a touch it was touched again: %+v", st)
		}
	})
}

func TestSessionAbsoluteExpiryBoundsIdleExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{SessionIdle: time.Hour, SessionAbsolute: 3 * time.Hour})
		secret, ss := newSession(t, f, aliceSession)
		// Used every 50 minutes: idle never expires, the absolute limit does.
		for range 3 {
			f.clock.Advance(50 * time.Minute)
			got, err := f.SessionBySecret(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			if got.IdleExpires.After(ss.AbsoluteExpires) {
				t.Fatalf("idle expiry %v past the absolute %v", got.IdleExpires, ss.AbsoluteExpires)
			}
		}
		f.clock.Advance(50 * time.Minute) // 3h20 after sign-in
		got, err := f.SessionBySecret(ctx, secret)
		wantErr(t, "past the absolute expiry", err, ErrNotFound)
		if got != (Session{}) {
			t.Errorf("returned %+v with the error", got)
		}
		// At 2h30 the touch set idle expiry to the absolute one (3h), not 3h30.
		f2 := newFixture(t, e, Options{SessionIdle: time.Hour, SessionAbsolute: 3 * time.Hour})
		secret, ss = newSession(t, f2, aliceSession)
		for _, d := range []time.Duration{55 * time.Minute, 55 * time.Minute, 40 * time.Minute} {
			f2.clock.Advance(d)
			got, err = f2.SessionBySecret(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !got.IdleExpires.Equal(ss.AbsoluteExpires) {
			t.Errorf("touched 2h30 in: idle expiry %v, want the absolute %v", got.IdleExpires, ss.AbsoluteExpires)
		}
	})
}

func TestTooManySessionsEvictTheOldest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{MaxSessionsPerUser: 3})
		var ids []string
		var secrets []string
		for range 5 {
			secret, ss := newSession(t, f, aliceSession) // all at the same instant: order still holds
			ids, secrets = append(ids, ss.ID), append(secrets, secret)
		}
		bob := SessionInput{Principal: "usr_bob", UserID: "usr_bob", Method: "oidc:corp"}
		_, bobs := newSession(t, f, bob)
		list, err := f.Sessions(ctx, "usr_alice")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ss := range list {
			got = append(got, ss.ID)
		}
		if want := []string{ids[4], ids[3], ids[2]}; !slices.Equal(got, want) {
			t.Errorf("alice's sessions %q, want the 3 newest, newest first %q", got, want)
		}
		if _, err := f.SessionBySecret(ctx, secrets[0]); err == nil {
			t.Error("the oldest session still works")
		}
		if _, err := f.Session(ctx, bobs.ID); err != nil {
			t.Errorf("another principal's session evicted: %v", err)
		}
		// An expired session makes room without evicting a live one.
		f.clock.Advance(DefaultSessionIdle)
		_, fresh := newSession(t, f, aliceSession)
		if list, _ := f.Sessions(ctx, ""); len(list) != 1 || list[0].ID != fresh.ID {
			t.Errorf("after every other session expired: %+v", list)
		}
	})
}

func TestSessionsListsLiveOnesNewestFirst(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{SessionIdle: time.Hour})
		_, old := newSession(t, f, aliceSession)
		f.clock.Advance(30 * time.Minute)
		_, boot := newSession(t, f, SessionInput{Principal: "cfg:ci", Method: "bootstrap-token"})
		f.clock.Advance(30 * time.Minute) // old is now idle-expired
		_, tok := newSession(t, f, SessionInput{Principal: "tok_x", UserID: "usr_alice", Method: "token"})
		all, err := f.Sessions(ctx, "")
		if err != nil || len(all) != 2 || all[0].ID != tok.ID || all[1].ID != boot.ID {
			t.Errorf("every live session: %+v %v", all, err)
		}
		mine, err := f.Sessions(ctx, "usr_alice")
		if err != nil || len(mine) != 1 || mine[0].ID != tok.ID {
			t.Errorf("alice's: %+v %v", mine, err)
		}
		_, err = f.Session(ctx, old.ID)
		wantErr(t, "Session of an idle-expired one", err, ErrNotFound)
		if none, err := f.Sessions(ctx, "usr_nobody"); err != nil || none == nil || len(none) != 0 {
			t.Errorf("no sessions: %#v %v, want an empty list", none, err)
		}
	})
}

func TestEndingSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		s1, a1 := newSession(t, f, aliceSession)
		newSession(t, f, aliceSession)
		newSession(t, f, SessionInput{Principal: "tok_a", UserID: "usr_alice", Method: "token"})
		newSession(t, f, SessionInput{Principal: "tok_a", UserID: "usr_alice", Method: "token"})
		_, boot := newSession(t, f, SessionInput{Principal: "cfg:ci", Method: "bootstrap-token"})

		if err := f.DeleteSession(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.SessionBySecret(ctx, s1); err == nil {
			t.Error("a deleted session still works")
		}
		wantErr(t, "deleting it again", f.DeleteSession(ctx, a1.ID), ErrNotFound)

		if n, err := f.DeletePrincipalSessions(ctx, "tok_a"); n != 2 || err != nil {
			t.Errorf("DeletePrincipalSessions = %d, %v; want 2", n, err)
		}
		if n, err := f.DeleteUserSessions(ctx, "usr_alice"); n != 1 || err != nil {
			t.Errorf("DeleteUserSessions = %d, %v; want 1", n, err)
		}
		_, err := f.DeleteUserSessions(ctx, "")
		wantInvalid(t, "DeleteUserSessions of no user", err, "/user_id")
		_, err = f.DeletePrincipalSessions(ctx, "")
		wantInvalid(t, "DeletePrincipalSessions of no principal", err, "/principal")
		if _, err := f.Session(ctx, boot.ID); err != nil {
			t.Errorf("the bootstrap session went too: %v", err)
		}
	})
}

func TestDisablingAUserEndsTheirSessionsAndRefusesNewOnes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		u, _, err := f.UpsertUser(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		own, _ := newSession(t, f, SessionInput{Principal: u.ID, UserID: u.ID, Method: "oidc:corp"})
		viaToken, _ := newSession(t, f, SessionInput{Principal: "tok_1", UserID: u.ID, Method: "token"})
		newSession(t, f, SessionInput{Principal: "cfg:ci", Method: "bootstrap-token"})
		if err := f.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{own, viaToken} {
			if _, err := f.SessionBySecret(ctx, s); err == nil {
				t.Error("a session of a disabled user still works")
			}
		}
		if n := count(t, f, "identity_sessions"); n != 1 {
			t.Errorf("%d sessions left, want the bootstrap one", n)
		}
		_, _, err = f.CreateSession(ctx, SessionInput{Principal: u.ID, UserID: u.ID, Method: "oidc:corp"})
		wantErr(t, "a session for a disabled user", err, ErrUserDisabled)
	})
}

func TestSessionInputBounds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		for _, c := range []struct {
			in    SessionInput
			field string
		}{
			{SessionInput{Method: "token"}, "/principal"},
			{SessionInput{Principal: strings.Repeat("p", 321), Method: "token"}, "/principal"},
			{SessionInput{Principal: "usr_a"}, "/method"},
			{SessionInput{Principal: "usr_a", Method: "token", UserID: strings.Repeat("u", 65)}, "/user_id"},
		} {
			_, _, err := f.CreateSession(ctx, c.in)
			wantInvalid(t, c.field, err, c.field)
		}
		// Informational text is cut, not refused.
		_, ss, err := f.CreateSession(ctx, SessionInput{Principal: "usr_a", Method: "token",
			UserAgent: strings.Repeat("é", 200), ClientAddr: strings.Repeat("1", 300)})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss.UserAgent) > 256 || !strings.HasPrefix(ss.UserAgent, "éé") || !utf8.ValidString(ss.UserAgent) || len(ss.ClientAddr) != 256 {
			t.Errorf("user agent %d bytes, address %d bytes", len(ss.UserAgent), len(ss.ClientAddr))
		}
		if got, err := f.Session(ctx, ss.ID); err != nil || got != ss {
			t.Errorf("stored %+v %v", got, err)
		}
	})
}

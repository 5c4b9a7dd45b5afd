package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
)

var alice = UserInput{Provider: "corp", Subject: "sub-alice", Username: "alice", Name: "Alice A.", Email: "alice@example.com",
	Groups: []string{"payments", "devs", "payments", ""}}

func TestUpsertUserCreatesOnceThenUpdates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		u, created, err := f.UpsertUser(ctx, alice)
		if err != nil || !created {
			t.Fatalf("first sign-in: %+v created=%v %v", u, created, err)
		}
		if !strings.HasPrefix(u.ID, "usr_") || len(u.ID) != 20 {
			t.Errorf("id %q, want usr_ + 16 characters", u.ID)
		}
		if !slices.Equal(u.Groups, []string{"devs", "payments"}) {
			t.Errorf("groups %q, want sorted, deduplicated, without the empty one", u.Groups)
		}
		if !u.CreatedAt.Equal(f.clock.Now()) || !u.LastSeen.Equal(u.CreatedAt) {
			t.Errorf("times %v %v", u.CreatedAt, u.LastSeen)
		}

		f.clock.Advance(time.Hour)
		in := alice
		in.Username, in.Name, in.Email, in.Groups = "alice2", "Alice B.", "a@example.org", []string{"search"}
		u2, created, err := f.UpsertUser(ctx, in)
		if err != nil || created {
			t.Fatalf("second sign-in: created=%v %v", created, err)
		}
		if u2.ID != u.ID || u2.Username != "alice2" || u2.Name != "Alice B." || u2.Email != "a@example.org" ||
			!slices.Equal(u2.Groups, []string{"search"}) || !u2.CreatedAt.Equal(u.CreatedAt) || !u2.LastSeen.Equal(f.clock.Now()) {
			t.Errorf("updated %+v", u2)
		}
		got, err := f.User(ctx, u.ID)
		if err != nil || !equalUsers(got, u2) {
			t.Errorf("User = %+v, %v; want %+v", got, err, u2)
		}
		got, err = f.UserBy(ctx, "corp", "sub-alice")
		if err != nil || !equalUsers(got, u2) {
			t.Errorf("UserBy = %+v, %v", got, err)
		}
		// The same subject at another provider is another person.
		other := alice
		other.Provider = "partner"
		if _, created, err := f.UpsertUser(ctx, other); err != nil || !created {
			t.Errorf("same subject, other provider: created=%v %v", created, err)
		}
	})
}

func equalUsers(a, b User) bool {
	return a.ID == b.ID && a.Provider == b.Provider && a.Subject == b.Subject && a.Username == b.Username &&
		a.Name == b.Name && a.Email == b.Email && slices.Equal(a.Groups, b.Groups) && a.Disabled == b.Disabled &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastSeen.Equal(b.LastSeen)
}

func TestUnknownUsersAreNotFound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		_, err := f.User(ctx, "usr_nobody")
		wantErr(t, "User", err, ErrNotFound)
		if !strings.Contains(err.Error(), "usr_nobody") {
			t.Errorf("error %q does not say which user", err)
		}
		_, err = f.UserBy(ctx, "corp", "nobody")
		wantErr(t, "UserBy", err, ErrNotFound)
		wantErr(t, "SetUserDisabled", f.SetUserDisabled(ctx, "usr_nobody", true), ErrNotFound)
	})
}

func TestUsersSortedByProviderThenUsername(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		for _, in := range []UserInput{
			{Provider: "zeta", Subject: "1", Username: "aaron"},
			{Provider: "corp", Subject: "2", Username: "zoe"},
			{Provider: "corp", Subject: "3", Username: "bob"},
		} {
			if _, _, err := f.UpsertUser(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		us, err := f.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range us {
			got = append(got, u.Provider+"/"+u.Username)
			if u.Groups == nil {
				t.Errorf("%s: nil groups, want empty", u.Username)
			}
		}
		if want := []string{"corp/bob", "corp/zoe", "zeta/aaron"}; !slices.Equal(got, want) {
			t.Errorf("Users = %q, want %q", got, want)
		}
	})
}

func TestUserInputBounds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		many := make([]string, MaxGroups+1)
		for i := range many {
			many[i] = "g" + strings.Repeat("x", i%5)
		}
		for _, c := range []struct {
			name  string
			edit  func(*UserInput)
			field string
		}{
			{"no provider", func(u *UserInput) { u.Provider = "" }, "/provider"},
			{"provider with a slash", func(u *UserInput) { u.Provider = "a/b" }, "/provider"},
			{"no subject", func(u *UserInput) { u.Subject = "" }, "/subject"},
			{"subject too long", func(u *UserInput) { u.Subject = strings.Repeat("s", 256) }, "/subject"},
			{"no username", func(u *UserInput) { u.Username = "" }, "/username"},
			{"username too long", func(u *UserInput) { u.Username = strings.Repeat("u", 201) }, "/username"},
			{"control character in username", func(u *UserInput) { u.Username = "al\nice" }, "/username"},
			{"name too long", func(u *UserInput) { u.Name = strings.Repeat("n", 257) }, "/name"},
			{"invalid UTF-8 email", func(u *UserInput) { u.Email = "a\xff@example.com" }, "/email"},
			{"too many groups", func(u *UserInput) { u.Groups = many }, "/groups"},
			{"group too long", func(u *UserInput) { u.Groups = []string{"ok", strings.Repeat("g", 201)} }, "/groups/1"},
		} {
			in := alice
			c.edit(&in)
			_, _, err := f.UpsertUser(ctx, in)
			wantInvalid(t, c.name, err, c.field)
		}
		// Exactly MaxGroups distinct groups pass.
		in := alice
		in.Groups = make([]string, MaxGroups)
		for i := range in.Groups {
			in.Groups[i] = fmt.Sprintf("group-%d", i)
		}
		if _, _, err := f.UpsertUser(ctx, in); err != nil {
			t.Errorf("%d groups: %v", MaxGroups, err)
		}
	})
}

func TestInvalidErrorReadsAsValueOrPointer(t *testing.T) {
	err := error(&InvalidError{Field: "/name", Reason: "is required"})
	if err.Error() != "/name: is required" {
		t.Errorf("Error() = %q", err.Error())
	}
	wrapped := errors.Join(errors.New("context"), err)
	var v InvalidError
	if !errors.As(wrapped, &v) || v.Field != "/name" {
		t.Errorf("errors.As into a value: %+v", v)
	}
	var p *InvalidError
	if !errors.As(wrapped, &p) || p.Reason != "is required" {
		t.Errorf("errors.As into a pointer: %+v", p)
	}
}

func TestGenerationGrowsWithUserChangesThatMatter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		g0 := gen(t, f)
		u, _, err := f.UpsertUser(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		g1 := gen(t, f)
		if g1 <= g0 {
			t.Errorf("a new user: generation %d → %d", g0, g1)
		}
		// Same groups in another order, new name: nothing bindings depend on.
		in := alice
		in.Groups, in.Name = []string{"payments", "devs"}, "Alice Renamed"
		if _, _, err := f.UpsertUser(ctx, in); err != nil {
			t.Fatal(err)
		}
		if g := gen(t, f); g != g1 {
			t.Errorf("same groups: generation %d → %d", g1, g)
		}
		in.Groups = []string{"devs"}
		if _, _, err := f.UpsertUser(ctx, in); err != nil {
			t.Fatal(err)
		}
		g2 := gen(t, f)
		if g2 <= g1 {
			t.Errorf("left a group: generation %d → %d", g1, g2)
		}
		in.Username = "alice.a"
		if _, _, err := f.UpsertUser(ctx, in); err != nil {
			t.Fatal(err)
		}
		g3 := gen(t, f)
		if g3 <= g2 {
			t.Errorf("new username: generation %d → %d", g2, g3)
		}
		if err := f.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		g4 := gen(t, f)
		if g4 <= g3 {
			t.Errorf("disabled: generation %d → %d", g3, g4)
		}
		if err := f.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if g := gen(t, f); g != g4 {
			t.Errorf("disabled again: generation %d → %d", g4, g)
		}
	})
}

func TestDisabledUserStaysDisabledAtSignIn(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		u, _, err := f.UpsertUser(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		u, _, err = f.UpsertUser(ctx, alice)
		if err != nil || !u.Disabled {
			t.Fatalf("sign-in of a disabled user: %+v %v", u, err)
		}
		if err := f.SetUserDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if u, err = f.User(ctx, u.ID); err != nil || u.Disabled {
			t.Errorf("enabled again: %+v %v", u, err)
		}
	})
}

// Bindings name users by username, so a username is one subject's at a
// provider: another subject claiming it is refused until its holder has
// signed in under another name.
func TestUsernameBelongsToOneSubjectPerProvider(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		first, _, err := f.UpsertUser(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		mallory := UserInput{Provider: "corp", Subject: "sub-mallory", Username: "alice"}
		_, _, err = f.UpsertUser(ctx, mallory)
		wantErr(t, "another subject taking alice's username", err, ErrUsernameTaken)
		if !strings.Contains(err.Error(), first.ID) {
			t.Errorf("error %q does not name the holder", err)
		}
		// Nothing was written: no second user, alice unchanged.
		us, err := f.Users(ctx)
		if err != nil || len(us) != 1 || us[0].Subject != "sub-alice" {
			t.Fatalf("users after the refusal: %+v %v", us, err)
		}
		// The same username at another provider is another person's to take.
		partner := mallory
		partner.Provider = "partner"
		if _, created, err := f.UpsertUser(ctx, partner); err != nil || !created {
			t.Fatalf("alice at another provider: created=%v %v", created, err)
		}
		// Once alice is renamed at the provider (and signs in), the name is free.
		renamed := alice
		renamed.Username = "alice.a"
		if _, _, err := f.UpsertUser(ctx, renamed); err != nil {
			t.Fatal(err)
		}
		if _, created, err := f.UpsertUser(ctx, mallory); err != nil || !created {
			t.Fatalf("the freed username: created=%v %v", created, err)
		}
		// A user keeps their own username from sign-in to sign-in.
		if _, created, err := f.UpsertUser(ctx, renamed); err != nil || created {
			t.Fatalf("alice signing in again: created=%v %v", created, err)
		}
	})
}

// A database an older version wrote may hold two users with one username:
// the upgrade leaves the name to the first and renames the others, so no
// binding is shared by accident.
func TestUpgradeRenamesDuplicateUsernames(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		db, err := store.Open(e.newDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		h, err := store.For(db, "identity")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Migrate(ctx, migrations[:1]); err != nil {
			t.Fatal(err)
		}
		for i, sub := range []string{"sub-1", "sub-2", "sub-3"} {
			if _, err := h.ExecContext(ctx, `INSERT INTO identity_users (`+userColumns+`) VALUES (?, 'corp', ?, 'alice', '', '', '[]', FALSE, ?, ?)`,
				fmt.Sprintf("usr_%d", i), sub, i, i); err != nil {
				t.Fatal(err)
			}
		}
		s, err := New(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.UserBy(ctx, "corp", "sub-1")
		if err != nil || first.Username != "alice" {
			t.Fatalf("the first user after the upgrade: %+v %v", first, err)
		}
		for i, sub := range []string{"sub-2", "sub-3"} {
			u, err := s.UserBy(ctx, "corp", sub)
			if want := fmt.Sprintf("alice#usr_%d", i+1); err != nil || u.Username != want {
				t.Fatalf("duplicate %s after the upgrade: %q %v, want %q", sub, u.Username, err, want)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE identity_users SET username = 'alice' WHERE subject = 'sub-2'`); err == nil {
			t.Fatal("the database accepts a duplicate username after the upgrade")
		}
	})
}

package identity

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/host/access"
)

func binding(t *testing.T, subject string, role access.Role, scopeJSON string) access.Binding {
	return access.Binding{Subject: access.Subject(subject), Grant: access.Grant{Role: role, Scope: scope(t, scopeJSON)}}
}

// describe lists bindings as "subject role scope source" lines.
func describe(bs []access.Binding) string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b.Subject)+" "+b.Grant.String()+" "+b.Source)
	}
	return strings.Join(out, "\n")
}

// sortedLines sorts the lines of s: two bindings of one subject are in
// the order of their random ids.
func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestCreateAndDeleteBindings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		g0 := gen(t, f)
		pay := binding(t, "group:corp/payments", access.Operator, `{"selector":"team=payments,env!=prod"}`)
		pay.ID, pay.Source = "ignored", "config"
		b, err := f.CreateBinding(ctx, pay)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.ID, "bnd_") || strings.HasPrefix(b.ID, "bnd_cfg_") || b.Source != SourceAPI {
			t.Errorf("created %+v", b)
		}
		g1 := gen(t, f)
		if g1 <= g0 {
			t.Errorf("create: generation %d → %d", g0, g1)
		}
		if _, err := f.CreateBinding(ctx, binding(t, "user:corp/alice", access.Viewer, `{"all":true}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.CreateBinding(ctx, binding(t, "token:tok_abc", access.Admin, `{"connections":["b","a"]}`)); err != nil {
			t.Fatal(err)
		}
		list, err := f.Bindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := "group:corp/payments operator on connections matching team=payments,env!=prod api\n" +
			"token:tok_abc admin on connections a, b api\n" +
			"user:corp/alice viewer on all connections api"
		if got := describe(list); got != want {
			t.Errorf("Bindings:\n%s\nwant (by subject):\n%s", got, want)
		}

		for _, dup := range []access.Binding{
			pay,
			binding(t, "group:corp/payments", access.Operator, `{"selector":"env!=prod, team=payments"}`),
			binding(t, "token:tok_abc", access.Admin, `{"connections":["a","b","a"]}`),
		} {
			_, err := f.CreateBinding(ctx, dup)
			wantErr(t, "the same binding again: "+dup.Grant.String(), err, ErrConflict)
		}
		if _, err := f.CreateBinding(ctx, binding(t, "group:corp/payments", access.Viewer, `{"selector":"team=payments,env!=prod"}`)); err != nil {
			t.Errorf("another role on the same scope: %v", err)
		}

		g2 := gen(t, f)
		del, err := f.DeleteBinding(ctx, b.ID)
		if err != nil || del.ID != b.ID || del.Subject != pay.Subject || del.Grant.String() != pay.Grant.String() {
			t.Errorf("DeleteBinding = %+v, %v", del, err)
		}
		if g := gen(t, f); g <= g2 {
			t.Errorf("delete: generation %d → %d", g2, g)
		}
		_, err = f.DeleteBinding(ctx, b.ID)
		wantErr(t, "deleting it again", err, ErrNotFound)
		if _, err := f.CreateBinding(ctx, pay); err != nil {
			t.Errorf("the deleted binding cannot be made again: %v", err)
		}
	})
}

func TestBindingInputFields(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		for _, c := range []struct {
			b     access.Binding
			field string
		}{
			{binding(t, "alice", access.Viewer, `{"all":true}`), "/subject"},
			{binding(t, "user:alice", access.Viewer, `{"all":true}`), "/subject"},
			{binding(t, "user:corp/alice", "root", `{"all":true}`), "/role"},
			{binding(t, "user:corp/alice", access.Owner, `{"connections":["a"]}`), "/scope"},
			{access.Binding{Subject: "user:corp/alice", Grant: access.Grant{Role: access.Viewer}}, "/scope"},
		} {
			_, err := f.CreateBinding(ctx, c.b)
			wantInvalid(t, c.field, err, c.field)
		}
		if n := count(t, f, "identity_bindings"); n != 0 {
			t.Errorf("%d bad bindings stored", n)
		}
	})
}

func TestConfigBindingsAreReplacedAndNotDeletable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		api, err := f.CreateBinding(ctx, binding(t, "user:corp/alice", access.Viewer, `{"all":true}`))
		if err != nil {
			t.Fatal(err)
		}
		first := []access.Binding{
			binding(t, "user:corp/alice", access.Viewer, `{"all":true}`), // the same as the api one: both kept
			binding(t, "group:corp/payments", access.Operator, `{"selector":"team=payments"}`),
			binding(t, "group:corp/payments", access.Operator, `{"selector":"team = payments"}`), // a duplicate
			binding(t, "group:corp/ops", access.Owner, `{"all":true}`),
		}
		if err := f.ReplaceConfigBindings(ctx, first); err != nil {
			t.Fatal(err)
		}
		list, _ := f.Bindings(ctx)
		want := "group:corp/ops owner on all connections config\n" +
			"group:corp/payments operator on connections matching team=payments config\n" +
			"user:corp/alice viewer on all connections api\n" +
			"user:corp/alice viewer on all connections config"
		if got := sortedLines(describe(list)); got != want {
			t.Errorf("after the first config:\n%s\nwant\n%s", got, want)
		}
		ids := map[string]string{}
		for _, b := range list {
			if b.Source == SourceConfig {
				if !strings.HasPrefix(b.ID, "bnd_cfg_") {
					t.Errorf("config binding id %q", b.ID)
				}
				ids[string(b.Subject)] = b.ID
			}
		}
		_, err = f.DeleteBinding(ctx, ids["group:corp/ops"])
		wantErr(t, "deleting a config binding", err, ErrConflict)
		if !strings.Contains(err.Error(), "config file") {
			t.Errorf("the refusal does not say where to edit: %v", err)
		}

		// The same config again (in another order): same IDs, generation kept.
		g := gen(t, f)
		if err := f.ReplaceConfigBindings(ctx, []access.Binding{first[3], first[1], first[0]}); err != nil {
			t.Fatal(err)
		}
		if g2 := gen(t, f); g2 != g {
			t.Errorf("an unchanged config moved the generation %d → %d", g, g2)
		}
		list, _ = f.Bindings(ctx)
		for _, b := range list {
			if b.Source == SourceConfig && ids[string(b.Subject)] != b.ID {
				t.Errorf("%s changed id %s → %s", b.Subject, ids[string(b.Subject)], b.ID)
			}
		}

		// A new config drops what it no longer says; the api binding stays.
		if err := f.ReplaceConfigBindings(ctx, []access.Binding{binding(t, "group:corp/ops", access.Owner, `{"all":true}`)}); err != nil {
			t.Fatal(err)
		}
		if g3 := gen(t, f); g3 <= g {
			t.Errorf("a changed config: generation %d → %d", g, g3)
		}
		list, _ = f.Bindings(ctx)
		if got := describe(list); got != "group:corp/ops owner on all connections config\nuser:corp/alice viewer on all connections api" {
			t.Errorf("after the second config:\n%s", got)
		}
		if list[0].ID != ids["group:corp/ops"] || list[1].ID != api.ID {
			t.Errorf("ids changed: %+v", list)
		}

		// A bad binding anywhere changes nothing.
		bad := []access.Binding{binding(t, "group:corp/new", access.Viewer, `{"all":true}`), binding(t, "group:corp/x", "root", `{"all":true}`)}
		wantInvalid(t, "a bad config binding", f.ReplaceConfigBindings(ctx, bad), "/bindings/1/role")
		bad[1] = binding(t, "nobody", access.Viewer, `{"all":true}`)
		wantInvalid(t, "a bad config subject", f.ReplaceConfigBindings(ctx, bad), "/bindings/1/subject")
		after, _ := f.Bindings(ctx)
		if describe(after) != describe(list) {
			t.Errorf("a refused config changed the bindings:\n%s", describe(after))
		}
		tooMany := make([]access.Binding, MaxBindings+1)
		for i := range tooMany {
			tooMany[i] = binding(t, "group:corp/ops", access.Owner, `{"all":true}`)
		}
		wantInvalid(t, "too many config bindings", f.ReplaceConfigBindings(ctx, tooMany), "/bindings")
		// An empty config removes every config binding.
		if err := f.ReplaceConfigBindings(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if list, _ := f.Bindings(ctx); len(list) != 1 || list[0].ID != api.ID {
			t.Errorf("after an empty config: %+v", list)
		}
	})
}

func TestReadersNeverSeeAHalfReplacedConfig(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		f := newFixture(t, e, Options{})
		var a, b []access.Binding
		for i := range 50 {
			a = append(a, binding(t, "group:corp/a"+string(rune('a'+i%26))+string(rune('a'+i/26)), access.Viewer, `{"all":true}`))
			b = append(b, binding(t, "group:corp/b"+string(rune('a'+i%26))+string(rune('a'+i/26)), access.Operator, `{"all":true}`))
		}
		if err := f.ReplaceConfigBindings(ctx, a); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		var bad []string
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				list, err := f.Bindings(ctx)
				if err != nil {
					bad = append(bad, err.Error())
					return
				}
				kinds := map[byte]int{}
				for _, x := range list {
					kinds[x.Subject[len("group:corp/")]]++
				}
				if len(list) != 50 || len(kinds) != 1 {
					bad = append(bad, describe(list))
					return
				}
			}
		}()
		for i := range 40 {
			set := a
			if i%2 == 0 {
				set = b
			}
			if err := f.ReplaceConfigBindings(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		close(done)
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("a reader saw a half-replaced set:\n%s", bad[0])
		}
	})
}

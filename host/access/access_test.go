package access

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustScope(t *testing.T, js string) Scope {
	t.Helper()
	var s Scope
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("scope %s: %v", js, err)
	}
	return s
}

var (
	payProd = Target{Name: "pay-prod", Labels: map[string]string{"team": "payments", "env": "prod"}}
	payDev  = Target{Name: "pay-dev", Labels: map[string]string{"team": "payments", "env": "dev"}}
	search  = Target{Name: "search", Labels: map[string]string{"team": "search"}}
	bare    = Target{Name: "bare"}
)

func TestScopeMatches(t *testing.T) {
	for _, c := range []struct {
		scope string
		want  map[string]bool
	}{
		{`{"all":true}`, map[string]bool{"pay-prod": true, "pay-dev": true, "search": true, "bare": true}},
		{`{"connections":["search","bare","bare"]}`, map[string]bool{"search": true, "bare": true}},
		{`{"selector":"team=payments"}`, map[string]bool{"pay-prod": true, "pay-dev": true}},
		{`{"selector":"team=payments,env!=prod"}`, map[string]bool{"pay-dev": true}},
		{`{"selector":"team in (search, payments),env"}`, map[string]bool{"pay-prod": true, "pay-dev": true}},
		{`{"selector":"!team"}`, map[string]bool{"bare": true}},
	} {
		s := mustScope(t, c.scope)
		for _, tg := range []Target{payProd, payDev, search, bare} {
			if got := s.Matches(tg); got != c.want[tg.Name] {
				t.Errorf("%s matches %s = %v, want %v", c.scope, tg.Name, got, c.want[tg.Name])
			}
		}
	}
}

func TestScopeJSONRefusesAmbiguityAndNonsense(t *testing.T) {
	for js, want := range map[string]string{
		`{}`:                               "exactly one",
		`{"all":true,"selector":"team=a"}`: "exactly one",
		`{"all":false}`:                    "exactly one",
		`{"connections":[]}`:               "at least one",
		`{"selector":"team in (a"}`:        "selector",
		`{"selector":"  "}`:                "empty",
		`{"alll":true}`:                    "unknown field",
		`{"connections":["a",""]}`:         "connections[1]",
		`{"selector":"` + strings.Repeat("a", 2000) + `=b"}`: "at most",
	} {
		var s Scope
		err := json.Unmarshal([]byte(js), &s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: error %v, want one saying %q", js, err, want)
		}
	}
}

func TestScopeRoundTrip(t *testing.T) {
	for _, js := range []string{`{"all":true}`, `{"connections":["a","b"]}`, `{"selector":"team=payments,env!=prod"}`} {
		b, err := json.Marshal(mustScope(t, js))
		if err != nil || string(b) != js {
			t.Errorf("%s → %s, %v", js, b, err)
		}
	}
}

func TestScopeCovers(t *testing.T) {
	for _, c := range []struct {
		s, o string
		want bool
	}{
		{`{"all":true}`, `{"selector":"team=a"}`, true},
		{`{"selector":"team=a"}`, `{"all":true}`, false},
		{`{"connections":["a","b"]}`, `{"connections":["b"]}`, true},
		{`{"connections":["a"]}`, `{"connections":["a","b"]}`, false},
		{`{"selector":"team=a"}`, `{"selector":"env=prod,team=a"}`, true},
		{`{"selector":"team=a,env=prod"}`, `{"selector":"team=a"}`, false},
		{`{"selector":"team=a"}`, `{"selector":"team=b"}`, false},
		{`{"selector":"team=a"}`, `{"connections":["x"]}`, false}, // labels change: never
		{`{"connections":["x"]}`, `{"selector":"team=a"}`, false},
	} {
		if got := mustScope(t, c.s).Covers(mustScope(t, c.o)); got != c.want {
			t.Errorf("%s covers %s = %v, want %v", c.s, c.o, got, c.want)
		}
	}
}

func TestGrantsRoleOn(t *testing.T) {
	gs := Grants{
		{Role: Viewer, Scope: All()},
		{Role: Operator, Scope: mustScope(t, `{"selector":"team=payments"}`)},
		{Role: Admin, Scope: mustScope(t, `{"connections":["pay-dev"]}`)},
	}
	for tg, want := range map[*Target]Role{&payProd: Operator, &payDev: Admin, &search: Viewer, &bare: Viewer} {
		if got := gs.RoleOn(*tg); got != want {
			t.Errorf("role on %s = %q, want %q", tg.Name, got, want)
		}
	}
	if gs.Owner() {
		t.Error("no owner grant, yet Owner()")
	}
	if gs.Top() != Admin || (Grants{}).Top() != None || Everything.Top() != Owner {
		t.Errorf("Top = %q, %q, %q; want admin, none, owner", gs.Top(), Grants{}.Top(), Everything.Top())
	}
	if got := (Grants{{Role: Owner, Scope: All()}}).RoleOn(bare); got != Admin {
		t.Errorf("owner on a connection = %q, want admin", got)
	}
	if got := Grants(nil).RoleOn(bare); got != None {
		t.Errorf("no grants give %q", got)
	}
}

func TestGrantCheck(t *testing.T) {
	if err := (Grant{Role: Owner, Scope: mustScope(t, `{"selector":"team=a"}`)}).Check(); err == nil || !strings.Contains(err.Error(), "host-wide") {
		t.Errorf("owner on a selector: %v", err)
	}
	if err := (Grant{Role: "root", Scope: All()}).Check(); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("unknown role: %v", err)
	}
	if err := (Grant{Role: Viewer}).Check(); err == nil {
		t.Error("a grant without a scope passed")
	}
	if _, err := ParseGrants([]byte(`[{"role":"viewer","scope":{"all":true}},{"role":"owner","scope":{"connections":["a"]}}]`)); err == nil || !strings.Contains(err.Error(), "grants[1]") {
		t.Errorf("ParseGrants names the bad grant: %v", err)
	}
}

func TestGrantsCovers(t *testing.T) {
	mine := Grants{{Role: Operator, Scope: mustScope(t, `{"selector":"team=payments"}`)}, {Role: Viewer, Scope: All()}}
	for _, c := range []struct {
		g    Grant
		want bool
	}{
		{Grant{Role: Operator, Scope: mustScope(t, `{"selector":"team=payments,env=prod"}`)}, true},
		{Grant{Role: Admin, Scope: mustScope(t, `{"selector":"team=payments"}`)}, false},
		{Grant{Role: Viewer, Scope: mustScope(t, `{"connections":["search"]}`)}, true},
		{Grant{Role: Operator, Scope: All()}, false},
	} {
		if got := mine.Covers(c.g); got != c.want {
			t.Errorf("covers %s = %v, want %v", c.g, got, c.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	token := Grants{{Role: Admin, Scope: All()}}
	user := Grants{{Role: Operator, Scope: mustScope(t, `{"selector":"team=payments"}`)}}
	r := Intersect(token, user)
	if got := r.RoleOn(payProd); got != Operator {
		t.Errorf("on pay-prod %q, want operator (bounded by the user)", got)
	}
	if got := r.RoleOn(search); got != None {
		t.Errorf("on search %q, want none", got)
	}
	if Intersect(Everything, user).Owner() || !Intersect(Everything, Everything).Owner() {
		t.Error("owner must need both")
	}
	if r.Top() != Operator {
		t.Errorf("Top of the intersection = %q, want operator (the lower top)", r.Top())
	}
}

func TestSubjects(t *testing.T) {
	for _, ok := range []string{"user:corp/alice@example.com", "group:corp/payments", "token:ci", "token:t_abc", "user:proxy/bob"} {
		if _, err := ParseSubject(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"alice", "user:alice", "user:/alice", "group:corp/", "team:x", "token:", "user:corp/a\nb"} {
		if _, err := ParseSubject(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	bs := []Binding{
		{Subject: User("corp", "alice"), Grant: Grant{Role: Viewer, Scope: All()}},
		{Subject: Group("corp", "payments"), Grant: Grant{Role: Operator, Scope: mustScope(t, `{"selector":"team=payments"}`)}},
		{Subject: Group("other", "payments"), Grant: Grant{Role: Admin, Scope: All()}},
	}
	gs := GrantsFor(bs, User("corp", "alice"), Group("corp", "payments"))
	if len(gs) != 2 || gs.RoleOn(payDev) != Operator || gs.RoleOn(search) != Viewer {
		t.Errorf("GrantsFor = %v", gs)
	}
	var b Binding
	if err := json.Unmarshal([]byte(`{"subject":"group:corp/payments","role":"operator","scope":{"selector":"team=payments"}}`), &b); err != nil || b.Check() != nil || b.Role != Operator {
		t.Errorf("binding JSON: %+v %v", b, err)
	}
}

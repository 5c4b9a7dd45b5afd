package connstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

func TestLabelsRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		want := map[string]string{"team": "payments", "env": "prod", "example.com/tier": "", "app.kubernetes.io/name": "web"}
		c, err := s.Create(ctx, Connection{Name: "c1", Plugin: "p", Labels: want})
		if err != nil {
			t.Fatal(err)
		}
		want["team"] = "changed after create" // the store keeps its own copy
		if c.Labels["team"] != "payments" {
			t.Fatalf("Create answer shares the caller's map: %v", c.Labels)
		}
		got, err := s.Get(ctx, "c1")
		if err != nil || !maps.Equal(got.Labels, c.Labels) || len(got.Labels) != 4 {
			t.Fatalf("Get labels = %v, %v; want %v", got.Labels, err, c.Labels)
		}

		got.Labels = map[string]string{"team": "search"}
		upd, err := s.Update(ctx, got)
		if err != nil || !maps.Equal(upd.Labels, got.Labels) {
			t.Fatalf("Update = %v, %v", upd.Labels, err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || !maps.Equal(list[0].Labels, map[string]string{"team": "search"}) {
			t.Fatalf("List = %+v, %v", list, err)
		}

		// No labels read back as an empty map, never nil.
		upd.Labels = nil
		if _, err := s.Update(ctx, upd); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Get(ctx, "c1"); got.Labels == nil || len(got.Labels) != 0 {
			t.Fatalf("cleared labels read back as %#v", got.Labels)
		}
	})
}

// TestPutLabels: Put bumps the version for a change of labels alone, and
// not for the same labels again.
func TestPutLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		base := Connection{Name: "cfg", Plugin: "p", Config: json.RawMessage(`{"a":1}`)}
		if c, err := s.Put(ctx, base); err != nil || c.Version != 1 {
			t.Fatalf("Put = %+v, %v", c, err)
		}
		for _, tc := range []struct {
			labels  map[string]string
			version int64
		}{
			{nil, 1},
			{map[string]string{}, 1},
			{map[string]string{"env": "prod"}, 2},
			{map[string]string{"env": "prod"}, 2},
			{map[string]string{"env": "dev"}, 3},
			{map[string]string{"env": "dev", "team": "a"}, 4},
			{nil, 5},
		} {
			c := base
			c.Labels = tc.labels
			got, err := s.Put(ctx, c)
			if err != nil || got.Version != tc.version || !maps.Equal(got.Labels, tc.labels) {
				t.Fatalf("Put labels %v = v%d %v, %v; want v%d", tc.labels, got.Version, got.Labels, err, tc.version)
			}
		}
	})
}

func TestLabelValidation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, _ := newStore(t, e)
		many := map[string]string{}
		for i := range MaxLabels + 1 {
			many[fmt.Sprintf("k%d", i)] = "v"
		}
		exactly := map[string]string{}
		for i := range MaxLabels {
			exactly[fmt.Sprintf("k%d", i)] = "v"
		}
		for _, tc := range []struct {
			labels map[string]string
			field  string // "" = valid
		}{
			{map[string]string{"env": "prod"}, ""},
			{map[string]string{"Env_1.x": "Prod-2_b.c"}, ""},
			{map[string]string{"example.com/team": ""}, ""},
			{map[string]string{strings.Repeat("k", 63): strings.Repeat("v", 63)}, ""},
			{exactly, ""},
			{many, "/labels"},
			{map[string]string{"": "x"}, "/labels/"},
			{map[string]string{"bad key": "x"}, "/labels/bad key"},
			{map[string]string{"-env": "x"}, "/labels/-env"},
			{map[string]string{strings.Repeat("k", 64): "x"}, "/labels/" + strings.Repeat("k", 64)},
			{map[string]string{"Example.com/team": "x"}, "/labels/Example.com~1team"},
			{map[string]string{"a/b/c": "x"}, "/labels/a~1b~1c"},
			{map[string]string{"/team": "x"}, "/labels/~1team"},
			{map[string]string{"env": "a b"}, "/labels/env"},
			{map[string]string{"env": "-prod"}, "/labels/env"},
			{map[string]string{"env": strings.Repeat("v", 64)}, "/labels/env"},
			{map[string]string{"env": "prod", "zz": "ok", "b@d": "x", "é": "x"}, "/labels/b@d"}, // the first bad key, sorted
		} {
			for _, op := range []struct {
				name string
				fn   func(context.Context, Connection) (Connection, error)
			}{{"Create", s.Create}, {"Put", s.Put}, {"Update", s.Update}} {
				_, err := op.fn(ctx, Connection{Name: "lbl", Plugin: "p", Labels: tc.labels, Version: 1})
				if tc.field == "" {
					if op.name != "Update" && err != nil {
						t.Errorf("%s(%v): %v", op.name, tc.labels, err)
					}
					if err == nil && op.name == "Create" {
						_ = s.Delete(ctx, "lbl")
					}
					continue
				}
				pe := pluginapi.AsError(err)
				if pe == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
					t.Errorf("%s(%v) error %v, want invalid at %s", op.name, tc.labels, err, tc.field)
				}
			}
			_ = s.Delete(ctx, "lbl")
		}
		err := CheckLabels(map[string]string{"env": "a b"})
		if msg := pluginapi.AsError(err).Message; !strings.Contains(msg, `"a b"`) || !strings.Contains(msg, "alphanumeric") {
			t.Errorf("message %q should quote the value and say the rule", msg)
		}
		long := strings.Repeat("x", 5000) + " "
		if msg := pluginapi.AsError(CheckLabels(map[string]string{long: "v"})).Message; len(msg) > 1000 {
			t.Errorf("message for a huge key is %d bytes long", len(msg))
		}
	})
}

// TestMigrationAddsLabels opens a database at the schema version before
// labels (with approved hosts) and checks its rows survive with no labels
// and can be given some.
func TestMigrationAddsLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		path := e.newDSN(t)
		sqlDB, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.For(sqlDB, "connstore")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, migrations[:2]); err != nil {
			t.Fatal(err)
		}
		sealer, _ := newStore(t, e) // same key, another database: only for sealing
		sealed, err := sealer.seal("legacy", []byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO connections (name, plugin, config, approved_hosts, version, created_ns, updated_ns)
		VALUES ('legacy', 'p', ?, '["h.example.com"]', 4, 1, 1)`, sealed); err != nil {
			t.Fatal(err)
		}
		db.SQL().Close()

		s, _ := openStore(t, path, testKey(7))
		c, err := s.Get(ctx, "legacy")
		if err != nil || string(c.Config) != `{"a":1}` || c.Version != 4 || len(c.ApprovedHosts) != 1 || c.Labels == nil || len(c.Labels) != 0 {
			t.Fatalf("legacy row after migration: %+v %v", c, err)
		}
		c.Labels = map[string]string{"env": "prod"}
		if _, err := s.Update(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c, err = s.Get(ctx, "legacy"); err != nil || c.Labels["env"] != "prod" || c.Version != 5 {
			t.Fatalf("after labelling: %+v %v", c, err)
		}
	})
}

// TestUnreadableLabels: a labels column that is not an object of strings
// is an error, not "no labels" (a selector like !env would then match).
func TestUnreadableLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s, db := newStore(t, e)
		if _, err := s.Create(ctx, Connection{Name: "c1", Plugin: "p", Labels: map[string]string{"env": "prod"}}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{`null`, `[]`, `{"env":1}`, `{`} {
			if _, err := db.ExecContext(ctx, `UPDATE connections SET labels = ? WHERE name = 'c1'`, bad); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(ctx, "c1")
			wantCode(t, "Get with labels "+bad, err, pluginapi.CodeInternal)
			_, err = s.List(ctx)
			wantCode(t, "List with labels "+bad, err, pluginapi.CodeInternal)
		}
	})
}

package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// TestV2HashUnchanged: a row without a target name hashes exactly as
// before the column existed (the value below was computed by the version 2
// code), so every row written before the upgrade still verifies.
func TestV2HashUnchanged(t *testing.T) {
	r := row{ID: 7, Kind: "finish", RefID: 6, TimeNS: 1700000000123456789, Actor: "ci", ClientAddr: "10.0.0.1:5",
		RequestID: "req-1", Connection: "demo", Plugin: "docker", Operation: "service.update", Target: "abc123",
		Request: `{"spec":{}}`, ErrCode: "conflict", ErrMessage: "stale", ErrField: "/version", DurationNS: 42,
		Note: "n", PrevHash: make([]byte, 32)}
	key := []byte("0123456789abcdef0123456789abcdef")
	if got := hex.EncodeToString(r.keyedHash(key)); got != "37f295e598c21bfc2869e9124da7773508e06e6ee9a2a715df584ee63fec2178" {
		t.Fatalf("version 2 hash changed: %s", got)
	}
	named := r
	named.TargetName = "web"
	if bytes.Equal(named.keyedHash(key), r.keyedHash(key)) {
		t.Fatal("the target name is not covered by the hash")
	}
}

// TestTargetNameRecordedAndSearched: the name travels with the start row
// (known before) or the finish row (learned from the answer), a search by
// name or by id finds the entry, and both exports carry it.
func TestTargetNameRecordedAndSearched(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		create, err := l.Start(ctx, Event{Actor: "ci", Connection: "prod", Operation: "service.create", Target: "shop", TargetName: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(ctx, create, Outcome{Target: "svc-123"}); err != nil {
			t.Fatal(err)
		}
		// A step after the create, addressed by id; the name comes with the answer.
		update, err := l.Start(ctx, Event{Actor: "ci", Connection: "prod", Operation: "service.update", Target: "svc-123"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(ctx, update, Outcome{TargetName: "shop"}); err != nil {
			t.Fatal(err)
		}
		// A step whose name was known before it ran.
		del, err := l.Start(ctx, Event{Actor: "ci", Connection: "prod", Operation: "service.delete", Target: "svc-123", TargetName: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(ctx, del, Outcome{}); err != nil {
			t.Fatal(err)
		}
		fill(t, l, 1) // another service, no name

		for _, q := range []string{"shop", "svc-123"} {
			es, err := l.Query(ctx, Filter{Target: q})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(es); !slices.Equal(got, []int64{del, update, create}) {
				t.Fatalf("search %q found %v, want %v", q, got, []int64{del, update, create})
			}
			for _, e := range es {
				if e.TargetName != "shop" {
					t.Errorf("entry %d (%s): target_name %q", e.ID, e.Operation, e.TargetName)
				}
			}
		}

		var jl bytes.Buffer
		if err := l.Export(ctx, Filter{Target: "shop"}, FormatJSONL, &jl); err != nil {
			t.Fatal(err)
		}
		var first map[string]any
		if err := json.Unmarshal(bytes.SplitN(jl.Bytes(), []byte("\n"), 2)[0], &first); err != nil || first["target_name"] != "shop" || first["target"] != "svc-123" {
			t.Fatalf("JSON Lines export: %v %s", err, jl.Bytes())
		}
		var cb bytes.Buffer
		if err := l.Export(ctx, Filter{}, FormatCSV, &cb); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&cb).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := slices.Index(recs[0], "target_name")
		if col != len(recs[0])-1 || recs[1][col] != "" || recs[2][col] != "shop" || recs[2][slices.Index(recs[0], "target")] != "svc-123" {
			t.Fatalf("CSV: header %v, rows %v", recs[0], recs[1:])
		}

		// The chain covers the names: intact, and an edited name is an alteration.
		if rep := verify(t, l); !rep.OK {
			t.Fatalf("verify: %+v", rep)
		}
		var export bytes.Buffer
		if err := l.Export(ctx, Filter{}, FormatChain, &export); err != nil {
			t.Fatal(err)
		}
		o := VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub}
		if rep, err := VerifyExport(bytes.NewReader(export.Bytes()), o); err != nil || !rep.OK {
			t.Fatalf("verify export: %+v %v", rep, err)
		}
		if n := bytes.Count(export.Bytes(), []byte(`"target_name":"shop"`)); n != 3 {
			t.Fatalf("the chain export carries %d names, want 3: %s", n, export.Bytes())
		}
		if bytes.Count(export.Bytes(), []byte(`"target_name"`)) != 3 {
			t.Fatal("rows without a name carry a target_name member in the chain export")
		}
		edited := bytes.Replace(export.Bytes(), []byte(`"target_name":"shop"`), []byte(`"target_name":"api"`), 1)
		rep, err := VerifyExport(bytes.NewReader(edited), o)
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, StatusAltered, -1)
		dropped := bytes.Replace(export.Bytes(), []byte(`"target_name":"shop",`), nil, 1)
		rep, err = VerifyExport(bytes.NewReader(dropped), o)
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, StatusAltered, -1)

		dropTriggers(t, l.db)
		sqlExec(t, l.db, `UPDATE audit_log SET target_name = '' WHERE id = ?`, create)
		wantBad(t, verify(t, l), StatusAltered, create)
		sqlExec(t, l.db, `UPDATE audit_log SET target_name = 'shop' WHERE id = ?`, create)
		sqlExec(t, l.db, `UPDATE audit_log SET target_name = 'api' WHERE id = 1 + ?`, del)
		wantBad(t, verify(t, l), StatusAltered, del+1)
	})
}

// TestUpgradeToTargetNames: a log written before the column existed (its
// rows and checkpoints) opens, verifies, takes named rows, and its chain
// export still verifies offline.
func TestUpgradeToTargetNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(context.Background(), db, "audit", migrations[:2]); err != nil {
		t.Fatal(err)
	}
	var cols []string
	rows, err := db.Query(`SELECT name FROM pragma_table_info('audit_log')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	rows.Close()
	if slices.Contains(cols, "target_name") {
		t.Fatal("the version 2 schema already has target_name")
	}
	o := testOptions(t, dir)
	// Version 2 rows, as the previous code wrote them, with a checkpoint.
	prev := make([]byte, hashSize)
	for id := int64(1); id <= 4; id++ {
		r := row{ID: id, Kind: "start", TimeNS: id, Actor: "old", Operation: "service.update", Target: "svc-1", PrevHash: prev}
		if id%2 == 0 {
			r.Kind, r.RefID, r.Target = "finish", id-1, ""
		}
		r.Hash = r.keyedHash(o.ChainKey)
		sqlExec(t, db, `INSERT INTO audit_log (id, kind, ref_id, time_ns, actor, client_addr, request_id, connection, plugin,
			operation, target, request, error_code, error_message, error_field, duration_ns, outcome, note, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(r.args()[:18:18], r.PrevHash, r.Hash)...)
		prev = r.Hash
	}
	sqlExec(t, db, `INSERT INTO audit_chain (id, keyed_from, chain_key_id) VALUES (1, 1, ?)`, ChainKeyID(o.ChainKey))
	cp, err := openCheckpoints(o.CheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.append(newCheckpoint(4, prev, 1, ChainKeyID(o.ChainKey), o.Signer, time.Now())); err != nil {
		t.Fatal(err)
	}
	cp.close()

	l, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	id, err := l.Start(ctx, Event{Actor: "new", Operation: "service.update", Target: "svc-1", TargetName: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, id, Outcome{}); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, l); !rep.OK || rep.Rows != 6 || rep.LegacyRows != 0 {
		t.Fatalf("after the upgrade: %+v", rep)
	}
	es, err := l.Query(ctx, Filter{Target: "svc-1"})
	if err != nil || len(es) != 3 || es[0].TargetName != "web" || es[1].TargetName != "" {
		t.Fatalf("query after the upgrade: %v %+v", err, es)
	}
	var export bytes.Buffer
	if err := l.Export(ctx, Filter{}, FormatChain, &export); err != nil {
		t.Fatal(err)
	}
	cps, _ := os.ReadFile(o.CheckpointPath)
	rep, err := VerifyExport(&export, VerifyOptions{ChainKey: o.ChainKey, PublicKey: l.pub, Checkpoints: bytes.NewReader(cps)})
	if err != nil || !rep.OK {
		t.Fatalf("offline verify after the upgrade: %+v %v", rep, err)
	}
}

// TestRecordRefusals: a refusal is one entry (start and finish written
// together) with outcome denied or invalid, found by its outcome and not
// counted among errors.
func TestRecordRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		fill(t, l, 2) // one ok, one error
		before := l.batches.Load()
		denied, err := l.Record(ctx, Event{Actor: "viewer-bot", ClientAddr: "10.0.0.9:4000", Connection: "prod", Operation: "service.create",
			Target: "web", TargetName: "web"}, Outcome{Refused: OutcomeDenied,
			Error: pluginapi.Errorf(pluginapi.CodeForbidden, "creating a service needs the operator role; viewer-bot has viewer")})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.batches.Load() - before; got != 1 {
			t.Errorf("a refusal took %d commits, want 1", got)
		}
		invalid, err := l.Record(ctx, Event{Actor: "ci", Connection: "prod", Operation: "service.update", Target: "svc-1"},
			Outcome{Refused: OutcomeInvalid, Error: pluginapi.Invalid("/replicas", "must be at least 0")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Record(ctx, Event{Operation: "x"}, Outcome{Refused: "maybe"}); pluginapi.AsError(err).Field != "/refused" {
			t.Errorf("bad refused value: %v", err)
		}
		es, err := l.Query(ctx, Filter{Outcome: OutcomeDenied})
		if err != nil || len(es) != 1 || es[0].ID != denied {
			t.Fatalf("denied: %v %+v", err, es)
		}
		e := es[0]
		if e.Actor != "viewer-bot" || e.Operation != "service.create" || e.Target != "web" || e.ErrorCode != "forbidden" ||
			e.FinishedAt == nil || !strings.Contains(e.ErrorMessage, "operator role") {
			t.Fatalf("denied entry: %+v", e)
		}
		if es, _ := l.Query(ctx, Filter{Outcome: OutcomeInvalid}); len(es) != 1 || es[0].ID != invalid || es[0].ErrorField != "/replicas" {
			t.Fatalf("invalid: %+v", es)
		}
		if es, _ := l.Query(ctx, Filter{Outcome: OutcomeError}); len(es) != 1 {
			t.Fatalf("refusals counted as errors: %+v", es)
		}
		if rep := verify(t, l); !rep.OK || rep.Rows != 8 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

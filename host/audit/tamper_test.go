package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

// These tests are the attacks of someone who can write the database file
// (and, in some, the checkpoint log): they drop the append-only triggers,
// as anyone with the file can, and edit rows directly.

// fill writes n operations (2n rows).
func fill(t testing.TB, l *Log, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		id, err := l.Start(ctx, Event{Actor: "alice", Connection: "prod", Operation: "service.update",
			Target: "web", Request: json.RawMessage(`{"replicas":3}`)})
		if err != nil {
			t.Fatal(err)
		}
		o := Outcome{}
		if i%3 == 1 {
			o.Error = pluginapi.Errorf(pluginapi.CodeConflict, "busy")
		}
		if err := l.Finish(ctx, id, o); err != nil {
			t.Fatal(err)
		}
	}
}

func dropTriggers(t testing.TB, db *sql.DB) {
	t.Helper()
	q := `DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete`
	if isPostgres(t, db) {
		// The owner can, as anyone with the file can on SQLite.
		q = `ALTER TABLE audit_log DISABLE TRIGGER USER`
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func sqlExec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(rebind(t, db, q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// rechain recomputes prev_hash and hash of every row from id on with
// hash, as an attacker covering an edit would.
func rechain(t testing.TB, db *sql.DB, from int64, hash func(*row) []byte) {
	t.Helper()
	rows, err := db.Query(`SELECT ` + columns + ` FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := r.scan(rows); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	prev := make([]byte, hashSize)
	for i := range all {
		r := &all[i]
		if r.ID >= from {
			r.PrevHash = prev
			r.Hash = hash(r)
			sqlExec(t, db, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?`, r.PrevHash, r.Hash, r.ID)
		}
		prev = r.Hash
	}
}

func verify(t testing.TB, l *Log) VerifyReport {
	t.Helper()
	rep, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantBad(t testing.TB, rep VerifyReport, status string, id int64) {
	t.Helper()
	if rep.OK || rep.Status != status || (id >= 0 && rep.FirstBadID != id) {
		t.Fatalf("Verify = %+v\nwant status %s at row %d", rep, status, id)
	}
}

func TestAttackAlterAndRechainWithSHA256(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, db := newLog(t)
		fill(t, l, 5)
		dropTriggers(t, db)
		sqlExec(t, db, `UPDATE audit_log SET actor = 'mallory' WHERE id = 3`)
		// The old chain was unkeyed SHA-256: recomputing it covered the edit.
		rechain(t, db, 3, func(r *row) []byte { return r.legacyHash() })
		wantBad(t, verify(t, l), StatusRechained, 3)
	})
}

func TestAttackAlterAndRechainWithGuessedKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, db := newLog(t)
		fill(t, l, 5)
		dropTriggers(t, db)
		sqlExec(t, db, `UPDATE audit_log SET error_message = 'fine' WHERE id = 4`)
		guess := make([]byte, 32)
		rand.Read(guess)
		rechain(t, db, 4, func(r *row) []byte { return r.keyedHash(guess) })
		rep := verify(t, l)
		wantBad(t, rep, StatusAltered, 4)
		if !strings.Contains(rep.Problem, "HMAC") {
			t.Errorf("problem %q does not say HMAC", rep.Problem)
		}
	})
}

func TestAttackDeleteNewestRows(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, db := newLog(t)
		fill(t, l, 5)
		dropTriggers(t, db)
		sqlExec(t, db, `DELETE FROM audit_log WHERE id > 7`)
		rep := verify(t, l)
		wantBad(t, rep, StatusMissingRows, 8)
		if !strings.Contains(rep.Problem, "has 7 rows") || !strings.Contains(rep.Problem, "recorded 10") {
			t.Errorf("problem = %q", rep.Problem)
		}
	})
}

func TestAttackEmptyTable(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, db := newLog(t)
		fill(t, l, 5)
		dropTriggers(t, db)
		sqlExec(t, db, `DELETE FROM audit_log`)
		wantBad(t, verify(t, l), StatusEmptied, 1)
	})
}

// TestAttackDeleteNewestRowsThenRestart: the rows are deleted while the
// host is down; it starts again and writes on. The checkpoint log still
// shows the log went back, however many rows come after.
func TestAttackDeleteNewestRowsThenRestart(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "audit.db")
		db, err := store.Open(dsnFor(t, path))
		if err != nil {
			t.Fatal(err)
		}
		l, err := New(db, testOptions(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		fill(t, l, 5)
		l.Close()
		dropTriggers(t, db)
		sqlExec(t, db, `DELETE FROM audit_log WHERE id > 6`)
		db.Close()

		l2, _ := openLog(t, path)
		rep := verify(t, l2)
		wantBad(t, rep, StatusBadCheckpoint, 0)
		if !strings.Contains(rep.Problem, "went back from 10 rows to 6") {
			t.Errorf("problem = %q", rep.Problem)
		}
		fill(t, l2, 1) // rows 7, 8: not the rows the old checkpoints recorded
		wantBad(t, verify(t, l2), StatusCheckpointMismatch, 7)
		fill(t, l2, 3) // past the old head
		wantBad(t, verify(t, l2), StatusCheckpointMismatch, 7)
	})
}

func TestAttackCheckpointLog(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		setup := func(t *testing.T) (*Log, *sql.DB, string) {
			l, db := newLog(t)
			fill(t, l, 3)
			return l, db, l.opts.CheckpointPath
		}
		t.Run("removed", func(t *testing.T) {
			l, _, cp := setup(t)
			os.Remove(cp)
			wantBad(t, verify(t, l), StatusNoCheckpoints, 0)
		})
		t.Run("emptied", func(t *testing.T) {
			l, _, cp := setup(t)
			os.Truncate(cp, 0)
			wantBad(t, verify(t, l), StatusNoCheckpoints, 0)
		})
		t.Run("byte changed", func(t *testing.T) {
			l, _, cp := setup(t)
			b, _ := os.ReadFile(cp)
			i := bytes.Index(b, []byte(`"rows":4`))
			b[i+7] = '9'
			os.WriteFile(cp, b, 0o600)
			rep := verify(t, l)
			wantBad(t, rep, StatusBadCheckpoint, 0)
			if !strings.Contains(rep.Problem, "signature invalid") {
				t.Errorf("problem = %q", rep.Problem)
			}
		})
		t.Run("cut mid-line", func(t *testing.T) {
			l, _, cp := setup(t)
			st, _ := os.Stat(cp)
			os.Truncate(cp, st.Size()-10)
			wantBad(t, verify(t, l), StatusBadCheckpoint, 0)
		})
		t.Run("signed with another key", func(t *testing.T) {
			// The attacker deletes rows and writes a checkpoint log of their own.
			l, db, cp := setup(t)
			dropTriggers(t, db)
			sqlExec(t, db, `DELETE FROM audit_log WHERE id > 2`)
			var h []byte
			db.QueryRow(`SELECT hash FROM audit_log WHERE id = 2`).Scan(&h)
			_, evil, _ := ed25519.GenerateKey(nil)
			c := newCheckpoint(2, h, 1, ChainKeyID(l.opts.ChainKey), evil, l.lastCP.Time)
			os.WriteFile(cp, c.line(), 0o600)
			rep := verify(t, l)
			wantBad(t, rep, StatusBadCheckpoint, 0)
			if !strings.Contains(rep.Problem, "not by "+SigningKeyID(l.pub)) {
				t.Errorf("problem = %q", rep.Problem)
			}
		})
		t.Run("newest lines removed with the newest rows", func(t *testing.T) {
			// What this machine alone cannot show: rows and their checkpoints
			// removed together look like a shorter log. A copy of the
			// checkpoint log kept elsewhere shows it.
			l, db, cp := setup(t)
			elsewhere, _ := os.ReadFile(cp)
			lines := bytes.SplitAfter(elsewhere, []byte("\n"))
			dropTriggers(t, db)
			sqlExec(t, db, `DELETE FROM audit_log WHERE id > 4`)
			os.WriteFile(cp, bytes.Join(lines[:5], nil), 0o600) // lines for 0..4 rows
			if rep := verify(t, l); !rep.OK || rep.Rows != 4 {
				t.Fatalf("Verify on this machine = %+v; want it fooled (documented limit)", rep)
			}
			rep, err := VerifyDatabase(context.Background(), db, VerifyOptions{ChainKey: l.opts.ChainKey,
				PublicKey: l.pub, Checkpoints: bytes.NewReader(elsewhere)})
			if err != nil {
				t.Fatal(err)
			}
			wantBad(t, rep, StatusMissingRows, 5)
		})
		t.Run("newest lines removed, more rows than a crash leaves", func(t *testing.T) {
			l, db, cp := setup(t)
			if !isPostgres(t, db) {
				sqlExec(t, db, `PRAGMA foreign_keys = OFF`)
			}
			b, _ := os.ReadFile(cp)
			first := b[:bytes.IndexByte(b, '\n')+1] // the 0-row checkpoint
			os.WriteFile(cp, first, 0o600)
			// Rows an attacker holding the key forged around the writer, or
			// simply many rows whose checkpoints were cut: more than one batch.
			l.w.key = l.opts.ChainKey
			tx, _ := db.Begin()
			prev := l.w.headHash
			for id := int64(7); id <= 7+maxUncovered; id++ {
				r := row{ID: id, Kind: "start", TimeNS: 1, Operation: "x", PrevHash: prev}
				r.Hash = r.keyedHash(l.opts.ChainKey)
				if _, err := tx.Exec(rebind(t, db, insertSQL), r.args()...); err != nil {
					t.Fatal(err)
				}
				prev = r.Hash
			}
			tx.Commit()
			if isPostgres(t, db) {
				// On a shared database other replicas' rows come after this
				// replica's last checkpoint, however many: they chain under
				// the key and are noted; only a verify that is not told the
				// database is shared fails them.
				rep := verify(t, l)
				if !rep.OK || rep.UncoveredRows != 6+maxUncovered+1 || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "other replicas") {
					t.Fatalf("Verify on the shared database = %+v", rep)
				}
				b, _ := os.ReadFile(cp)
				rep, err := VerifyDatabase(context.Background(), db, VerifyOptions{ChainKey: l.opts.ChainKey,
					PublicKey: l.pub, Checkpoints: bytes.NewReader(b[:len(first)])})
				if err != nil {
					t.Fatal(err)
				}
				wantBad(t, rep, StatusUncovered, 1)
				return
			}
			rep := verify(t, l)
			wantBad(t, rep, StatusUncovered, 1)
		})
	})
}

// TestVerifyReportIntact: what an intact log's report says.
func TestVerifyReportIntact(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, _ := newLog(t)
		fill(t, l, 3)
		rep := verify(t, l)
		if !rep.OK || rep.Status != StatusIntact || rep.Rows != 6 || rep.CheckpointRows != 6 ||
			rep.UncoveredRows != 0 || rep.LegacyRows != 0 || rep.PublicKey != PublicKeyText(l.pub) ||
			rep.ChainKeyID != ChainKeyID(l.opts.ChainKey) || rep.CheckpointTime == nil {
			t.Fatalf("report = %+v", rep)
		}
		// One checkpoint at start (0 rows), one per commit: every
		// acknowledged row is covered.
		if rep.Checkpoints != 7 {
			t.Errorf("%d checkpoints, want 7 (start + one per commit)", rep.Checkpoints)
		}
	})
}

func TestNewRefusesWhatItCannotVouchFor(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "audit.db")
		db, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		o := testOptions(t, dir)
		l, err := New(db, o)
		if err != nil {
			t.Fatal(err)
		}
		fill(t, l, 1)
		l.Close()
		for _, f := range []string{ChainKeyFile, SigningKeyFile, CheckpointsFile} {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
			}
		}

		other := o
		other.ChainKey = bytes.Repeat([]byte{7}, 32)
		if _, err := New(db, other); err == nil || !strings.Contains(err.Error(), "chain key") {
			t.Errorf("New with another chain key: %v", err)
		}
		other = o
		_, other.Signer, _ = ed25519.GenerateKey(nil)
		if _, err := New(db, other); err == nil || !strings.Contains(err.Error(), "signed by key") {
			t.Errorf("New with another signing key: %v", err)
		}
		os.Rename(o.CheckpointPath, o.CheckpointPath+".gone")
		if _, err := New(db, o); err == nil || !strings.Contains(err.Error(), "missing or empty") {
			t.Errorf("New without the checkpoint log of a keyed database: %v", err)
		}
		for _, bad := range []Options{{}, {ChainKey: o.ChainKey}, {ChainKey: o.ChainKey, Signer: o.Signer}, {ChainKey: []byte("short"), Signer: o.Signer, CheckpointPath: "x"}} {
			if _, err := New(db, bad); err == nil || !strings.Contains(err.Error(), "options:") {
				t.Errorf("New(%+v) = %v, want an options error", bad, err)
			}
		}
	})
}

// TestLegacyLogUpgrade: a log written before the key keeps its unkeyed
// rows, verified the old way; the upgrade checkpoint fixes their head, so
// they cannot be rewritten afterwards either.
func TestLegacyLogUpgrade(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(context.Background(), db, "audit", migrations[:1]); err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, hashSize)
	for id := int64(1); id <= 4; id++ {
		r := row{ID: id, Kind: "start", TimeNS: id, Actor: "old", Operation: "service.create", PrevHash: prev}
		r.Hash = r.legacyHash()
		sqlExec(t, db, `INSERT INTO audit_log (id, kind, ref_id, time_ns, actor, client_addr, request_id, connection, plugin,
			operation, target, request, error_code, error_message, error_field, duration_ns, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(r.args()[:16:16], r.PrevHash, r.Hash)...)
		prev = r.Hash
	}
	l, err := New(db, testOptions(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Finish(context.Background(), 2, Outcome{}); err != nil {
		t.Fatal(err)
	}
	fill(t, l, 1)
	rep := verify(t, l)
	if !rep.OK || rep.LegacyRows != 4 || rep.Rows != 7 || len(rep.Notes) == 0 {
		t.Fatalf("after upgrade: %+v", rep)
	}
	var n int64
	db.QueryRow(`SELECT keyed_from FROM audit_chain`).Scan(&n)
	if n != 5 || l.lastCP.KeyedFrom != 5 {
		t.Fatalf("keyed_from = %d in the database, %d in the checkpoint; want 5", n, l.lastCP.KeyedFrom)
	}

	dropTriggers(t, db)
	// Rewriting a legacy row and its unkeyed successors does not match the
	// upgrade checkpoint; and the keyed rows after do not follow.
	sqlExec(t, db, `UPDATE audit_log SET actor = 'mallory' WHERE id = 3`)
	rechain(t, db, 3, func(r *row) []byte {
		if r.ID < 5 {
			return r.legacyHash()
		}
		return r.Hash
	})
	wantBad(t, verify(t, l), StatusCheckpointMismatch, 4)
	// Claiming the keyed rows are legacy ones (re-chaining them unkeyed)
	// is the re-chain of TestAttackAlterAndRechainWithSHA256.
	rechain(t, db, 3, func(r *row) []byte { return r.legacyHash() })
	wantBad(t, verify(t, l), StatusCheckpointMismatch, 4)
	// A legacy row given an outcome its hash does not cover.
	rechain(t, db, 1, func(r *row) []byte { return r.keyedHash(l.opts.ChainKey) })
	sqlExec(t, db, `UPDATE audit_log SET actor = 'old', note = 'x' WHERE id = 3`)
	rechain(t, db, 1, func(r *row) []byte { return r.legacyHash() })
	wantBad(t, verify(t, l), StatusAltered, 3)
}

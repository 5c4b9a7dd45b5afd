package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"sync"
	"testing"
)

// fuzzLog is one fixture shared by a fuzz process: its rows as stored, its
// chain export and its checkpoint log.
type fuzzFixture struct {
	opts   VerifyOptions
	rows   []row
	export []byte
	cps    []byte
}

var (
	fuzzOnce sync.Once
	fuzzFix  fuzzFixture
)

func fixture(f *testing.F) *fuzzFixture {
	fuzzOnce.Do(func() {
		l, export, cps := chainFixture(f)
		rows, err := l.db.Query(`SELECT ` + columns + ` FROM audit_log ORDER BY id`)
		if err != nil {
			f.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			if err := r.scan(rows); err != nil {
				f.Fatal(err)
			}
			fuzzFix.rows = append(fuzzFix.rows, r)
		}
		fuzzFix.opts = VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub}
		fuzzFix.export, fuzzFix.cps = export, cps
	})
	return &fuzzFix
}

func verifyRows(rows []row, o VerifyOptions) VerifyReport {
	v := newVerifier(o)
	for i := range rows {
		v.row(&rows[i])
	}
	v.end()
	return v.rep
}

// field returns the bytes of field i of r (integers as 8 bytes) and a
// function to store changed bytes back.
func field(r *row, i int) ([]byte, func([]byte)) {
	ints := []*int64{&r.ID, &r.RefID, &r.TimeNS, &r.DurationNS}
	strs := []*string{&r.Kind, &r.Actor, &r.ClientAddr, &r.RequestID, &r.Connection, &r.Plugin,
		&r.Operation, &r.Target, &r.Request, &r.ErrCode, &r.ErrMessage, &r.ErrField, &r.Outcome, &r.Note}
	switch {
	case i < len(ints):
		p := ints[i]
		return binary.BigEndian.AppendUint64(nil, uint64(*p)), func(b []byte) { *p = int64(binary.BigEndian.Uint64(b)) }
	case i < len(ints)+len(strs):
		p := strs[i-len(ints)]
		return []byte(*p), func(b []byte) { *p = string(b) }
	case i == len(ints)+len(strs):
		return bytes.Clone(r.PrevHash), func(b []byte) { r.PrevHash = b }
	default:
		return bytes.Clone(r.Hash), func(b []byte) { r.Hash = b }
	}
}

const rowFields = 4 + 14 + 2

// FuzzVerifyRowChange: any single-byte change to any column of any stored
// row (or a byte added to an empty column) is detected.
func FuzzVerifyRowChange(f *testing.F) {
	fx := fixture(f)
	if rep := verifyRows(fx.rows, withCPs(fx)); !rep.OK {
		f.Fatalf("fixture does not verify: %+v", rep)
	}
	for i := range rowFields {
		f.Add(uint(i), uint(i), uint(0), byte('x'))
	}
	f.Fuzz(func(t *testing.T, rowN, fieldN, off uint, b byte) {
		rows := make([]row, len(fx.rows))
		copy(rows, fx.rows)
		r := &rows[rowN%uint(len(rows))]
		val, set := field(r, int(fieldN%rowFields))
		if len(val) == 0 {
			val = []byte{b}
		} else {
			i := off % uint(len(val))
			if val[i] == b {
				return // no change
			}
			val[i] = b
		}
		set(val)
		if rep := verifyRows(rows, withCPs(fx)); rep.OK {
			t.Fatalf("row %d field %d changed and still verifies: %+v", r.ID, fieldN%rowFields, rep)
		}
	})
}

func withCPs(fx *fuzzFixture) VerifyOptions {
	o := fx.opts
	o.Checkpoints = bytes.NewReader(fx.cps)
	return o
}

// FuzzVerifyExportChange: any single-byte change to an exported log, or
// to the checkpoint log it is checked against, is detected; and whatever
// the bytes, VerifyExport answers with a report, not a crash.
func FuzzVerifyExportChange(f *testing.F) {
	fx := fixture(f)
	for _, pos := range []uint{0, 10, 200, 400, 900, uint(len(fx.export) - 1)} {
		f.Add(pos, byte('0'), false)
		f.Add(pos, byte('\n'), true)
	}
	f.Fuzz(func(t *testing.T, pos uint, b byte, inCheckpoints bool) {
		export, cps := bytes.Clone(fx.export), bytes.Clone(fx.cps)
		target := export
		if inCheckpoints {
			target = cps
		}
		i := pos % uint(len(target))
		if target[i] == b {
			return
		}
		target[i] = b
		for _, o := range []VerifyOptions{fx.opts, withCPsBytes(fx.opts, cps)} {
			if inCheckpoints && o.Checkpoints == nil {
				continue
			}
			rep, err := VerifyExport(bytes.NewReader(export), o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("byte %d changed to %q (in checkpoints: %v) and the export still verifies: %+v", i, b, inCheckpoints, rep)
			}
		}
	})
}

func withCPsBytes(o VerifyOptions, cps []byte) VerifyOptions {
	o.Checkpoints = bytes.NewReader(cps)
	return o
}

// FuzzVerifyStoredRow performs the change in the database itself (a real
// UPDATE, triggers dropped) for a few seeds: slower, so kept to a column
// and a value per input.
func FuzzVerifyStoredRow(f *testing.F) {
	ctx := context.Background()
	l, db := newLog(f)
	fill(f, l, 3)
	dropTriggers(f, db)
	cols := []string{"kind", "ref_id", "time_ns", "actor", "operation", "target", "request", "error_code",
		"error_message", "duration_ns", "outcome", "note", "prev_hash", "hash"}
	f.Add(uint(3), uint(0), "x")
	f.Add(uint(2), uint(1), "5")
	f.Add(uint(4), uint(12), "\x00")
	f.Fuzz(func(t *testing.T, id, col uint, val string) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		c := cols[col%uint(len(cols))]
		rowID := int64(id%6) + 1
		var changed bool
		// Change only if the value differs, in its stored type.
		if err := tx.QueryRow(`SELECT `+c+` IS NOT ? FROM audit_log WHERE id = ?`, val, rowID).Scan(&changed); err != nil || !changed {
			return
		}
		if _, err := tx.Exec(`UPDATE audit_log SET `+c+` = ? WHERE id = ?`, val, rowID); err != nil {
			return // refused by a CHECK or foreign key: nothing changed
		}
		rep := verifyTx(t, tx, l)
		if rep.OK {
			t.Fatalf("row %d column %s set to %q and the log still verifies: %+v", rowID, c, val, rep)
		}
	})
}

// verifyTx checks the log as seen inside tx.
func verifyTx(t *testing.T, tx *sql.Tx, l *Log) VerifyReport {
	rows, err := tx.Query(`SELECT ` + columns + ` FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	o := VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub}
	cps, _ := os.ReadFile(l.opts.CheckpointPath)
	o.Checkpoints = bytes.NewReader(cps)
	v := newVerifier(o)
	for rows.Next() && !v.done {
		var r row
		if err := r.scan(rows); err != nil {
			return VerifyReport{Status: StatusAltered}
		}
		v.row(&r)
	}
	v.end()
	return v.rep
}

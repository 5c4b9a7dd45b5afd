package audit

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
)

// VerifyReport is the result of checking the hash chain.
type VerifyReport struct {
	Rows       int    `json:"rows"`         // rows checked (up to and including the first bad one)
	OK         bool   `json:"ok"`           // the whole chain is intact
	FirstBadID int64  `json:"first_bad_id"` // the first row that fails, if !OK
	Problem    string `json:"problem,omitempty"`
}

// Verify walks the whole log in id order, recomputing each row's chain
// hash, and reports the first row that was altered, or whose link to the
// row before it is broken (a row removed or inserted). It reads one
// consistent snapshot, so it can run while operations are being logged.
func (l *Log) Verify(ctx context.Context) (VerifyReport, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, kind, ref_id, time_ns, actor, client_addr,
		request_id, connection, plugin, operation, target, request, error_code, error_message,
		error_field, duration_ns, prev_hash, hash FROM audit_log ORDER BY id`)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var rep VerifyReport
	prev := make([]byte, hashSize)
	for rows.Next() {
		var r row
		var ref sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Kind, &ref, &r.TimeNS, &r.Actor, &r.ClientAddr,
			&r.RequestID, &r.Connection, &r.Plugin, &r.Operation, &r.Target, &r.Request,
			&r.ErrCode, &r.ErrMessage, &r.ErrField, &r.DurationNS, &r.PrevHash, &r.Hash); err != nil {
			// A column changed to a value of the wrong type is tampering too.
			rep.Rows++
			return bad(rep, r.ID, "row cannot be read: "+err.Error()), nil
		}
		r.RefID = ref.Int64
		rep.Rows++
		switch {
		case !bytes.Equal(r.PrevHash, prev):
			return bad(rep, r.ID, "the row's link to the previous row is broken: a row before it was removed, inserted or rewritten"), nil
		case !bytes.Equal(r.chainHash(), r.Hash):
			return bad(rep, r.ID, "the row's content does not match its hash: the row was altered"), nil
		}
		prev = r.Hash
	}
	if err := rows.Err(); err != nil {
		return VerifyReport{}, fmt.Errorf("audit: verify: %w", err)
	}
	rep.OK = true
	return rep, nil
}

func bad(rep VerifyReport, id int64, problem string) VerifyReport {
	rep.FirstBadID, rep.Problem = id, problem
	return rep
}

package audit

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"time"
)

const hashSize = sha256.Size

// chainVersion is hashed first, so a future change of the canonical form
// cannot be confused with this one.
const chainVersion = "wharf-audit-chain-v1"

// row is one audit_log row, as stored.
type row struct {
	ID         int64
	Kind       string // "start" or "finish"
	RefID      int64  // finish: the start row's id; start: 0 (NULL)
	TimeNS     int64  // start: started at; finish: finished at (Unix ns)
	Actor      string
	ClientAddr string
	RequestID  string
	Connection string
	Plugin     string
	Operation  string
	Target     string // start: event target; finish: result target
	Request    string
	ErrCode    string
	ErrMessage string
	ErrField   string
	DurationNS int64
	PrevHash   []byte
	Hash       []byte
}

func startRow(e *Event) row {
	return row{
		Kind:       "start",
		TimeNS:     e.Time.UnixNano(),
		Actor:      e.Actor,
		ClientAddr: e.ClientAddr,
		RequestID:  e.RequestID,
		Connection: e.Connection,
		Plugin:     e.Plugin,
		Operation:  e.Operation,
		Target:     e.Target,
		Request:    string(e.Request),
	}
}

func finishRow(startID int64, at time.Time, startNS int64, o *Outcome) row {
	r := row{
		Kind:       "finish",
		RefID:      startID,
		TimeNS:     at.UnixNano(),
		Target:     o.Target,
		DurationNS: int64(o.Duration),
	}
	if r.DurationNS == 0 {
		r.DurationNS = max(0, r.TimeNS-startNS)
	}
	if e := o.Error; e != nil {
		r.ErrCode, r.ErrMessage, r.ErrField = string(e.Code), e.Message, e.Field
		if r.ErrCode == "" { // an error without a code is still an error
			r.ErrCode = "internal"
		}
	}
	return r
}

// args are the values for insertSQL, in its column order.
func (r *row) args() []any {
	var ref sql.NullInt64
	if r.Kind == "finish" {
		ref = sql.NullInt64{Int64: r.RefID, Valid: true}
	}
	return []any{r.ID, r.Kind, ref, r.TimeNS, r.Actor, r.ClientAddr, r.RequestID,
		r.Connection, r.Plugin, r.Operation, r.Target, r.Request, r.ErrCode, r.ErrMessage,
		r.ErrField, r.DurationNS, r.PrevHash, r.Hash}
}

// chainHash is SHA-256 over the previous row's hash and the row's
// canonical content: every column but the hashes, each integer as 8
// big-endian bytes and each string prefixed by its length, so no two
// different rows encode alike.
func (r *row) chainHash() []byte {
	b := make([]byte, 0, 256+len(r.Request)+len(r.ErrMessage))
	b = appendStr(b, chainVersion)
	b = append(b, r.PrevHash...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.ID))
	b = appendStr(b, r.Kind)
	b = binary.BigEndian.AppendUint64(b, uint64(r.RefID))
	b = binary.BigEndian.AppendUint64(b, uint64(r.TimeNS))
	for _, s := range []string{r.Actor, r.ClientAddr, r.RequestID, r.Connection, r.Plugin,
		r.Operation, r.Target, r.Request, r.ErrCode, r.ErrMessage, r.ErrField} {
		b = appendStr(b, s)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(r.DurationNS))
	sum := sha256.Sum256(b)
	return sum[:]
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf8"
)

const hashSize = sha256.Size

// Chain versions are hashed first, so no row of one version can be
// mistaken for a row of another. Version 1 is the unkeyed SHA-256 chain of
// logs written before the chain was keyed: such rows are checked the old
// way and never re-chained (re-chaining would launder any tampering).
// Version 2 is HMAC-SHA256 under a key that is not in the database, and
// also covers the outcome and note columns. Version 3 is version 2 plus
// the target_name column; it is used exactly for the rows whose
// target_name is not empty, so each row has one encoding and the rows
// written before the column existed keep theirs. Version 4 is version 3
// plus the writer column (which replica wrote a start row), used exactly
// for the rows that name a writer.
const (
	chainV1 = "wharf-audit-chain-v1"
	chainV2 = "wharf-audit-chain-v2-hmac-sha256"
	chainV3 = "wharf-audit-chain-v3-hmac-sha256"
	chainV4 = "wharf-audit-chain-v4-hmac-sha256"
)

// Stored outcome column values; ” means "derive from error_code".
const (
	storedInterrupted = OutcomeInterrupted
	storedDenied      = OutcomeDenied
	storedInvalid     = OutcomeInvalid
)

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
	Outcome    string // finish: a stored outcome or ''
	Note       string // finish: what recovery found on the platform
	TargetName string // start: the target's name if known; finish: the name learned
	Writer     string // start: the writing Log's id (its signer), so recovery knows whose it is
	PrevHash   []byte
	Hash       []byte
}

func startRow(e *Event, writer string) row {
	return row{
		Kind:       "start",
		Writer:     writer,
		TimeNS:     e.Time.UnixNano(),
		Actor:      e.Actor,
		ClientAddr: e.ClientAddr,
		RequestID:  e.RequestID,
		Connection: e.Connection,
		Plugin:     e.Plugin,
		Operation:  e.Operation,
		Target:     e.Target,
		TargetName: e.TargetName,
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
		Note:       o.Note,
		TargetName: o.TargetName,
	}
	switch {
	case o.Interrupted:
		r.Outcome = storedInterrupted
	case o.Refused != "":
		r.Outcome = o.Refused
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

// columns lists audit_log's columns in the order of args and scanArgs.
const columns = `id, kind, ref_id, time_ns, actor, client_addr, request_id, connection, plugin,
	operation, target, request, error_code, error_message, error_field, duration_ns, outcome, note,
	target_name, writer, prev_hash, hash`

// args are the values for insertSQL, in the order of columns.
func (r *row) args() []any {
	var ref sql.NullInt64
	if r.Kind == "finish" {
		ref = sql.NullInt64{Int64: r.RefID, Valid: true}
	}
	return []any{r.ID, r.Kind, ref, r.TimeNS, r.Actor, r.ClientAddr, r.RequestID,
		r.Connection, r.Plugin, r.Operation, r.Target, r.Request, r.ErrCode, r.ErrMessage,
		r.ErrField, r.DurationNS, r.Outcome, r.Note, r.TargetName, r.Writer, r.PrevHash, r.Hash}
}

// scan reads a row selected with columns.
func (r *row) scan(s interface{ Scan(...any) error }) error {
	var ref sql.NullInt64
	err := s.Scan(&r.ID, &r.Kind, &ref, &r.TimeNS, &r.Actor, &r.ClientAddr,
		&r.RequestID, &r.Connection, &r.Plugin, &r.Operation, &r.Target, &r.Request,
		&r.ErrCode, &r.ErrMessage, &r.ErrField, &r.DurationNS, &r.Outcome, &r.Note, &r.TargetName, &r.Writer, &r.PrevHash, &r.Hash)
	r.RefID = ref.Int64
	return err
}

// legacyHash is the version 1 chain value: SHA-256 over the previous
// row's hash and the row's canonical content (every column of the
// original table but the hashes, integers as 8 big-endian bytes, strings
// prefixed by their length, so no two different rows encode alike).
func (r *row) legacyHash() []byte {
	sum := sha256.Sum256(r.canonical(chainV1, false))
	return sum[:]
}

// keyedHash is the version 2 chain value: HMAC-SHA256 under key of the
// same encoding plus the outcome and note columns; for a row with a target
// name, version 3, which adds it; for a row naming its writer, version 4,
// which adds both. Without the key nobody can compute it, so
// a row altered and re-chained by someone who only has the database file
// does not verify, and a name cannot be removed or added unnoticed either:
// the version tag is inside the HMAC.
func (r *row) keyedHash(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	if r.Writer != "" {
		m.Write(appendStr(appendStr(r.canonical(chainV4, true), r.TargetName), r.Writer))
	} else if r.TargetName != "" {
		m.Write(appendStr(r.canonical(chainV3, true), r.TargetName))
	} else {
		m.Write(r.canonical(chainV2, true))
	}
	return m.Sum(nil)
}

func (r *row) canonical(version string, v2 bool) []byte {
	b := make([]byte, 0, 256+len(r.Request)+len(r.ErrMessage)+len(r.Note)+len(r.TargetName))
	b = appendStr(b, version)
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
	if v2 {
		b = appendStr(b, r.Outcome)
		b = appendStr(b, r.Note)
	}
	return b
}

// textSafe makes the row's strings storable as PostgreSQL text, which
// holds neither NUL nor invalid UTF-8 (a target taken from a URL, say):
// each such byte becomes U+FFFD before the row is hashed, so what is
// stored is what the chain covers. SQLite stores strings as they are.
func (r *row) textSafe() {
	for _, s := range []*string{&r.Actor, &r.ClientAddr, &r.RequestID, &r.Connection, &r.Plugin,
		&r.Operation, &r.Target, &r.Request, &r.ErrCode, &r.ErrMessage, &r.ErrField, &r.Note, &r.TargetName, &r.Writer} {
		if !utf8.ValidString(*s) || strings.IndexByte(*s, 0) >= 0 {
			*s = strings.ReplaceAll(strings.ToValidUTF8(*s, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

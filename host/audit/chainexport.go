package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// FormatChain exports the raw rows with their hashes, oldest first, after a
// header line carrying the newest checkpoint: everything VerifyExport
// needs to check the log without the database.
const FormatChain = "chain"

// chainFormat names the format in the header line.
const chainFormat = "wharf-audit-chain-v1"

// MaxExportLine bounds one line of a chain export when it is read back.
const MaxExportLine = 16 << 20

// exportHeader is the first line of a chain export.
type exportHeader struct {
	Format     string     `json:"format"`
	Checkpoint Checkpoint `json:"checkpoint"`
}

// exportRow is one row of a chain export. Strings are written as they are
// stored; a row holding a string that is not valid UTF-8 (which JSON
// cannot carry unchanged) has Enc "base64" and every string in base64.
type exportRow struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	RefID      int64  `json:"ref_id"`
	TimeNS     int64  `json:"time_ns"`
	Actor      string `json:"actor"`
	ClientAddr string `json:"client_addr"`
	RequestID  string `json:"request_id"`
	Connection string `json:"connection"`
	Plugin     string `json:"plugin"`
	Operation  string `json:"operation"`
	Target     string `json:"target"`
	Request    string `json:"request"`
	ErrCode    string `json:"error_code"`
	ErrMessage string `json:"error_message"`
	ErrField   string `json:"error_field"`
	DurationNS int64  `json:"duration_ns"`
	Outcome    string `json:"outcome"`
	Note       string `json:"note"`
	// TargetName is left out when empty, so exports of rows without one
	// read as they did before the column existed.
	TargetName string `json:"target_name,omitempty"`
	// Writer likewise (start rows written since writers were recorded).
	Writer   string `json:"writer,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	Enc      string `json:"enc,omitempty"`
}

func (e *exportRow) strings() []*string {
	return []*string{&e.Actor, &e.ClientAddr, &e.RequestID, &e.Connection, &e.Plugin, &e.Operation,
		&e.Target, &e.Request, &e.ErrCode, &e.ErrMessage, &e.ErrField, &e.Outcome, &e.Note, &e.TargetName, &e.Writer}
}

func toExport(r *row) exportRow {
	e := exportRow{ID: r.ID, Kind: r.Kind, RefID: r.RefID, TimeNS: r.TimeNS, Actor: r.Actor,
		ClientAddr: r.ClientAddr, RequestID: r.RequestID, Connection: r.Connection, Plugin: r.Plugin,
		Operation: r.Operation, Target: r.Target, Request: r.Request, ErrCode: r.ErrCode,
		ErrMessage: r.ErrMessage, ErrField: r.ErrField, DurationNS: r.DurationNS, Outcome: r.Outcome,
		Note: r.Note, TargetName: r.TargetName, Writer: r.Writer, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
	valid := utf8.ValidString(e.Kind)
	for _, s := range e.strings() {
		valid = valid && utf8.ValidString(*s)
	}
	if !valid {
		e.Enc = "base64"
		e.Kind = base64.StdEncoding.EncodeToString([]byte(e.Kind))
		for _, s := range e.strings() {
			*s = base64.StdEncoding.EncodeToString([]byte(*s))
		}
	}
	return e
}

// fromExport turns a parsed line back into a row, refusing any spelling
// of a value other than the one toExport writes.
func fromExport(e exportRow) (row, error) {
	strs := append(e.strings(), &e.Kind)
	if e.Enc != "" {
		if e.Enc != "base64" {
			return row{}, fmt.Errorf("unknown enc %q", e.Enc)
		}
		for _, s := range strs {
			b, err := base64.StdEncoding.Strict().DecodeString(*s)
			if err != nil || base64.StdEncoding.EncodeToString(b) != *s {
				return row{}, errors.New("a base64 string is malformed")
			}
			*s = string(b)
		}
	}
	prev, err1 := strictHex(e.PrevHash)
	hash, err2 := strictHex(e.Hash)
	if err := errors.Join(err1, err2); err != nil {
		return row{}, err
	}
	return row{ID: e.ID, Kind: e.Kind, RefID: e.RefID, TimeNS: e.TimeNS, Actor: e.Actor,
		ClientAddr: e.ClientAddr, RequestID: e.RequestID, Connection: e.Connection, Plugin: e.Plugin,
		Operation: e.Operation, Target: e.Target, Request: e.Request, ErrCode: e.ErrCode,
		ErrMessage: e.ErrMessage, ErrField: e.ErrField, DurationNS: e.DurationNS, Outcome: e.Outcome,
		Note: e.Note, TargetName: e.TargetName, Writer: e.Writer, PrevHash: prev, Hash: hash}, nil
}

func strictHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || hex.EncodeToString(b) != s {
		return nil, fmt.Errorf("%q is not lowercase hex", s)
	}
	return b, nil
}

// canonicalLine is v's one JSON encoding, newline included.
func canonicalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ExportChain writes the whole log as FormatChain to w: a header with the
// newest checkpoint, then every row oldest first, all from one snapshot
// taken with that checkpoint, streamed as read.
func (l *Log) ExportChain(ctx context.Context, w io.Writer) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer conn.Close()
	l.headMu.Lock()
	l.caughtUp()
	cp := l.lastCP
	l.cpMu.Unlock()
	err = beginSnapshot(ctx, conn, l.h.Dialect())
	l.headMu.Unlock()
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)

	bw := bufio.NewWriter(w)
	line, err := canonicalLine(exportHeader{Format: chainFormat, Checkpoint: cp})
	if err != nil {
		return err
	}
	if _, err := bw.Write(line); err != nil {
		return err
	}
	rows, err := conn.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY id`)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r row
		if err := r.scan(rows); err != nil {
			return fmt.Errorf("audit: export: row after %d: %w", r.ID, err)
		}
		line, err := canonicalLine(toExport(&r))
		if err != nil {
			return err
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return bw.Flush()
}

// VerifyExport checks a FormatChain export without the database: every
// row's chain hash under o.ChainKey, the export's own checkpoint (which
// shows rows cut from its end), and, when o.Checkpoints is set, every
// checkpoint of that log up to the export (a copy kept elsewhere shows
// rows deleted before the export was made). Checkpoints written after the
// export are noted, not counted as missing rows. An error means the
// export could not be read at all (I/O).
func VerifyExport(r io.Reader, o VerifyOptions) (VerifyReport, error) {
	if err := o.check(); err != nil {
		return VerifyReport{}, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	lineNo := 0
	bad := func(format string, args ...any) (VerifyReport, error) {
		v := newVerifier(VerifyOptions{ChainKey: o.ChainKey, PublicKey: o.PublicKey})
		v.fail(StatusBadExport, 0, "export line %d: %s", lineNo, fmt.Sprintf(format, args...))
		return v.rep, nil
	}
	line, err := readLine(br)
	lineNo++
	if err != nil {
		if errors.Is(err, io.EOF) {
			return bad("the export is empty: no header")
		}
		return bad("%v", err)
	}
	var h exportHeader
	if err := strictDecode(line, &h); err != nil || h.Format != chainFormat {
		return bad("not a %s header (wharf audit export --format chain): %v", chainFormat, err)
	}
	own, err := parseCheckpoint(bytes.TrimSuffix(h.Checkpoint.line(), []byte("\n")), o.PublicKey)
	if err != nil {
		return bad("the export's checkpoint: %v", err)
	}
	cps := o.Checkpoints
	if cps == nil {
		cps = bytes.NewReader(own.line())
	}
	v := newVerifier(VerifyOptions{ChainKey: o.ChainKey, PublicKey: o.PublicKey, Checkpoints: cps})
	if o.Checkpoints != nil {
		v.after = &own.Time
	}
	ownHash := make([]byte, hashSize) // row own.Rows's hash, once read
	for !v.done {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			break
		}
		lineNo++
		if err != nil {
			return bad("%v", err)
		}
		var e exportRow
		if err := strictDecode(line, &e); err != nil {
			return bad("%v", err)
		}
		r, err := fromExport(e)
		if err != nil {
			return bad("%v", err)
		}
		v.row(&r)
		if r.ID == own.Rows {
			ownHash = r.Hash
		}
	}
	if !v.done && o.Checkpoints != nil {
		// The export's own checkpoint, against its rows.
		switch {
		case v.prevID < own.Rows:
			v.fail(StatusMissingRows, v.prevID+1, "the export has %d rows but its own checkpoint records %d: rows were cut from it", v.prevID, own.Rows)
		case !bytes.Equal(ownHash, own.hashBytes()):
			v.fail(StatusCheckpointMismatch, own.Rows, "row %d's hash is not the one the export's checkpoint records", own.Rows)
		}
	}
	v.end()
	return v.rep, nil
}

// readLine reads one line, newline included, refusing lines longer than
// MaxExportLine. io.EOF means no more lines; a last line without a newline
// is an error (the export was cut).
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		b, err := br.ReadSlice('\n')
		if len(out)+len(b) > MaxExportLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxExportLine)
		}
		out = append(out, b...)
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(out) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return nil, errors.New("the last line has no newline: the export was cut short")
		default:
			return nil, err
		}
	}
}

// strictDecode decodes line into v and insists line is v's canonical
// encoding: no unknown or duplicate fields, no other spelling of a value,
// so that no byte of an export can change unnoticed.
func strictDecode(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	canon, err := canonicalLine(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(canon, line) {
		return errors.New("not in canonical form (edited?)")
	}
	return nil
}

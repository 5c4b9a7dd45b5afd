package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wharfhq/wharf/pluginapi"
)

// chainFixture is a small log with every kind of row: errors, a request,
// an interrupted operation with a note, and an actor that is not UTF-8.
func chainFixture(t testing.TB) (*Log, []byte, []byte) {
	t.Helper()
	ctx := context.Background()
	l, _ := newLog(t)
	fill(t, l, 2)
	id, err := l.Start(ctx, Event{Actor: "bad\xffactor", Operation: "service.delete", Target: "db",
		Request: json.RawMessage(`{"force":true,"why":"<b>&\u2028</b>"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, id, Outcome{Interrupted: true, Note: "at recovery: service not found"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Export(ctx, Filter{}, FormatChain, &buf); err != nil {
		t.Fatal(err)
	}
	cps, err := os.ReadFile(l.opts.CheckpointPath)
	if err != nil {
		t.Fatal(err)
	}
	return l, buf.Bytes(), cps
}

func TestVerifyExportOffline(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		l, export, cps := chainFixture(t)
		o := VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub}
		for _, withLog := range []bool{false, true} {
			if withLog {
				o.Checkpoints = bytes.NewReader(cps)
			}
			rep, err := VerifyExport(bytes.NewReader(export), o)
			if err != nil || !rep.OK || rep.Rows != 6 || rep.CheckpointRows != 6 {
				t.Fatalf("VerifyExport (checkpoint log given: %v) = %+v, %v", withLog, rep, err)
			}
		}
		// PostgreSQL text cannot hold the invalid byte: it is stored (and
		// chained) as U+FFFD there.
		if !onPostgres(t) && !bytes.Contains(export, []byte(`"enc":"base64"`)) {
			t.Error("the row with a non-UTF-8 actor is not base64-encoded")
		}

		// The log goes on after the export: noted, not missing.
		fill(t, l, 1)
		cps2, _ := os.ReadFile(l.opts.CheckpointPath)
		o.Checkpoints = bytes.NewReader(cps2)
		rep, err := VerifyExport(bytes.NewReader(export), o)
		if err != nil || !rep.OK || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "after the export") {
			t.Fatalf("older export against a newer checkpoint log = %+v, %v", rep, err)
		}

		lines := bytes.SplitAfter(export, []byte("\n"))
		lines = lines[:len(lines)-1] // after the last newline
		for _, tc := range []struct {
			name   string
			export []byte
			status string
		}{
			{"newest rows cut", bytes.Join(lines[:len(lines)-2], nil), StatusMissingRows},
			{"all rows cut", lines[0], StatusEmptied},
			{"empty", nil, StatusBadExport},
			{"header only cut", bytes.Join(lines[1:], nil), StatusBadExport},
			{"last line cut", export[:len(export)-3], StatusBadExport},
			{"a row removed", slices.Concat(bytes.Join(lines[:3], nil), bytes.Join(lines[4:], nil)), StatusBrokenLink},
			{"uppercase hash", bytes.Replace(export, []byte(`"hash":"`), []byte(`"Hash":"`), 1), StatusBadExport},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rep, err := VerifyExport(bytes.NewReader(tc.export), VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub})
				if err != nil {
					t.Fatal(err)
				}
				wantBad(t, rep, tc.status, -1)
			})
		}

		// Rows deleted from the database before the export: the export is
		// consistent with itself, the checkpoint log kept elsewhere is not.
		_, db := l, l.db
		dropTriggers(t, db)
		sqlExec(t, db, `DELETE FROM audit_log WHERE id > 4`)
		var buf bytes.Buffer
		if err := l.Export(context.Background(), Filter{}, FormatChain, &buf); err != nil {
			t.Fatal(err)
		}
		rep, err = VerifyExport(&buf, VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub, Checkpoints: bytes.NewReader(cps2)})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, StatusMissingRows, 5)

		// Filters make no sense for the chain export.
		err = l.Export(context.Background(), Filter{Actor: "alice"}, FormatChain, &buf)
		if pe := pluginapi.AsError(err); pe == nil || pe.Field != "/format" {
			t.Errorf("filtered chain export: %v", err)
		}
	})
}

func TestCSVNeutralisesFormulasAndWritesUTF8(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		hostile := []string{"=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "ok"}
		for _, s := range hostile {
			id, err := l.Start(ctx, Event{Actor: s, Operation: "service.create", Target: "bad\xff\xfe" + s})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Finish(ctx, id, Outcome{Error: pluginapi.Errorf(pluginapi.CodeInternal, "%s", s)}); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := l.Export(ctx, Filter{}, FormatCSV, &buf); err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(buf.Bytes()) {
			t.Fatal("CSV export is not valid UTF-8")
		}
		// With CRLF line ends encoding/csv writes no lone CR: the cell keeps
		// its apostrophe.
		if !bytes.Contains(buf.Bytes(), []byte("\"'CR\"")) {
			t.Errorf("no neutralised CR cell in %q", buf.String())
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := func(rec []string, name string) string { return rec[slices.Index(csvHeader, name)] }
		for i, rec := range recs[1:] {
			s := hostile[len(hostile)-1-i] // newest first
			if s[0] == '\r' {
				continue
			}
			want := "'" + s
			if s == "ok" {
				want = s
			}
			if got := col(rec, "actor"); got != want {
				t.Errorf("actor cell %q, want %q", got, want)
			}
			if got := col(rec, "error_message"); got != want {
				t.Errorf("error_message cell %q, want %q", got, want)
			}
			if got := col(rec, "target"); got != "bad\uFFFD"+s {
				t.Errorf("target cell %q, want invalid bytes replaced", got)
			}
		}
	})
}

// TestVerifyAndExportWhileWriting: a snapshot taken while callers write is
// consistent with the checkpoint log: never "rows missing", never rows
// uncovered.
func TestVerifyAndExportWhileWriting(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		stop := make(chan struct{})
		done := make(chan struct{})
		for range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range 300 { // bounded: the checks below are O(rows)
					select {
					case <-stop:
						return
					default:
					}
					id, err := l.Start(ctx, Event{Operation: "service.update"})
					if err == nil {
						err = l.Finish(ctx, id, Outcome{})
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		defer func() {
			close(stop)
			for range 8 {
				<-done
			}
		}()
		for i := range 10 {
			rep := verify(t, l)
			if !rep.OK || rep.UncoveredRows != 0 {
				t.Fatalf("Verify %d while writing = %+v", i, rep)
			}
			var buf bytes.Buffer
			if err := l.ExportChain(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			cps, _ := os.ReadFile(l.opts.CheckpointPath)
			rep, err := VerifyExport(&buf, VerifyOptions{ChainKey: l.opts.ChainKey, PublicKey: l.pub, Checkpoints: bytes.NewReader(cps)})
			if err != nil || !rep.OK || rep.UncoveredRows != 0 {
				t.Fatalf("export %d while writing = %+v, %v", i, rep, err)
			}
		}
	})
}

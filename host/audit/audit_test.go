package audit

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/host/store"
	"github.com/wharfhq/wharf/pluginapi"
)

func openLog(t testing.TB, path string) (*Log, *sql.DB) {
	t.Helper()
	db, err := store.Open(dsnFor(t, path))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(db, testOptions(t, filepath.Dir(path)))
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return l, db
}

// testOptions keeps the keys and checkpoint log in dir.
func testOptions(t testing.TB, dir string) Options {
	t.Helper()
	o, err := LoadOrCreateOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newLog(t testing.TB) (*Log, *sql.DB) {
	return openLog(t, filepath.Join(t.TempDir(), "audit.db"))
}

func ids(es []Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestStartFinishQuery(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

		type op struct {
			ev  Event
			out *Outcome // nil: never finished
		}
		ops := []op{
			{Event{Time: t0, Actor: "alice", ClientAddr: "10.0.0.1:5000", RequestID: "r1", Connection: "local-swarm",
				Plugin: "docker", Operation: "create", Target: "web", Request: json.RawMessage(`{ "name": "web", "config": {"token": "********"} }`)},
				&Outcome{Target: "svc-123", Duration: 1500 * time.Microsecond}},
			{Event{Time: t0.Add(time.Minute), Actor: "bob", Connection: "prod-ecs", Plugin: "ecs", Operation: "delete", Target: "api"},
				&Outcome{Error: &pluginapi.Error{Code: pluginapi.CodeNotFound, Message: "service api not found", Field: "/id"}, Duration: time.Second}},
			{Event{Time: t0.Add(2 * time.Minute), Actor: "alice", Connection: "prod-ecs", Plugin: "ecs", Operation: "update", Target: "api"},
				nil},
			{Event{Time: t0.Add(3 * time.Minute), Actor: "carol", Connection: "local-swarm", Plugin: "docker", Operation: "invoke:restart", Target: "svc-123"},
				&Outcome{}},
		}
		var got []int64
		for _, o := range ops {
			id, err := l.Start(ctx, o.ev)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
			if o.out != nil {
				if err := l.Finish(ctx, id, *o.out); err != nil {
					t.Fatal(err)
				}
			}
		}

		all, err := l.Query(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{got[3], got[2], got[1], got[0]}; !slices.Equal(ids(all), want) {
			t.Fatalf("Query ids = %v, want %v (newest first)", ids(all), want)
		}

		// Every field comes back.
		e := all[3]
		if e.Time != t0 || e.Actor != "alice" || e.ClientAddr != "10.0.0.1:5000" || e.RequestID != "r1" ||
			e.Connection != "local-swarm" || e.Plugin != "docker" || e.Operation != "create" || e.Target != "web" ||
			e.Outcome != OutcomeOK || e.ResultTarget != "svc-123" || e.DurationMS != 1.5 || e.FinishedAt == nil ||
			e.ErrorCode != "" {
			t.Errorf("create entry = %+v", e)
		}
		if string(e.Request) != `{"name":"web","config":{"token":"********"}}` {
			t.Errorf("request = %s", e.Request)
		}
		e = all[2]
		if e.Outcome != OutcomeError || e.ErrorCode != "not_found" || e.ErrorMessage != "service api not found" ||
			e.ErrorField != "/id" || e.DurationMS != 1000 {
			t.Errorf("error entry = %+v", e)
		}
		e = all[1]
		if e.Outcome != OutcomeIncomplete || e.FinishedAt != nil || e.DurationMS != 0 {
			t.Errorf("incomplete entry = %+v", e)
		}
		// A zero Duration is measured from the start time (here: long ago).
		if e := all[0]; e.DurationMS < float64(time.Hour/time.Millisecond) {
			t.Errorf("computed duration = %v ms, want time since start", e.DurationMS)
		}

		for _, tc := range []struct {
			name string
			f    Filter
			want []int64
		}{
			{"actor", Filter{Actor: "alice"}, []int64{got[2], got[0]}},
			{"connection", Filter{Connection: "prod-ecs"}, []int64{got[2], got[1]}},
			{"operation", Filter{Operation: "delete"}, []int64{got[1]}},
			{"target of event", Filter{Target: "api"}, []int64{got[2], got[1]}},
			{"target of event or result", Filter{Target: "svc-123"}, []int64{got[3], got[0]}},
			{"outcome ok", Filter{Outcome: OutcomeOK}, []int64{got[3], got[0]}},
			{"outcome error", Filter{Outcome: OutcomeError}, []int64{got[1]}},
			{"outcome incomplete", Filter{Outcome: OutcomeIncomplete}, []int64{got[2]}},
			{"since inclusive", Filter{Since: t0.Add(2 * time.Minute)}, []int64{got[3], got[2]}},
			{"until exclusive", Filter{Until: t0.Add(2 * time.Minute)}, []int64{got[1], got[0]}},
			{"since and until", Filter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []int64{got[2], got[1]}},
			{"limit", Filter{Limit: 2}, []int64{got[3], got[2]}},
			{"before id", Filter{BeforeID: got[2]}, []int64{got[1], got[0]}},
			{"combined", Filter{Actor: "alice", Connection: "prod-ecs", Outcome: OutcomeIncomplete}, []int64{got[2]}},
			{"nothing", Filter{Actor: "mallory"}, []int64{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				es, err := l.Query(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(es), tc.want) {
					t.Errorf("ids = %v, want %v", ids(es), tc.want)
				}
			})
		}

		for _, tc := range []struct {
			f     Filter
			field string
		}{
			{Filter{Outcome: "maybe"}, "/outcome"},
			{Filter{Limit: -1}, "/limit"},
			{Filter{BeforeID: -1}, "/before_id"},
		} {
			_, err := l.Query(ctx, tc.f)
			if pe := pluginapi.AsError(err); pe == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
				t.Errorf("Query(%+v) error = %v, want invalid at %s", tc.f, err, tc.field)
			}
		}
	})
}

func TestStartAndFinishErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)

		for _, tc := range []struct {
			ev    Event
			field string
		}{
			{Event{}, "/operation"},
			{Event{Operation: "create", Request: json.RawMessage(`{"a":`)}, "/request"},
		} {
			_, err := l.Start(ctx, tc.ev)
			if pe := pluginapi.AsError(err); pe == nil || pe.Code != pluginapi.CodeInvalid || pe.Field != tc.field {
				t.Errorf("Start(%+v) error = %v, want invalid at %s", tc.ev, err, tc.field)
			}
		}

		id, err := l.Start(ctx, Event{Operation: "create"})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Finish(ctx, id, Outcome{}); err != nil {
			t.Fatal(err)
		}
		finishRowID := id + 1 // the finish row; not a start row
		for _, tc := range []struct {
			id   int64
			code pluginapi.Code
		}{
			{0, pluginapi.CodeNotFound},
			{12345, pluginapi.CodeNotFound},
			{finishRowID, pluginapi.CodeNotFound},
			{id, pluginapi.CodeConflict},
		} {
			if err := l.Finish(ctx, tc.id, Outcome{}); pluginapi.CodeOf(err) != tc.code {
				t.Errorf("Finish(%d) error = %v, want %s", tc.id, err, tc.code)
			}
		}
		// Rejected finishes wrote nothing and broke nothing.
		rep, err := l.Verify(ctx)
		if err != nil || !rep.OK || rep.Rows != 2 {
			t.Errorf("Verify = %+v, %v; want OK over 2 rows", rep, err)
		}

		ctxDone, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Start(ctxDone, Event{Operation: "create"}); !errors.Is(err, context.Canceled) {
			t.Errorf("Start with cancelled context: %v", err)
		}

		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Start(ctx, Event{Operation: "create"}); pluginapi.CodeOf(err) != pluginapi.CodeUnavailable {
			t.Errorf("Start after Close: %v, want unavailable", err)
		}
	})
}

func TestConcurrentWritesAllStoredAndChainVerifies(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, db := newLog(t)
		const callers, perCaller = 32, 25

		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perCaller; i++ {
					id, err := l.Start(ctx, Event{Actor: fmt.Sprintf("caller-%d", c), Operation: "update",
						Target: strconv.Itoa(i), Request: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)})
					if err != nil {
						errs <- err
						return
					}
					var o Outcome
					if i%5 == 0 {
						o.Error = pluginapi.Errorf(pluginapi.CodeConflict, "busy")
					}
					if err := l.Finish(ctx, id, o); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		// Count the rows themselves, not what the Log says about them.
		var starts, finishes, failed int
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE kind = 'start'), count(*) FILTER (WHERE kind = 'finish'),
			count(*) FILTER (WHERE error_code = 'conflict') FROM audit_log`).Scan(&starts, &finishes, &failed); err != nil {
			t.Fatal(err)
		}
		if starts != callers*perCaller || finishes != callers*perCaller || failed != callers*perCaller/5 {
			t.Fatalf("rows: %d starts, %d finishes, %d failed; want %d, %d, %d",
				starts, finishes, failed, callers*perCaller, callers*perCaller, callers*perCaller/5)
		}
		// Each caller's events are all there.
		for c := 0; c < callers; c++ {
			es, err := l.Query(ctx, Filter{Actor: fmt.Sprintf("caller-%d", c), Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != perCaller {
				t.Fatalf("caller-%d has %d entries, want %d", c, len(es), perCaller)
			}
			for _, e := range es {
				if e.Outcome == OutcomeIncomplete {
					t.Fatalf("entry %d incomplete after Finish returned", e.ID)
				}
			}
		}

		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Rows != 2*callers*perCaller {
			t.Fatalf("Verify after concurrent writes = %+v", rep)
		}

		// The triggers refuse changes...
		if _, err := db.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE id = 100`); err == nil ||
			!strings.Contains(err.Error(), "append-only") {
			t.Fatalf("UPDATE of an audit row: %v, want append-only refusal", err)
		}
		if _, err := db.Exec(`DELETE FROM audit_log WHERE id = 100`); err == nil {
			t.Fatal("DELETE of an audit row succeeded")
		}
		if isPostgres(t, db) {
			if _, err := db.Exec(`TRUNCATE audit_log`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("TRUNCATE of the audit log: %v, want append-only refusal", err)
			}
		}
		// ...but someone with the file can drop them: the chain still tells.
		dropTriggers(t, db)
		if _, err := db.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE id = 100`); err != nil {
			t.Fatal(err)
		}
		rep, err = l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.FirstBadID != 100 || rep.Rows != 100 || !strings.Contains(rep.Problem, "altered") {
			t.Fatalf("Verify after altering row 100 = %+v", rep)
		}
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		sql     string
		badID   int64
		problem string
		pg      string // the SQL on PostgreSQL, if it differs; "-" skips
	}{
		{"altered error", `UPDATE audit_log SET error_message = 'fine' WHERE id = 4`, 4, "altered", ""},
		{"altered request", `UPDATE audit_log SET request = '{}' WHERE id = 5`, 5, "altered", ""},
		{"altered time", `UPDATE audit_log SET time_ns = time_ns + 1 WHERE id = 3`, 3, "altered", ""},
		{"wrong type", `UPDATE audit_log SET time_ns = 'yesterday' WHERE id = 3`, 3, "cannot be read", "-"}, // BIGINT holds no text
		{"removed row", `DELETE FROM audit_log WHERE id = 4`, 5, "removed", ""},
		{"rehashed row", `UPDATE audit_log SET actor = 'x', hash = zeroblob(32) WHERE id = 2`, 2, "altered",
			`UPDATE audit_log SET actor = 'x', hash = decode(repeat('00', 32), 'hex') WHERE id = 2`},
		{"first row", `UPDATE audit_log SET prev_hash = x'01' WHERE id = 1`, 1, "link",
			`UPDATE audit_log SET prev_hash = '\x01'::bytea WHERE id = 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T) {
				q := tc.sql
				if onPostgres(t) && tc.pg != "" {
					if tc.pg == "-" {
						t.Skip("not on PostgreSQL")
					}
					q = tc.pg
				}
				l, db := newLog(t)
				for i := 0; i < 3; i++ {
					id, err := l.Start(ctx, Event{Actor: "a", Operation: "create", Request: json.RawMessage(`{"n":1}`)})
					if err != nil {
						t.Fatal(err)
					}
					if err := l.Finish(ctx, id, Outcome{Error: pluginapi.Errorf(pluginapi.CodeInternal, "boom")}); err != nil {
						t.Fatal(err)
					}
				}
				if rep, err := l.Verify(ctx); err != nil || !rep.OK || rep.Rows != 6 {
					t.Fatalf("Verify before tampering = %+v, %v", rep, err)
				}
				dropTriggers(t, db)
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
				rep, err := l.Verify(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK || rep.FirstBadID != tc.badID || !strings.Contains(rep.Problem, tc.problem) {
					t.Fatalf("Verify = %+v, want row %d with %q", rep, tc.badID, tc.problem)
				}
			})
		})
	}
}

func TestLimitsAndPaging(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		const n = MaxLimit + 5
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					if _, err := l.Start(ctx, Event{Operation: "create"}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()

		for _, tc := range []struct{ limit, want int }{{0, DefaultLimit}, {7, 7}, {MaxLimit + 1, MaxLimit}} {
			es, err := l.Query(ctx, Filter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != tc.want {
				t.Errorf("Limit %d: %d entries, want %d", tc.limit, len(es), tc.want)
			}
		}
		// Paging with BeforeID visits every entry exactly once, newest first.
		var seen []int64
		f := Filter{Limit: 300}
		for {
			es, err := l.Query(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			seen = append(seen, ids(es)...)
			f.BeforeID = es[len(es)-1].ID
		}
		if len(seen) != n {
			t.Fatalf("paging saw %d entries, want %d", len(seen), n)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] >= seen[i-1] {
				t.Fatalf("paging order broken at %d: %d after %d", i, seen[i], seen[i-1])
			}
		}
	})
}

// countingWriter counts Write calls, to see that Export writes as it reads.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestExport(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		l, _ := newLog(t)
		tricky := "line one\nline \"two\", with comma"
		for i := 0; i < 5; i++ {
			id, err := l.Start(ctx, Event{Actor: "alice", Connection: "c" + strconv.Itoa(i%2), Operation: "create",
				Target: "svc,\"" + strconv.Itoa(i) + "\"", Request: json.RawMessage(`{"html":"<b>&</b>"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if i != 4 {
				if err := l.Finish(ctx, id, Outcome{Error: &pluginapi.Error{Code: pluginapi.CodeInvalid, Message: tricky, Field: "/x"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		want, err := l.Query(ctx, Filter{Connection: "c0"})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 3 {
			t.Fatalf("setup: %d entries for c0", len(want))
		}

		t.Run("jsonl", func(t *testing.T) {
			var w countingWriter
			if err := l.Export(ctx, Filter{Connection: "c0"}, "jsonl", &w); err != nil {
				t.Fatal(err)
			}
			if w.writes != len(want) {
				t.Errorf("%d writes for %d entries: not streamed one by one", w.writes, len(want))
			}
			sc := bufio.NewScanner(&w.Buffer)
			var got []Entry
			for sc.Scan() {
				var e Entry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				got = append(got, e)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if !bytes.Equal(gj, wj) {
				t.Errorf("jsonl entries\n%s\nwant\n%s", gj, wj)
			}
		})

		t.Run("csv", func(t *testing.T) {
			var buf bytes.Buffer
			if err := l.Export(ctx, Filter{}, "csv", &buf); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "\r\n") {
				t.Error("CSV lines do not end in CRLF (RFC 4180)")
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(recs[0], csvHeader) || len(recs) != 6 {
				t.Fatalf("csv: header %v, %d records", recs[0], len(recs))
			}
			col := func(rec []string, name string) string { return rec[slices.Index(csvHeader, name)] }
			last := recs[len(recs)-1] // oldest entry
			if col(last, "error_message") != tricky || col(last, "target") != `svc,"0"` ||
				col(last, "outcome") != OutcomeError || col(last, "request") != `{"html":"<b>&</b>"}` {
				t.Errorf("csv oldest record = %q", last)
			}
			if first := recs[1]; col(first, "outcome") != OutcomeIncomplete || col(first, "finished_at") != "" {
				t.Errorf("csv newest record = %q", first)
			}
		})

		t.Run("limit and unknown format", func(t *testing.T) {
			var buf bytes.Buffer
			if err := l.Export(ctx, Filter{Limit: 2}, "jsonl", &buf); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(buf.String(), "\n"); n != 2 {
				t.Errorf("limit 2 exported %d lines", n)
			}
			err := l.Export(ctx, Filter{}, "xml", &buf)
			if pe := pluginapi.AsError(err); pe.Code != pluginapi.CodeInvalid || pe.Field != "/format" {
				t.Errorf("unknown format: %v", err)
			}
		})
	})
}

// TestCrashLeavesStartedRow kills a process between Start and Finish and
// checks the started row is there, reported as incomplete.
func TestCrashLeavesStartedRow(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		if path := os.Getenv("WHARF_AUDIT_CRASH_DB"); path != "" {
			// Child: start an operation, say its id, then wait to be killed.
			pgDatabases.Store(path, os.Getenv("WHARF_AUDIT_CRASH_DSN"))
			l, _ := openLog(t, path)
			id, err := l.Start(context.Background(), Event{Actor: "child", Operation: "delete", Target: "doomed"})
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println("started", id)
			time.Sleep(time.Minute)
			os.Exit(1)
		}

		path := filepath.Join(t.TempDir(), "crash.db")
		engine := "sqlite"
		if onPostgres(t) {
			engine = "postgres"
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLeavesStartedRow$/^"+engine+"$")
		cmd.Env = append(os.Environ(), "WHARF_AUDIT_CRASH_DB="+path, "WHARF_AUDIT_CRASH_DSN="+dsnFor(t, path))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		cmd.Process.Kill() // no Close, no Finish
		cmd.Wait()
		if err != nil || !strings.HasPrefix(line, "started ") {
			t.Fatalf("child said %q (%v)", line, err)
		}
		id, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "started ")), 10, 64)

		l, _ := openLog(t, path)
		es, err := l.Query(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].ID != id || es[0].Outcome != OutcomeIncomplete || es[0].Target != "doomed" {
			t.Fatalf("after crash: %+v, want entry %d incomplete", es, id)
		}
		// The log goes on: the operation can still be finished, and the chain holds.
		if err := l.Finish(context.Background(), id, Outcome{}); err != nil {
			t.Fatal(err)
		}
		if rep, err := l.Verify(context.Background()); err != nil || !rep.OK || rep.Rows != 2 {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	})
}

// TestCloseDrains closes the log while callers are writing: every Start
// that reported success is in the table, every other one was refused.
func TestCloseDrains(t *testing.T) {
	forEachEngine(t, func(t *testing.T) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "drain.db")
		db, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		l, err := New(db, testOptions(t, filepath.Dir(path)))
		if err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for c := 0; c < 16; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, err := l.Start(ctx, Event{Operation: "create"})
					switch {
					case err == nil:
						ok.Add(1)
					case pluginapi.CodeOf(err) == pluginapi.CodeUnavailable:
						refused.Add(1)
						return
					default:
						t.Error(err)
						return
					}
				}
			}()
		}
		for ok.Load() < 200 {
			time.Sleep(time.Millisecond)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		var n int64
		if err := db.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != ok.Load() || refused.Load() != 16 {
			t.Fatalf("%d rows, %d acknowledged starts, %d callers refused; want rows = acknowledged, 16 refused", n, ok.Load(), refused.Load())
		}
	})
}

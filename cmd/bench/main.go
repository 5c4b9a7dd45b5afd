// Command bench runs Wharf's performance suite on this machine and
// writes BENCHMARKS.md: every figure measured several times beside its
// reference in the same run, with the median, the spread, the target and
// whether it is met.
//
//	go run ./cmd/bench            # the whole suite, a few minutes
//	go run ./cmd/bench -quick     # a ~1 minute smoke run (CI)
//	go run ./cmd/bench -only 1,7  # some figures
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/benchfig"
)

//go:embed notes.md
var notes string

// plan sizes a run.
type plan struct {
	rounds      int           // repetitions of each figure
	calls       int           // calls per latency round (figure 1)
	gets        int           // calls per latency round (figure 2)
	window      time.Duration // throughput window per caller count (figure 3)
	auditWindow time.Duration // figure 7
	logViewers  int
	logWindow   time.Duration
	logRounds   int
	perConn     int // services per connection (figure 8)
	startRounds int
	replicaWin  time.Duration // throughput window per side (figure 10)
}

var (
	full  = plan{rounds: 5, calls: 3000, gets: 200, window: time.Second, auditWindow: 2 * time.Second, logViewers: 200, logWindow: 30 * time.Second, logRounds: 5, perConn: 2000, startRounds: 5, replicaWin: 2 * time.Second}
	quick = plan{rounds: 3, calls: 500, gets: 50, window: 300 * time.Millisecond, auditWindow: 500 * time.Millisecond, logViewers: 200, logWindow: 5 * time.Second, logRounds: 1, perConn: 200, startRounds: 1, replicaWin: 500 * time.Millisecond}
)

func main() {
	q := flag.Bool("quick", false, "a short smoke run (fewer rounds, shorter windows, 1,000 services in figure 8)")
	out := flag.String("out", "BENCHMARKS.md", "the report to write (- for stdout only)")
	only := flag.String("only", "", "comma-separated figure numbers to run (default all)")
	flag.Parse()
	p := full
	if *q {
		p = quick
	}
	want := map[int]bool{}
	for _, s := range strings.Split(*only, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			want[n] = true
		}
	}
	env, err := benchfig.NewEnv(slog.New(slog.DiscardHandler))
	if err != nil {
		fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	started := time.Now()
	r := &report{quick: *q, plan: p, loadStart: loadAverage()}
	for _, f := range figures {
		if len(want) > 0 && !want[f.n] {
			continue
		}
		fmt.Fprintf(os.Stderr, "figure %d: %s …\n", f.n, f.name)
		t := time.Now()
		rows, err := f.run(ctx, env, p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "figure %d failed: %v\n", f.n, err)
			rows = []row{{fig: strconv.Itoa(f.n), name: f.name, measured: "failed: " + oneLine(err), target: "", met: "no"}}
		}
		for _, rw := range rows {
			fmt.Fprintf(os.Stderr, "  %s %s: %s | ref %s | ratio %s | %s %s\n", rw.fig, rw.name, rw.measured, rw.ref, rw.ratio, rw.target, rw.met)
		}
		r.rows = append(r.rows, rows...)
		r.details = append(r.details, detailsOf(f.n)...)
		fmt.Fprintf(os.Stderr, "  (%.0f s)\n", time.Since(t).Seconds())
	}
	r.elapsed = time.Since(started)
	r.loadEnd = loadAverage()
	md := r.markdown()
	if *out == "-" {
		fmt.Print(md)
		return
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s in %.0f s\n", *out, r.elapsed.Seconds())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// report is what BENCHMARKS.md shows.
type report struct {
	quick   bool
	plan    plan
	rows    []row
	details []string
	elapsed time.Duration
	// loadStart and loadEnd are the 1-minute load average when the run
	// began and ended: the machine is shared, and a busy one moves every
	// absolute figure (fsync-bound ones most).
	loadStart, loadEnd string
}

// row is one line of the table.
type row struct {
	fig, name, measured, ref, ratio, target, met string
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

func gitCommit() string {
	b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(b))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (dirty: uncommitted changes in the working tree were measured)"
	}
	return c
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Wharf benchmarks\n\n")
	b.WriteString("Written by `go run ./cmd/bench` (the whole suite, a few minutes; `-quick` for a ~1 minute smoke run). ")
	b.WriteString("Every figure is measured several times, interleaved with its reference in the same run; the table shows the median and, in brackets, the range over the runs. ")
	b.WriteString("Inner figures (1, 2, 7, 8, 9) are also `go test -bench` benchmarks in `internal/benchfig` for benchstat.\n\n")
	mode := "full"
	if r.quick {
		mode = "quick (smoke: fewer rounds, shorter windows, smaller figure 8)"
	}
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s %s/%s; commit %s; %s; run: %s, %.0f s; load average (1 min) %s at the start, %s at the end.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, gitCommit(),
		time.Now().UTC().Format("2006-01-02 15:04 MST"), mode, r.elapsed.Seconds(), r.loadStart, r.loadEnd)
	b.WriteString("| # | figure | measured (median [min–max]) | reference measured beside it | ratio | target | met? |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, rw := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.fig, rw.name, rw.measured, rw.ref, rw.ratio, rw.target, rw.met)
	}
	if len(r.details) > 0 {
		b.WriteString("\n## Details of this run\n\n")
		for _, d := range r.details {
			b.WriteString(d)
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(notes)
	return b.String()
}

package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/benchfig"
)

type figure struct {
	n    int
	name string
	run  func(context.Context, *benchfig.Env, plan) ([]row, error)
}

var figures = []figure{
	{1, "one plugin call, small JSON, call timeout on", fig1},
	{2, "one get through ops.Host.GetService, emulator on loopback", fig2},
	{3, "get throughput through the REST API", fig3},
	{4, "start-up to first answered request, five plugins", fig4},
	{5, "memory (RSS) of the host", fig5},
	{6, "live logs: 2,000 lines/s to 200 websocket viewers", fig6},
	{7, "durable audit rows/s, 32 concurrent callers", fig7},
	{8, "first page of the cross-platform list, 10,000 services / 5 connections", fig8},
	{9, "durable audit rows/s on PostgreSQL (loopback), 32 concurrent callers", fig9},
	{10, "REST get throughput, two replicas on one PostgreSQL vs one", fig10},
	{11, "one get: Rust example plugin vs a Go build of the same provider", fig11},
}

var details = map[int][]string{}

func detail(n int, format string, args ...any) {
	details[n] = append(details[n], "- "+fmt.Sprintf(format, args...))
}

func detailsOf(n int) []string {
	if len(details[n]) == 0 {
		return nil
	}
	return append([]string{fmt.Sprintf("Figure %d:\n", n)}, append(details[n], "")...)
}

// spread formats a summary as "median unit [min–max]".
func spread(s benchfig.Summary, format, unit string) string {
	f := func(v float64) string { return fmt.Sprintf(format, v) }
	return fmt.Sprintf("%s %s [%s–%s]", f(s.Median), unit, f(s.Min), f(s.Max))
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func fig1(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	f, err := env.NewFig1(ctx)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var wharf, ext, native []float64
	for i := 0; i < p.rounds; i++ {
		for _, c := range []struct {
			into *[]float64
			f    func(context.Context) error
		}{{&wharf, f.Wharf}, {&ext, f.Extism}, {&native, benchfig.NativeJSON}} {
			m, err := benchfig.MedianLatency(ctx, p.calls, c.f)
			if err != nil {
				return nil, err
			}
			*c.into = append(*c.into, m)
		}
	}
	w, e, n := benchfig.Summarize(wharf), benchfig.Summarize(ext), benchfig.Summarize(native)
	detail(1, "%d rounds of %d calls each; per round the median call; runtime.Plugin.Call on internal/testplugins/good (op get echoes its %d-byte input), CallTimeout %s",
		p.rounds, p.calls, len(benchfig.SmallRequest), benchfig.CallTimeout)
	detail(1, "wharf %s, extism default %s, plain Go decode+encode %s", spread(w, "%.1f", "µs"), spread(e, "%.1f", "µs"), spread(n, "%.2f", "µs"))
	return []row{{fig: "1", name: "one plugin call (runtime.Plugin.Call), small JSON, timeout on",
		measured: spread(w, "%.1f", "µs"),
		ref:      fmt.Sprintf("plain Go JSON decode+encode %.2f µs; extism go-sdk default %.1f µs", n.Median, e.Median),
		ratio:    fmt.Sprintf("%.2f× extism, %.0f× plain Go", w.Median/e.Median, w.Median/n.Median),
		target:   "≤ 20 µs median", met: yes(w.Median <= 20)}}, nil
}

func fig2(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	g, err := env.NewGetEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	var opsL, natL, ratios []float64
	for i := 0; i < p.rounds; i++ {
		o, err := benchfig.MedianLatency(ctx, p.gets, g.OpsGet)
		if err != nil {
			return nil, err
		}
		n, err := benchfig.MedianLatency(ctx, p.gets, g.NativeGet)
		if err != nil {
			return nil, err
		}
		opsL, natL, ratios = append(opsL, o), append(natL, n), append(ratios, o/n)
	}
	o, n, rt := benchfig.Summarize(opsL), benchfig.Summarize(natL), benchfig.Summarize(ratios)
	detail(2, "%d rounds of %d gets; the plugin's HTTP exchange per get, replayed by the native client: `%s`", p.rounds, p.gets, strings.Join(g.Requests, "`, `"))
	detail(2, "ops %s, native %s", spread(o, "%.0f", "µs"), spread(n, "%.0f", "µs"))
	return []row{{fig: "2", name: "one get through ops.Host.GetService (docker plugin, Docker emulator on loopback)",
		measured: spread(o, "%.0f", "µs"), ref: fmt.Sprintf("native Go client, same %d requests + decode: %.0f µs", len(g.Requests), n.Median),
		ratio: spread(rt, "%.1f", "×"), target: "ratio ≤ 1.2", met: yes(rt.Median <= 1.2)}}, nil
}

func fig3(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	g, err := env.NewGetEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	var rows []row
	for _, c := range []int{1, 4, 16, 64} {
		var apiR, natR, ratios []float64
		var errs int64
		var firstErr error
		for i := 0; i < p.rounds; i++ {
			a := benchfig.RunConcurrent(ctx, c, p.window, g.APIGet)
			n := benchfig.RunConcurrent(ctx, c, p.window, g.NativeGet)
			errs += a.Errors + n.Errors
			if firstErr == nil {
				firstErr = a.FirstErr
			}
			if firstErr == nil {
				firstErr = n.FirstErr
			}
			apiR, natR = append(apiR, a.PerSecond), append(natR, n.PerSecond)
			if n.PerSecond > 0 {
				ratios = append(ratios, a.PerSecond/n.PerSecond)
			}
		}
		a, n, rt := benchfig.Summarize(apiR), benchfig.Summarize(natR), benchfig.Summarize(ratios)
		target, met := "—", "—"
		if c == 16 {
			target = "≥ 70 % of native; no errors"
			met = yes(rt.Median >= 0.7 && errs == 0)
		}
		if errs > 0 {
			detail(3, "%d callers: %d errors, first: %v", c, errs, firstErr)
		}
		rows = append(rows, row{fig: "3", name: fmt.Sprintf("get throughput via REST API, %d callers", c),
			measured: spread(a, "%.0f", "/s") + fmt.Sprintf(", %d errors", errs), ref: fmt.Sprintf("native client → emulator: %.0f /s", n.Median),
			ratio: fmt.Sprintf("%.1f %%", 100*rt.Median), target: target, met: met})
	}
	detail(3, "%d rounds of %s per caller count, REST API and native alternating; GET /api/v1/connections/bench-swarm/services/web-00000 on loopback, answer decoded", p.rounds, p.window)
	return rows, nil
}

func fig4(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	var cold, warm []float64
	for i := 0; i < p.startRounds; i++ {
		r, err := env.Startup(ctx)
		if err != nil {
			return nil, err
		}
		cold, warm = append(cold, r.Cold.Seconds()), append(warm, r.Warm.Seconds())
	}
	c, w := benchfig.Summarize(cold), benchfig.Summarize(warm)
	detail(4, "%d rounds; each a fresh data folder (cold: empty compilation cache) then a restart on it (warm); exec of the real `wharf serve` binary → first 200 on GET /api/v1/plugins listing the five plugins (polled every 2 ms)", p.startRounds)
	return []row{
		{fig: "4", name: "start-up to first answered request, warm cache", measured: spread(w, "%.2f", "s"), ref: "—", ratio: "—", target: "≤ 0.5 s", met: yes(w.Median <= 0.5)},
		{fig: "4", name: "start-up to first answered request, cold cache", measured: spread(c, "%.2f", "s"), ref: "—", ratio: "—", target: "≤ 3 s", met: yes(c.Median <= 3)},
	}, nil
}

func fig5(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	pool := 2 * runtime.GOMAXPROCS(0) // the runtime's default pool size; the child sees the same cores
	var idle, per []float64
	for i := 0; i < p.startRounds; i++ {
		r, err := env.Memory(ctx, pool)
		if err != nil {
			return nil, err
		}
		idle, per = append(idle, r.IdleMB), append(per, r.PerInstanceMB)
		detail(5, "round %d: idle %.1f MB, after one docker call %.1f MB, after filling the pool (%d instances) %.1f MB", i+1, r.IdleMB, r.OneMB, pool, r.PoolMB)
	}
	id, pe := benchfig.Summarize(idle), benchfig.Summarize(per)
	return []row{
		{fig: "5", name: "RSS of an idle host, five plugins loaded (real binary, warm cache)", measured: spread(id, "%.0f", "MB"), ref: "—", ratio: "—", target: "≤ 120 MB", met: yes(id.Median <= 120)},
		{fig: "5", name: "RSS per extra pooled instance (docker plugin)", measured: spread(pe, "%.1f", "MB"), ref: "—", ratio: "—", target: "—", met: "—"},
	}, nil
}

func fig6(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	var p99, p50, bp99, rss []float64
	var lines, skipped, unexplained int64
	viewersOK, pollMS := 200, 0
	for i := 0; i < p.logRounds; i++ {
		r, err := env.LiveLogs(ctx, benchfig.LiveLogsOptions{Viewers: p.logViewers, LinesPerSec: 2000, Duration: p.logWindow})
		if err != nil {
			return nil, err
		}
		p99, p50, bp99, rss = append(p99, r.P99), append(p50, r.P50), append(bp99, r.BatchP99), append(rss, r.MaxRSSMB)
		lines += r.Lines
		skipped += r.Skipped
		unexplained += r.Unexplained
		viewersOK = min(viewersOK, r.Viewers)
		pollMS = r.PollIntervalMS
		detail(6, "round %d: %d lines received (%.0f per viewer per s), %d skipped by marker, %d missing without marker, %d/%d viewers to the end; line latency p50 %.0f ms p99 %.0f ms; newest line of each message p50 %.0f ms p99 %.0f ms; host max RSS %.0f MB",
			i+1, r.Lines, float64(r.Lines)/float64(p.logViewers)/p.logWindow.Seconds(), r.Skipped, r.Unexplained, r.Viewers, p.logViewers, r.P50, r.P99, r.BatchP50, r.BatchP99, r.MaxRSSMB)
	}
	l99, l50, b99, m := benchfig.Summarize(p99), benchfig.Summarize(p50), benchfig.Summarize(bp99), benchfig.Summarize(rss)
	complete := unexplained == 0 && viewersOK == p.logViewers
	detail(6, "%d rounds of %s, %d viewers each; real binary, restarted on a data folder whose compilation cache it filled; the docker plugin declares a %d ms poll interval", p.logRounds, p.logWindow, p.logViewers, pollMS)
	return []row{
		{fig: "6", name: "live logs: p99 line latency (timestamp → viewer)", measured: spread(l99, "%.0f", "ms") + fmt.Sprintf(" (p50 %.0f ms; newest line of a message p99 %.0f ms)", l50.Median, b99.Median),
			ref: "—", ratio: "—", target: "p99 ≤ 250 ms; every line or a skip marker", met: yes(l99.Median <= 250 && complete) + fmt.Sprintf(" (complete: %s)", yes(complete))},
		{fig: "6", name: "live logs: host RSS", measured: spread(m, "%.0f", "MB"), ref: "—", ratio: "—", target: "≤ 300 MB", met: yes(m.Max <= 300)},
	}, nil
}

func fig7(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	var logR, refR []float64
	var lost int64
	for i := 0; i < p.rounds; i++ {
		a, err := env.AuditLog(ctx, p.auditWindow)
		if err != nil {
			return nil, err
		}
		r, err := env.PlainInserts(ctx, p.auditWindow)
		if err != nil {
			return nil, err
		}
		lost += a.Lost() + r.Lost()
		logR, refR = append(logR, a.RowsPerSecond), append(refR, r.RowsPerSecond)
		detail(7, "round %d: audit.Log %.0f rows/s (%.0f Start+Finish pairs/s), %d acknowledged, %d counted; autocommit %.0f rows/s", i+1, a.RowsPerSecond, a.OpsPerSecond, a.Written, a.Counted, r.RowsPerSecond)
	}
	l, r := benchfig.Summarize(logR), benchfig.Summarize(refR)
	return []row{{fig: "7", name: "durable audit events (rows)/s, 32 callers doing Start+Finish", measured: spread(l, "%.0f", "/s") + fmt.Sprintf(", %d lost", lost),
		ref: fmt.Sprintf("single-row autocommit inserts, same file settings: %.0f /s", r.Median), ratio: fmt.Sprintf("%.1f×", l.Median/r.Median),
		target: "≥ 20,000/s, none lost", met: yes(l.Median >= 20000 && lost == 0)}}, nil
}

func fig8(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	t := time.Now()
	l, err := env.NewListEnv(ctx, p.perConn)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	detail(8, "seeded %d services (%d per connection, five Docker emulators) in %.1f s", benchfig.ListConns*p.perConn, p.perConn, time.Since(t).Seconds())
	var cold, warm, api []float64
	for i := 0; i < p.rounds; i++ {
		l.Forget()
		s := time.Now()
		if err := l.OpsFirstPage(ctx); err != nil {
			return nil, err
		}
		cold = append(cold, time.Since(s).Seconds()*1000)
		s = time.Now()
		if err := l.OpsFirstPage(ctx); err != nil {
			return nil, err
		}
		warm = append(warm, time.Since(s).Seconds()*1000)
		s = time.Now()
		if err := l.APIFirstPage(ctx); err != nil {
			return nil, err
		}
		api = append(api, time.Since(s).Seconds()*1000)
	}
	c, w, a := benchfig.Summarize(cold), benchfig.Summarize(warm), benchfig.Summarize(api)
	name := fmt.Sprintf("first page of GET /api/v1/services, %d services / 5 connections", benchfig.ListConns*p.perConn)
	detail(8, "%d rounds: cold = nothing listed before (ops.ListAllServices), warm = again right after (ops), then through GET /api/v1/services", p.rounds)
	return []row{
		{fig: "8", name: name + ", cold (first load)", measured: spread(c, "%.0f", "ms"), ref: "—", ratio: "—", target: "≤ 200 ms median", met: yes(c.Median <= 200)},
		{fig: "8", name: name + ", warm (ops, reload)", measured: spread(w, "%.0f", "ms"), ref: "—", ratio: "—", target: "≤ 200 ms median", met: yes(w.Median <= 200)},
		{fig: "8", name: name + ", warm (REST API)", measured: spread(a, "%.0f", "ms"), ref: "—", ratio: "—", target: "≤ 200 ms median", met: yes(a.Median <= 200)},
	}, nil
}

func fig11(ctx context.Context, env *benchfig.Env, p plan) ([]row, error) {
	r, err := env.NewRustEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Per work ("ops runq", "call runqgo" …) the per-round medians, means and p99s.
	med, mean, p99 := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	var opsRatio, callRatio []float64
	for i := 0; i < p.rounds; i++ {
		m := map[string]float64{}
		for _, pl := range benchfig.RustPlugins {
			for _, w := range []struct {
				kind string
				n    int
				f    func(context.Context) error
			}{
				{"ops", p.gets, func(ctx context.Context) error { return r.OpsGet(ctx, pl) }},
				{"call", p.calls, func(ctx context.Context) error { return r.Call(ctx, pl) }},
			} {
				l, err := benchfig.MeasureLatency(ctx, w.n, w.f)
				if err != nil {
					return nil, err
				}
				k := w.kind + " " + pl
				m[k] = l.Median
				med[k], mean[k], p99[k] = append(med[k], l.Median), append(mean[k], l.Mean), append(p99[k], l.P99)
			}
		}
		opsRatio = append(opsRatio, m["ops runq"]/m["ops runqgo"])
		callRatio = append(callRatio, m["call runq"]/m["call runqgo"])
	}
	s := func(k string) benchfig.Summary { return benchfig.Summarize(med[k]) }
	avg := func(k string) float64 { return benchfig.Summarize(mean[k]).Median }
	size := func(name string) float64 {
		fi, err := os.Stat(r.Files[name])
		if err != nil {
			return 0
		}
		return float64(fi.Size()) / 1024
	}
	detail(11, "%d rounds; per round %d gets through ops.Host.GetService (each one GET /v1/jobs/{id} to the runq emulator on loopback) and %d runtime.Plugin.Call of get whose HTTP answer (runq's job, %d bytes) comes from memory, CallTimeout %s; the table shows the medians of the per-round medians",
		p.rounds, p.gets, p.calls, r.AnswerBytes(), benchfig.CallTimeout)
	detail(11, "Rust: plugins/examples/rust built by /usr/bin/rustc (opt-level=s, lto, stripped), %.0f KiB, its own JSON reader and writer; Go: internal/testplugins/runqgo on pluginapi/plugin and its REST client (encoding/json into a typed struct), %.0f KiB", size("runq"), size("runqgo"))
	for _, k := range []string{"ops runq", "ops runqgo", "call runq", "call runqgo"} {
		detail(11, "%s: median %s, mean %.1f µs, p99 %.0f µs", k, spread(s(k), "%.1f", "µs"), avg(k), benchfig.Summarize(p99[k]).Median)
	}
	detail(11, "first get on a fresh runtime without compilation cache (compile, instantiate, call): Rust %.0f ms, Go %.0f ms", ms(r.FirstCall["runq"]), ms(r.FirstCall["runqgo"]))
	or, cr := benchfig.Summarize(opsRatio), benchfig.Summarize(callRatio)
	return []row{
		{fig: "11", name: "one get through ops.Host.GetService (runq emulator on loopback), Rust example plugin",
			measured: spread(s("ops runq"), "%.0f", "µs") + fmt.Sprintf(" (mean %.0f µs)", avg("ops runq")),
			ref:      fmt.Sprintf("Go build of the same provider: %.0f µs (mean %.0f µs)", s("ops runqgo").Median, avg("ops runqgo")),
			ratio:    spread(or, "%.2f", "×"), target: "—", met: "—"},
		{fig: "11", name: "one runtime.Plugin.Call of get, platform answer from memory (the plugin's own cost), Rust example plugin",
			measured: spread(s("call runq"), "%.1f", "µs") + fmt.Sprintf(" (mean %.1f µs)", avg("call runq")),
			ref:      fmt.Sprintf("Go build of the same provider: %.1f µs (mean %.1f µs)", s("call runqgo").Median, avg("call runqgo")),
			ratio:    spread(cr, "%.2f", "×"), target: "—", met: "—"},
	}, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// Package benchfig measures Wharf's performance figures (BENCHMARKS.md): each
// figure is a function that sets up real parts — wasm plugins built from
// source, emulators on loopback, the host in-process or the real binary —
// runs the work and returns samples together with the reference work
// measured beside it in the same run. cmd/bench runs every figure several
// times and writes BENCHMARKS.md; bench_test.go offers the inner figures as
// `go test -bench` benchmarks for benchstat.
//
// Nothing here reaches into the host's internals: the host is measured
// through its public packages (runtime, ops, server, the REST API and the
// portal's websocket) exactly as an embedder or a browser uses it, so a
// re-run picks up whatever the runtime and the facade do today.
package benchfig

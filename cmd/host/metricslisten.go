package main

import (
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves h (the host's metrics and probes) on a listener of
// its own, without the API's checks: for a scraper or a prober on a
// private network, where handing out a scrape token is more trouble than
// the address is worth. It is off unless --metrics-listen is given.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

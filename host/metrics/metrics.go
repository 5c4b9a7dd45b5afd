// Package metrics is the host's Prometheus instrumentation: one Registry
// per host (never the process-wide default registry, so two hosts in one
// process keep apart), holding the Go runtime and process collectors and
// the host's own metrics.
//
// The parts of the host know nothing of Prometheus. Each declares the
// small interface or function it reports through (egress.Metrics,
// audit.CommitObserver, ops.CallMetrics …) and leaves it nil when nobody
// listens; a Registry implements them all, and its observation methods
// are safe on a nil *Registry. host/server wires them and serves Handler.
//
// Every label is bounded: routes are echo's route templates (never the raw
// URL), methods and outcomes come from fixed sets, plugins and operations
// from what is loaded, egress hosts from the connections' endpoints and
// approved hosts, capped at MaxEgressHosts distinct values; webhook
// subscriptions from the config file.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharfhq/wharf/pluginapi"
)

// MaxEgressHosts bounds the distinct host label values of the egress
// metrics; further hosts are counted as OtherHost.
const MaxEgressHosts = 64

// Label values standing for many.
const (
	// OtherHost is the egress host label of hosts beyond MaxEgressHosts.
	OtherHost = "other"
	// RefusedHost is the egress host label of requests refused before an
	// allowed destination was known.
	RefusedHost = "refused"
	// Unmatched is the route label of requests no route matched.
	Unmatched = "unmatched"
	// OutcomeOK is the outcome label of a call that succeeded; failures
	// are labelled with their error code.
	OutcomeOK = "ok"
)

// Buckets of the latency histograms, in seconds.
var (
	httpBuckets  = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	callBuckets  = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	auditBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}
)

// Registry holds one host's metrics. Its methods are safe for concurrent
// use, and the observation methods do nothing on a nil *Registry.
type Registry struct {
	reg *prometheus.Registry

	httpRequests   *prometheus.CounterVec   // method, route, status
	httpDuration   *prometheus.HistogramVec // method, route
	pluginCalls    *prometheus.CounterVec   // plugin, operation, outcome
	pluginDuration *prometheus.HistogramVec // plugin, operation
	egressRequests *prometheus.CounterVec   // host, status
	egressDuration *prometheus.HistogramVec // host
	auditCommit    prometheus.Histogram
	auditWrites    *prometheus.CounterVec // result
	webhooks       *prometheus.CounterVec // subscription, outcome

	egressHosts *labelCap
	state       *stateCollector
	plugins     *pluginChanges // plugins.go
}

// New returns a Registry with the Go runtime and process collectors and
// every host metric registered.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wharf_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request (to the end of the handler; streams count their whole life), by method and route template.",
			Buckets: httpBuckets,
		}, []string{"method", "route"}),
		pluginCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_plugin_calls_total",
			Help: "Plugin calls made for connections, by plugin, operation and outcome (ok or the error code).",
		}, []string{"plugin", "operation", "outcome"}),
		pluginDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wharf_plugin_call_duration_seconds",
			Help:    "Duration of plugin calls, waiting for an instance included, by plugin and operation.",
			Buckets: callBuckets,
		}, []string{"plugin", "operation"}),
		egressRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_egress_requests_total",
			Help: "HTTP requests plugins made through the host, by destination host and status (HTTP status code, or the error code of a request that got no answer).",
		}, []string{"host", "status"}),
		egressDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wharf_egress_request_duration_seconds",
			Help:    "Duration of plugins' HTTP requests through the host, by destination host.",
			Buckets: callBuckets,
		}, []string{"host"}),
		auditCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wharf_audit_commit_seconds",
			Help:    "Time from the start of an audit group commit to its callers' acknowledgement (transaction, fsync and signed checkpoint).",
			Buckets: auditBuckets,
		}),
		auditWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_audit_writes_total",
			Help: "Audit writes (starts, finishes, records) acknowledged, by result (ok or error).",
		}, []string{"result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_webhook_deliveries_total",
			Help: "Webhook deliveries by subscription and outcome: delivered, retry (an attempt failed, another follows), failed (given up) or dropped (a queue overflowed).",
		}, []string{"subscription", "outcome"}),
		egressHosts: newLabelCap(MaxEgressHosts, OtherHost),
		state:       newStateCollector(),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.httpRequests, r.httpDuration, r.pluginCalls, r.pluginDuration,
		r.egressRequests, r.egressDuration, r.auditCommit, r.auditWrites, r.webhooks, r.state,
	)
	r.registerPluginChanges()
	// The write counters exist from the start, so that rate() sees the
	// first write.
	r.auditWrites.WithLabelValues("ok")
	r.auditWrites.WithLabelValues("error")
	return r
}

// Gatherer is the underlying registry, for tests and embedders that
// serve it their own way.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it). At most two scrapes run at
// once; more are refused with 503, so that a flood of scrapes cannot pile
// up collection work.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
		EnableOpenMetrics:   true,
	})
}

// PluginCall records one plugin call of op made on plugin, which took
// took and ended with err (nil: ok). It implements ops.CallMetrics.
func (r *Registry) PluginCall(plugin, op string, err error, took time.Duration) {
	if r == nil {
		return
	}
	r.pluginCalls.WithLabelValues(plugin, op, outcome(err)).Inc()
	r.pluginDuration.WithLabelValues(plugin, op).Observe(took.Seconds())
}

// outcome is OutcomeOK or err's code; a code outside pluginapi.Codes (a
// plugin may answer anything) counts as internal.
func outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	return codeLabel(pluginapi.CodeOf(err))
}

// codeLabel is code, or internal for a code outside pluginapi.Codes.
func codeLabel(code pluginapi.Code) string {
	for _, c := range pluginapi.Codes {
		if c == code {
			return string(code)
		}
	}
	return string(pluginapi.CodeInternal)
}

// EgressRequest records one request a plugin made through the host to
// host (host:port, or "unix:<socket>"; "" when it was refused before a
// destination was allowed) with the answer's HTTP status, or the error
// code when there was no answer. It implements egress.Metrics.
func (r *Registry) EgressRequest(host string, status int, code pluginapi.Code, took time.Duration) {
	if r == nil {
		return
	}
	if host == "" {
		host = RefusedHost // a fixed value: it takes no place under the cap
	} else {
		host = r.egressHosts.value(host)
	}
	label := statusLabel(status)
	if code != "" {
		label = codeLabel(code)
	}
	r.egressRequests.WithLabelValues(host, label).Inc()
	r.egressDuration.WithLabelValues(host).Observe(took.Seconds())
}

// statusLabel is an HTTP status as a label, bounded to 100–599.
func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return "invalid"
	}
	return strconv.Itoa(status)
}

// AuditCommitted records one audit group commit of writes requests, of
// which failed were refused or failed, acknowledged took after the commit
// began. It implements audit.CommitObserver.
func (r *Registry) AuditCommitted(writes, failed int, took time.Duration) {
	if r == nil {
		return
	}
	r.auditCommit.Observe(took.Seconds())
	r.auditWrites.WithLabelValues("ok").Add(float64(writes - failed))
	r.auditWrites.WithLabelValues("error").Add(float64(failed))
}

// WebhookDelivery counts one delivery outcome of a webhook subscription
// (names come from the config file, so the label is bounded by it). It
// implements webhooks.Metrics.
func (r *Registry) WebhookDelivery(subscription, outcome string) {
	if r == nil {
		return
	}
	r.webhooks.WithLabelValues(subscription, outcome).Inc()
}

// labelCap hands out at most max distinct label values; later ones
// become other. A value once admitted stays admitted.
type labelCap struct {
	max   int
	other string
	mu    sync.Mutex
	seen  map[string]struct{}
}

func newLabelCap(max int, other string) *labelCap {
	return &labelCap{max: max, other: other, seen: map[string]struct{}{}}
}

func (c *labelCap) value(v string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= c.max {
		return c.other
	}
	c.seen[v] = struct{}{}
	return v
}

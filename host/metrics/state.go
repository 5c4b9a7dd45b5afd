package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is one plugin's instance pool at one moment.
type PoolStats struct {
	Plugin    string
	Size      int // the most live instances the pool may hold
	Instances int // live instances: idle, busy or starting
	Busy      int // calls holding an instance
	Waiting   int // calls waiting for one
}

// stateCollector reads gauges from the parts at scrape time, so nothing
// has to be updated on the hot paths and a gauge cannot drift from the
// truth. A part not watched (nil func) has no gauges.
type stateCollector struct {
	poolSize, poolInstances, poolBusy, poolWaiting *prometheus.Desc
	followers, viewers, auditQueue                 *prometheus.Desc
	failing                                        *prometheus.Desc

	mu         sync.Mutex
	pools      func() []PoolStats
	logs       func() (followers, viewers int)
	auditDepth func() int
	failingNow func() []Failing
}

// Failing is a connection whose plugin calls fail fast (its breaker is
// open: see host/breaker).
type Failing struct {
	Plugin, Connection string
}

// WatchFailing makes failing the source of the failing connections gauge.
// Only failing connections have a series (value 1), so the labels are
// bounded by the breakers a host keeps (breaker.MaxTracked).
func (r *Registry) WatchFailing(failing func() []Failing) {
	r.state.mu.Lock()
	r.state.failingNow = failing
	r.state.mu.Unlock()
}

func newStateCollector() *stateCollector {
	perPlugin := []string{"plugin"}
	return &stateCollector{
		poolSize:      prometheus.NewDesc("wharf_plugin_pool_size", "The most instances a plugin's pool may hold.", perPlugin, nil),
		poolInstances: prometheus.NewDesc("wharf_plugin_pool_instances", "Live instances of a plugin: idle, busy or starting.", perPlugin, nil),
		poolBusy:      prometheus.NewDesc("wharf_plugin_pool_busy", "Calls of a plugin holding an instance.", perPlugin, nil),
		poolWaiting:   prometheus.NewDesc("wharf_plugin_pool_waiting", "Calls of a plugin waiting for a free instance.", perPlugin, nil),
		followers:     prometheus.NewDesc("wharf_log_followers", "Upstream log followers polling a plugin, one per followed service.", nil, nil),
		viewers:       prometheus.NewDesc("wharf_log_viewers", "Subscribers of the log followers (portal viewers and API streams).", nil, nil),
		auditQueue:    prometheus.NewDesc("wharf_audit_queue_depth", "Audit writes queued for the next group commit.", nil, nil),
		failing: prometheus.NewDesc("wharf_plugin_connection_failing",
			"1 for each connection whose plugin calls fail fast after repeated traps or timeouts (failure policy); absent otherwise.",
			[]string{"plugin", "connection"}, nil),
	}
}

// WatchPools makes pools the source of the pool gauges.
func (r *Registry) WatchPools(pools func() []PoolStats) {
	r.state.mu.Lock()
	r.state.pools = pools
	r.state.mu.Unlock()
}

// WatchLogs makes logs the source of the log follower and viewer gauges.
func (r *Registry) WatchLogs(logs func() (followers, viewers int)) {
	r.state.mu.Lock()
	r.state.logs = logs
	r.state.mu.Unlock()
}

// WatchAuditQueue makes depth the source of the audit queue gauge.
func (r *Registry) WatchAuditQueue(depth func() int) {
	r.state.mu.Lock()
	r.state.auditDepth = depth
	r.state.mu.Unlock()
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.poolSize, c.poolInstances, c.poolBusy, c.poolWaiting, c.followers, c.viewers, c.auditQueue, c.failing} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pools, logs, depth, failing := c.pools, c.logs, c.auditDepth, c.failingNow
	c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	if pools != nil {
		for _, p := range pools() {
			gauge(c.poolSize, p.Size, p.Plugin)
			gauge(c.poolInstances, p.Instances, p.Plugin)
			gauge(c.poolBusy, p.Busy, p.Plugin)
			gauge(c.poolWaiting, p.Waiting, p.Plugin)
		}
	}
	if logs != nil {
		f, v := logs()
		gauge(c.followers, f)
		gauge(c.viewers, v)
	}
	if depth != nil {
		gauge(c.auditQueue, depth())
	}
	if failing != nil {
		for _, f := range failing() {
			gauge(c.failing, 1, f.Plugin, f.Connection)
		}
	}
}

package metrics

import "github.com/prometheus/client_golang/prometheus"

// MaxPluginLabels bounds the distinct plugin label values of the hot plug
// counters (plugin names come from files and uploads); further plugins are
// counted as OtherPlugin.
const MaxPluginLabels = 64

// OtherPlugin is the plugin label beyond MaxPluginLabels.
const OtherPlugin = "other"

// pluginChanges are hot plug's counters.
type pluginChanges struct {
	changes  *prometheus.CounterVec // plugin, change
	failures *prometheus.CounterVec // plugin
	trips    *prometheus.CounterVec // plugin
	names    *labelCap
}

func (r *Registry) registerPluginChanges() {
	r.plugins = &pluginChanges{
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_plugin_changes_total",
			Help: "Plugins installed, replaced or removed while the host ran (hot plug), by plugin and change.",
		}, []string{"plugin", "change"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_plugin_load_failures_total",
			Help: "Plugin files that failed to load or to replace the version serving, by plugin (the file's name when the plugin is not known).",
		}, []string{"plugin"}),
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wharf_plugin_breaker_trips_total",
			Help: "Connections whose plugin calls began to fail fast after repeated traps or timeouts (failure policy), by plugin.",
		}, []string{"plugin"}),
		names: newLabelCap(MaxPluginLabels, OtherPlugin),
	}
	r.reg.MustRegister(r.plugins.changes, r.plugins.failures, r.plugins.trips)
}

// BreakerTripped counts one connection's breaker that opened. It
// implements ops.BreakerMetrics.
func (r *Registry) BreakerTripped(plugin string) {
	if r == nil {
		return
	}
	r.plugins.trips.WithLabelValues(r.plugins.names.value(plugin)).Inc()
}

// PluginChanged counts one installed, replaced or removed plugin. It
// implements ops.PluginMetrics.
func (r *Registry) PluginChanged(plugin, change string) {
	if r == nil {
		return
	}
	r.plugins.changes.WithLabelValues(r.plugins.names.value(plugin), change).Inc()
}

// PluginLoadFailed counts one plugin file that did not load.
func (r *Registry) PluginLoadFailed(plugin string) {
	if r == nil {
		return
	}
	r.plugins.failures.WithLabelValues(r.plugins.names.value(plugin)).Inc()
}

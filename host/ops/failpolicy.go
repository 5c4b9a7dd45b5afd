package ops

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/breaker"
	"github.com/wharfhq/wharf/pluginapi"
)

// Failure policy (issue 14 §5): each connection has a circuit breaker
// (host/breaker). After a plugin's consecutive traps or timeouts on one
// connection its calls fail fast with a retryable unavailable error until
// the backoff window ends; then one probe call goes through. The policy is
// the plugin manifest's failure_policy where it sets a field, else the
// host's (Config.FailurePolicy: wharf serve's flags), else the built-in
// default: the manifest is the more specific, and it is the operator's
// file (written beside the .wasm by an owner). State is per host process;
// replicas each learn on their own.

// RetryAtDetail is the Error.Detail key of the time (RFC 3339) a failing
// connection's calls are tried again; RetryAfterDetail of the seconds
// until then (an int64, rounded up), which the REST API sends as
// Retry-After.
const (
	RetryAtDetail    = "retry_at"
	RetryAfterDetail = "retry_after_seconds"
)

// FailingDetail is the Error.Detail key of the Failing state of a call
// refused by an open breaker.
const FailingDetail = "failing"

// BreakerMetrics, if Config.Metrics also implements it, counts breakers
// that opened (trips).
type BreakerMetrics interface {
	BreakerTripped(plugin string)
}

// Failing is a connection whose plugin calls fail fast: its plugin
// trapped or timed out Failures times in a row.
type Failing struct {
	Since               time.Time `json:"since"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	// Reason is the last failure's kind: trap or timeout.
	Reason    string `json:"reason"`
	LastError string `json:"last_error"`
	// RetryAt is when one call is let through to test the plugin again.
	RetryAt time.Time `json:"retry_at"`
	// Probing says that test call is running now.
	Probing bool `json:"probing,omitempty"`
}

// FailurePolicyView is a plugin's effective failure policy.
type FailurePolicyView struct {
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Backoff             string `json:"backoff"`
	MaxBackoff          string `json:"max_backoff"`
}

// failureNames name Config.FailurePolicy's fields in New's errors.
var failureNames = [3]string{"FailurePolicy.Threshold", "FailurePolicy.Backoff", "FailurePolicy.MaxBackoff"}

// initBreakers checks the host's policy and makes the breakers.
func (h *Host) initBreakers() error {
	if err := h.cfg.FailurePolicy.Check(failureNames); err != nil {
		return fmt.Errorf("ops: %w", err)
	}
	h.defaultPolicy = h.cfg.FailurePolicy.WithDefaults(breaker.Default)
	if h.cfg.Now == nil {
		h.cfg.Now = time.Now
	}
	h.breakers = breaker.New(h.cfg.Now, h.breakerChanged)
	return nil
}

// policyOf is p's effective failure policy.
func (h *Host) policyOf(p *loadedPlugin) breaker.Policy {
	return p.rt.FailurePolicy().WithDefaults(h.defaultPolicy)
}

// breakerChanged logs, and counts, a breaker that opened or closed.
func (h *Host) breakerChanged(ev breaker.Event) {
	if !ev.Opened {
		h.log.Info("plugin connection recovered: calls go through again", "connection", ev.Connection, "plugin", ev.Plugin,
			"failing_since", ev.Since)
		return
	}
	h.log.Warn("plugin connection failing: its calls fail fast until the retry time", "connection", ev.Connection, "plugin", ev.Plugin,
		"consecutive_failures", ev.Failures, "reason", ev.Reason, "last_error", ev.LastError, "retry_at", ev.RetryAt, "backoff", ev.Backoff)
	if m, ok := h.cfg.Metrics.(BreakerMetrics); ok && ev.Trip {
		m.BreakerTripped(ev.Plugin)
	}
}

// callOutcome is what one plugin call told the breaker.
type callOutcome struct {
	o     breaker.Outcome
	fault string // runtime.FaultTrap or FaultTimeout, when o is Failed
}

// failingError is the fast failure, at now, of a call refused by an open
// breaker.
func failingError(st breaker.State, now time.Time) error {
	when := "until " + st.RetryAt.UTC().Format(time.RFC3339) + ", when one call will be let through to test it"
	if st.Probing {
		when = "while a call tests whether it works again"
	}
	return &pluginapi.Error{Code: pluginapi.CodeUnavailable, Retryable: true,
		Message: fmt.Sprintf("connection %s is failing: plugin %s failed %d times in a row (last: %s: %s); its calls fail fast %s",
			st.Connection, st.Plugin, st.Failures, st.Reason, st.LastError, when),
		Detail: map[string]any{PluginDetail: st.Plugin, RetryAtDetail: st.RetryAt.UTC().Format(time.RFC3339),
			RetryAfterDetail: int64(math.Ceil(st.RetryAt.Sub(now).Seconds())), FailingDetail: failingView(st)}}
}

func failingView(st breaker.State) *Failing {
	return &Failing{Since: st.Since.UTC(), ConsecutiveFailures: st.Failures, Reason: st.Reason, LastError: st.LastError,
		RetryAt: st.RetryAt.UTC(), Probing: st.Probing}
}

// failingOf is connection name's Failing state, if its breaker is open
// for plugin.
func (h *Host) failingOf(name, plugin string) *Failing {
	st, ok := h.breakers.Get(name)
	if !ok || st.Plugin != plugin {
		return nil
	}
	return failingView(st)
}

// FailingConnections lists the connections whose breakers are open (for
// the metrics gauge): no caller, as the metrics are the owners'.
func (h *Host) FailingConnections() []breaker.State { return h.breakers.Open() }

// shortError is a failure as the breaker keeps it: the first line of its
// message, at most 200 bytes.
func shortError(err error) string {
	msg, _, _ := strings.Cut(strings.TrimSpace(pluginapi.AsError(err).Message), "\n")
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	return msg
}

// view of a plugin's policy, for PluginInfo.
func policyView(p breaker.Policy) FailurePolicyView {
	return FailurePolicyView{ConsecutiveFailures: p.Threshold, Backoff: p.Backoff.String(), MaxBackoff: p.MaxBackoff.String()}
}

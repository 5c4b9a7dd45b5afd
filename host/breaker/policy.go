// Package breaker fences a failing plugin connection (issue 14 §5, as
// Envoy's wasm failure_policy): after Policy.Threshold consecutive traps or
// timeouts the connection's breaker opens and its calls fail fast for a
// backoff window; then one probe call is let through (half-open). A probe
// that succeeds closes the breaker; one that fails opens it again for
// twice the window, up to Policy.MaxBackoff.
//
// Only the plugin's own faults count (Failed): a trap, a crash, a call
// past its timeout. A successful call resets the count (Succeeded). A call
// the plugin answered with a structured error — usually its platform's
// not_found, conflict or outage — says nothing about the plugin's health
// either way, so it neither counts nor resets (Answered), except as a
// probe: the module then ran to completion, which is what the probe
// checks, and the breaker closes. A call that never reached the plugin
// (a full pool, the caller gone) changes nothing (NotRun).
//
// A Set holds one small state per connection that has failed at least
// once since its last success; it is dropped on success, on Forget (the
// connection is deleted) and on ForgetPlugin (a new version of the plugin
// is swapped in), and there are at most MaxTracked.
package breaker

import (
	"fmt"
	"time"
)

// Built-in defaults, used where neither the host nor the manifest says.
const (
	DefaultThreshold  = 5
	DefaultBackoff    = 30 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Bounds of a policy's values: a fence that never opens or never retries
// is no fence.
const (
	MaxThreshold  = 1000
	MinBackoff    = time.Second
	MaxBackoffCap = 24 * time.Hour
)

// Policy is when a connection's breaker opens and how long it stays open.
// A zero field is unset: WithDefaults fills it.
type Policy struct {
	// Threshold is the consecutive traps or timeouts that open the breaker.
	Threshold int
	// Backoff is the first window calls fail fast for; each failed probe
	// doubles it, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Default is the built-in policy.
var Default = Policy{Threshold: DefaultThreshold, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}

// WithDefaults fills p's unset fields from d. A MaxBackoff below the
// resulting Backoff is raised to it (a manifest's long first window over
// the host's shorter cap): the window never shrinks.
func (p Policy) WithDefaults(d Policy) Policy {
	if p.Threshold == 0 {
		p.Threshold = d.Threshold
	}
	if p.Backoff == 0 {
		p.Backoff = d.Backoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
	return p
}

// Check refuses values out of bounds, naming the field as the caller
// calls it: names are the names of Threshold, Backoff and MaxBackoff
// (a manifest's "failure_policy.backoff", a flag's "--plugin-failure-backoff").
// Zero fields are unset and pass.
func (p Policy) Check(names [3]string) error {
	switch {
	case p.Threshold < 0 || p.Threshold > MaxThreshold:
		return fmt.Errorf("%s: %d is not between 1 and %d", names[0], p.Threshold, MaxThreshold)
	case p.Backoff != 0 && (p.Backoff < MinBackoff || p.Backoff > MaxBackoffCap):
		return fmt.Errorf("%s: %s is not between %s and %s", names[1], p.Backoff, MinBackoff, MaxBackoffCap)
	case p.MaxBackoff != 0 && (p.MaxBackoff < MinBackoff || p.MaxBackoff > MaxBackoffCap):
		return fmt.Errorf("%s: %s is not between %s and %s", names[2], p.MaxBackoff, MinBackoff, MaxBackoffCap)
	case p.Backoff != 0 && p.MaxBackoff != 0 && p.MaxBackoff < p.Backoff:
		return fmt.Errorf("%s: %s is shorter than %s %s", names[2], p.MaxBackoff, names[1], p.Backoff)
	}
	return nil
}

package runtime

import (
	"errors"

	"github.com/wharfhq/wharf/pluginapi"
)

// The faults FaultOf reports: the plugin trapped (a panic, a crash, out
// of its memory limit, an instance that failed to start), or it ran past
// its own call timeout.
const (
	FaultTrap    = "trap"
	FaultTimeout = "timeout"
)

// faultError is a call's error that is the plugin's own fault.
type faultError struct {
	err   *pluginapi.Error
	fault string
}

func (e faultError) Error() string { return e.err.Error() }
func (e faultError) Unwrap() error { return e.err }

// FaultOf reports whether err, from Plugin.Call or CallFor, is the
// plugin's own fault, and which: FaultTrap, FaultTimeout or "". A caller's
// own deadline or cancellation, a full pool or the host's memory budget
// are not the plugin's fault, nor is an error the plugin answered.
func FaultOf(err error) string {
	var f faultError
	if errors.As(err, &f) {
		return f.fault
	}
	return ""
}

// withFault marks e as the plugin's fault, unless fault is "".
func withFault(e *pluginapi.Error, fault string) error {
	if fault == "" {
		return e
	}
	return faultError{err: e, fault: fault}
}

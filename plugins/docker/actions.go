package main

import (
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// actionsAvailable says which declared actions apply to svc as it is
// (ABI 1.5), in the order Describe declares them, following what
// Lifecycle does: start and stop only for a replicated service (start when
// it is scaled to 0, stop when it runs), scale only for a replicated one,
// restart for anything that runs tasks, rollback when the engine kept a
// previous spec (jobs have no rollback). Never nil: the engine's object
// always tells.
func actionsAvailable(svc swarm.Service) []string {
	out := make([]string, 0, 4)
	m := svc.Spec.Mode
	switch {
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		if *m.Replicated.Replicas == 0 {
			out = append(out, pluginapi.ActionStart, pluginapi.ActionScale)
		} else {
			out = append(out, pluginapi.ActionStop, pluginapi.ActionRestart, pluginapi.ActionScale)
		}
	default: // global, or a job: no replicas to count or to remember
		out = append(out, pluginapi.ActionRestart)
	}
	if svc.PreviousSpec != nil && m.ReplicatedJob == nil && m.GlobalJob == nil {
		out = append(out, pluginapi.ActionRollback)
	}
	return out
}

// visibleLabels are the service's labels without the plugin's own
// (wharf.previous-replicas): bookkeeping, not something users set. They
// stay in Raw, and an update keeps them (toServiceSpec).
func visibleLabels(labels map[string]string) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if strings.HasPrefix(k, labelPrefix) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(labels))
		}
		out[k] = v
	}
	return out
}

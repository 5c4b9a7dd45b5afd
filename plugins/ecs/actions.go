package main

import "github.com/wharfhq/wharf/pluginapi"

// actionsAvailable says which declared actions apply to s as it is (ABI
// 1.5), following Lifecycle: a REPLICA service offers stop while it has
// tasks to run and start once scaled to 0; a DAEMON service runs one task
// per instance, so it offers neither, nor scale. Rollback stays offered
// (Lifecycle answers conflict when no deployment is in progress: knowing
// that here would cost a call per service). A service being deleted
// offers nothing.
func actionsAvailable(s *ecsService) []string {
	if s.Status == "DRAINING" || s.Status == "INACTIVE" {
		return []string{}
	}
	if s.SchedulingStrategy == "DAEMON" {
		return []string{pluginapi.ActionRestart, pluginapi.ActionRollback}
	}
	if s.DesiredCount == 0 {
		return []string{pluginapi.ActionScale, pluginapi.ActionStart, pluginapi.ActionRollback}
	}
	return []string{pluginapi.ActionScale, pluginapi.ActionRestart, pluginapi.ActionStop, pluginapi.ActionRollback}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// toService normalizes an engine Service. counts comes from the service
// list with status=true (nil when unknown); tasks, when given, help tell a
// crash loop from a rollout still starting.
func (e *engine) toService(svc swarm.Service, raw json.RawMessage, counts *swarm.ServiceStatus, tasks []swarm.Task) pluginapi.Service {
	out := pluginapi.Service{
		ID:        svc.ID,
		Name:      svc.Spec.Name,
		Version:   strconv.FormatUint(svc.Version.Index, 10),
		Labels:    visibleLabels(svc.Spec.Labels),
		CreatedAt: pluginapi.Time(svc.CreatedAt),
		UpdatedAt: pluginapi.Time(svc.UpdatedAt),
		Raw:       raw,
		// ActionsAvailable: what Lifecycle would do something with now.
		ActionsAvailable: actionsAvailable(svc),
	}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		out.Image = cs.Image
	}
	spec := specFromSwarm(svc.Spec)
	out.Spec = appendSpec(make([]byte, 0, 512), &spec)
	for _, p := range svc.Endpoint.Ports {
		ep := pluginapi.Endpoint{Protocol: string(p.Protocol), Port: int(p.TargetPort), Public: int(p.PublishedPort)}
		if p.PublishedPort != 0 {
			ep.URL = string(p.Protocol) + "://" + e.publicHost() + ":" + strconv.FormatUint(uint64(p.PublishedPort), 10)
		}
		out.Endpoints = append(out.Endpoints, ep)
	}
	if us := svc.UpdateStatus; us != nil && us.State != "" {
		out.Rollout = &pluginapi.Rollout{State: string(us.State), Message: us.Message,
			Rollback: strings.HasPrefix(string(us.State), "rollback")}
		if us.StartedAt != nil {
			out.Rollout.StartedAt = pluginapi.Time(*us.StartedAt)
		}
		if us.CompletedAt != nil {
			out.Rollout.CompletedAt = pluginapi.Time(*us.CompletedAt)
		}
	}
	if counts == nil && tasks != nil {
		counts = countTasks(svc, tasks)
	}
	if counts != nil {
		out.Desired = pluginapi.Int(int(counts.DesiredTasks))
		out.Running = pluginapi.Int(int(counts.RunningTasks))
	}
	out.Status, out.NativeStatus, out.StatusMessage = serviceStatus(svc, counts, tasks)
	return out
}

// publicHost is where published ports are reached: the engine's host name,
// or localhost for a unix socket.
func (e *engine) publicHost() string {
	if e.pubHost == "" { // parsed once per call, not once per port
		e.pubHost = "localhost"
		if u, err := url.Parse(e.host); err == nil && u.Hostname() != "" && u.Scheme != "unix" {
			e.pubHost = u.Hostname()
		}
	}
	return e.pubHost
}

// countTasks computes ServiceStatus from tasks, for engines older than API 1.41.
func countTasks(svc swarm.Service, tasks []swarm.Task) *swarm.ServiceStatus {
	st := &swarm.ServiceStatus{}
	var desiredRunning uint64
	for _, t := range tasks {
		if t.ServiceID != svc.ID {
			continue
		}
		if t.DesiredState == swarm.TaskStateRunning {
			desiredRunning++
		}
		switch t.Status.State {
		case swarm.TaskStateRunning:
			st.RunningTasks++
		case swarm.TaskStateComplete:
			st.CompletedTasks++
		}
	}
	st.DesiredTasks = desiredRunning
	if m := svc.Spec.Mode.Replicated; m != nil && m.Replicas != nil {
		st.DesiredTasks = *m.Replicas
	}
	return st
}

// serviceStatus decides the normalized status, the native word and a message.
func serviceStatus(svc swarm.Service, counts *swarm.ServiceStatus, tasks []swarm.Task) (pluginapi.Status, string, string) {
	us := svc.UpdateStatus
	if us != nil {
		switch us.State {
		case swarm.UpdateStateUpdating, swarm.UpdateStateRollbackStarted:
			return pluginapi.StatusUpdating, string(us.State), us.Message
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused:
			return pluginapi.StatusFailed, string(us.State), us.Message
		}
	}
	if counts == nil {
		return pluginapi.StatusUnknown, "", "the engine did not report task counts"
	}
	running, desired := int(counts.RunningTasks), int(counts.DesiredTasks)
	native := "running " + strconv.Itoa(running) + "/" + strconv.Itoa(desired)
	m := svc.Spec.Mode
	switch {
	case m.ReplicatedJob != nil || m.GlobalJob != nil:
		native = fmt.Sprintf("job running %d, completed %d", running, counts.CompletedTasks)
		if failed, why := failingTasks(svc, tasks); failed {
			return pluginapi.StatusFailed, native, why
		}
		if desired == 0 && running == 0 && counts.CompletedTasks > 0 {
			return pluginapi.StatusStopped, native, "job completed"
		}
		if running > 0 || counts.CompletedTasks > 0 {
			return pluginapi.StatusRunning, native, "" // the job is under way
		}
		return pluginapi.StatusDeploying, native, ""
	case m.Replicated != nil && desired == 0:
		msg := "scaled to 0"
		if svc.Spec.Labels[labelPreviousReplicas] != "" {
			msg = "stopped (will start " + svc.Spec.Labels[labelPreviousReplicas] + " replicas)"
		}
		return pluginapi.StatusStopped, native, msg
	case desired == 0:
		return pluginapi.StatusPending, native, "no node matches the service's placement"
	case running >= desired:
		return pluginapi.StatusRunning, native, healthSummary(svc, running, desired, tasks)
	}
	progress := fmt.Sprintf("%d of %d tasks running", running, desired)
	if h := healthSummary(svc, running, desired, tasks); h != "" {
		progress = h
	}
	if failed, why := failingTasks(svc, tasks); failed {
		return pluginapi.StatusFailed, native, progress + "; " + why
	}
	if us == nil {
		return pluginapi.StatusDeploying, native, progress
	}
	return pluginapi.StatusUpdating, native, progress
}

// healthSummary says how many tasks passed their health check, for a
// service whose spec has one: the engine reports a task running only once
// its check passed (until then it is starting), and stops a task that
// fails it. "" when the spec has no check.
func healthSummary(svc swarm.Service, running, desired int, tasks []swarm.Task) string {
	cs := svc.Spec.TaskTemplate.ContainerSpec
	if cs == nil || cs.Healthcheck == nil || len(cs.Healthcheck.Test) == 1 && cs.Healthcheck.Test[0] == "NONE" {
		return ""
	}
	msg := fmt.Sprintf("%d of %d tasks healthy", running, desired)
	waiting := 0
	for _, t := range tasks {
		if t.ServiceID == svc.ID && t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateStarting {
			waiting++
		}
	}
	switch {
	case waiting == 1:
		msg += ", 1 waiting for its health check to pass"
	case waiting > 1:
		msg += fmt.Sprintf(", %d waiting for their health check to pass", waiting)
	}
	return msg
}

// failingTasks reports a crash loop: a slot whose newest task is not
// running while a task of that slot failed since the service last changed.
func failingTasks(svc swarm.Service, tasks []swarm.Task) (bool, string) {
	type slotState struct {
		newest     swarm.Task
		lastFailed *swarm.Task
	}
	slots := map[string]*slotState{}
	for i := range tasks {
		t := tasks[i]
		if t.ServiceID != svc.ID {
			continue
		}
		key := strconv.Itoa(t.Slot)
		if t.Slot == 0 {
			key = t.NodeID
		}
		st := slots[key]
		if st == nil {
			st = &slotState{newest: t}
			slots[key] = st
		}
		if t.CreatedAt.After(st.newest.CreatedAt) {
			st.newest = t
		}
		if (t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected) && !t.Status.Timestamp.Before(svc.UpdatedAt) {
			if st.lastFailed == nil || t.Status.Timestamp.After(st.lastFailed.Status.Timestamp) {
				st.lastFailed = &tasks[i]
			}
		}
	}
	keys := make([]string, 0, len(slots))
	for k := range slots {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st := slots[k]
		if st.lastFailed != nil && st.newest.Status.State != swarm.TaskStateRunning && st.newest.Status.State != swarm.TaskStateComplete {
			why := st.lastFailed.Status.Err
			if why == "" {
				why = st.lastFailed.Status.Message
			}
			if strings.Contains(why, "unhealthy container") {
				return true, fmt.Sprintf("task %s is unhealthy: it failed its health check and was stopped (%s)", st.lastFailed.ID, why)
			}
			return true, fmt.Sprintf("task %s %s: %s", st.lastFailed.ID, st.lastFailed.Status.State, why)
		}
	}
	return false, ""
}

// toInstance normalizes a task.
func toInstance(serviceName string, t swarm.Task, raw json.RawMessage) pluginapi.Instance {
	name := serviceName + "." + strconv.Itoa(t.Slot)
	if t.Slot == 0 {
		name = serviceName + "." + t.NodeID
	}
	in := pluginapi.Instance{
		ID: t.ID, Name: name, NativeStatus: string(t.Status.State), DesiredState: string(t.DesiredState),
		Message: t.Status.Message, Node: t.NodeID, Slot: t.Slot,
		CreatedAt: pluginapi.Time(t.CreatedAt), UpdatedAt: pluginapi.Time(t.UpdatedAt), Raw: raw,
	}
	if t.Status.Err != "" {
		in.Message = t.Status.Err
	}
	if cs := t.Spec.ContainerSpec; cs != nil {
		in.Image = cs.Image
	}
	switch t.Status.State {
	case swarm.TaskStateRunning:
		in.Status = pluginapi.StatusRunning
	case swarm.TaskStateComplete, swarm.TaskStateShutdown:
		in.Status = pluginapi.StatusStopped
	case swarm.TaskStateFailed, swarm.TaskStateRejected:
		in.Status = pluginapi.StatusFailed
	case swarm.TaskStateRemove:
		in.Status = pluginapi.StatusDeleting
	case swarm.TaskStateNew, swarm.TaskStateAllocated, swarm.TaskStatePending, swarm.TaskStateAssigned,
		swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateReady, swarm.TaskStateStarting:
		in.Status = pluginapi.StatusPending
		if t.DesiredState == swarm.TaskStateShutdown {
			in.Status = pluginapi.StatusStopped
		}
	default:
		in.Status = pluginapi.StatusUnknown
	}
	return in
}

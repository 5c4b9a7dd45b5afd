package dockeremu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// task is the emulator's record of one task. Its state is a function of
// time: see view.
type task struct {
	id        string
	serviceID string
	slot      int
	createdAt time.Time
	stopAt    *time.Time // when the orchestrator asked it to shut down
	spec      swarm.TaskSpec
	job       bool
	crash     bool
	unhealthy bool // crashes because its health check fails
	version   uint64
}

// taskHistory is swarm's default TaskHistoryRetentionLimit: old tasks kept per slot.
const taskHistory = 5

// progression is the path of a healthy task from creation to running.
var progression = []swarm.TaskState{swarm.TaskStateNew, swarm.TaskStatePending, swarm.TaskStateAssigned,
	swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateStarting, swarm.TaskStateRunning}

var stateMessages = map[swarm.TaskState]string{
	swarm.TaskStateNew: "created", swarm.TaskStatePending: "pending task scheduling",
	swarm.TaskStateAssigned: "scheduler assigned task to node", swarm.TaskStateAccepted: "accepted",
	swarm.TaskStatePreparing: "preparing", swarm.TaskStateStarting: "starting", swarm.TaskStateRunning: "started",
	swarm.TaskStateComplete: "finished", swarm.TaskStateShutdown: "shutdown", swarm.TaskStateFailed: "started",
}

// runAt is when the task reaches running (or fails, for a crashing image).
func (t *task) runAt(s *Server) time.Time { return t.createdAt.Add(s.opts.StartDelay) }

// endAt is when the task stops producing output: shutdown, completion or failure.
func (t *task) endAt(s *Server) (time.Time, bool) {
	var end time.Time
	set := false
	if t.stopAt != nil {
		end, set = *t.stopAt, true
	}
	var own time.Time
	switch {
	case t.crash:
		own = t.runAt(s)
	case t.job:
		own = t.runAt(s).Add(s.opts.JobDuration)
	default:
		return end, set
	}
	if !set || own.Before(end) {
		return own, true
	}
	return end, true
}

// view renders the task at time now.
func (t *task) view(s *Server, now time.Time) swarm.Task {
	state, at := swarm.TaskStateNew, t.createdAt
	step := s.opts.StartDelay / time.Duration(len(progression)-1)
	for i, st := range progression {
		ts := t.createdAt.Add(time.Duration(i) * step)
		if i == len(progression)-1 {
			ts = t.runAt(s)
		}
		if now.Before(ts) {
			break
		}
		state, at = st, ts
	}
	desired := swarm.TaskStateRunning
	if t.job {
		desired = swarm.TaskStateComplete
	}
	errMsg := ""
	failed := false
	if t.crash && !now.Before(t.runAt(s)) && (t.stopAt == nil || t.stopAt.After(t.runAt(s))) {
		state, at, errMsg, failed = swarm.TaskStateFailed, t.runAt(s), "task: non-zero exit (1)", true
		if t.unhealthy {
			errMsg = "task: non-zero exit (137): dockerexec: unhealthy container"
		}
		desired = swarm.TaskStateShutdown
	}
	if t.job && !failed {
		if done := t.runAt(s).Add(s.opts.JobDuration); !now.Before(done) && (t.stopAt == nil || t.stopAt.After(done)) {
			state, at = swarm.TaskStateComplete, done
		}
	}
	if t.stopAt != nil && !now.Before(*t.stopAt) {
		desired = swarm.TaskStateShutdown
		if !failed && state != swarm.TaskStateComplete {
			state, at = swarm.TaskStateShutdown, *t.stopAt
		}
	}
	v := swarm.Task{
		ID:           t.id,
		Meta:         swarm.Meta{Version: swarm.Version{Index: t.version}, CreatedAt: t.createdAt, UpdatedAt: at},
		Annotations:  swarm.Annotations{Labels: map[string]string{}},
		Spec:         t.spec,
		ServiceID:    t.serviceID,
		Slot:         t.slot,
		NodeID:       nodeID,
		DesiredState: desired,
		Status:       swarm.TaskStatus{Timestamp: at, State: state, Message: stateMessages[state], Err: errMsg},
	}
	if state == swarm.TaskStateRunning || state == swarm.TaskStateComplete || state == swarm.TaskStateShutdown || failed {
		sum := sha256.Sum256([]byte(t.id))
		cs := &swarm.ContainerStatus{ContainerID: hex.EncodeToString(sum[:])}
		if state == swarm.TaskStateRunning {
			cs.PID = 1000 + int(sum[0])
		}
		if failed {
			cs.ExitCode = 1
		}
		v.Status.ContainerStatus = cs
	}
	return v
}

// name is the task name docker shows: service.slot.id (service.node.id for global).
func (t *task) name(s *Server) string {
	svcName := ""
	if svc, ok := s.services[t.serviceID]; ok {
		svcName = svc.spec.Name
	}
	if t.slot == 0 {
		return svcName + "." + nodeID + "." + t.id
	}
	return svcName + "." + strconv.Itoa(t.slot) + "." + t.id
}

func isCrashImage(image string) bool { return imageTag(image) == "crash" }

// imageTag is the tag of an image reference ("" when it has none).
func imageTag(image string) string {
	ref := image
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i >= 0 && !strings.Contains(ref[i:], "/") {
		return ref[i+1:]
	}
	return ""
}

// failsHealthCheck: the tasks of an image tagged ":unhealthy" fail their
// health check, when the spec has one that is not disabled.
func failsHealthCheck(cs *swarm.ContainerSpec) bool {
	h := cs.Healthcheck
	return imageTag(cs.Image) == "unhealthy" && h != nil && !(len(h.Test) == 1 && h.Test[0] == "NONE")
}

// live reports whether the orchestrator still counts t for its slot.
func (t *task) live(s *Server, now time.Time) bool {
	if t.stopAt != nil {
		return false
	}
	v := t.view(s, now)
	return v.DesiredState != swarm.TaskStateShutdown
}

// reconcile makes the tasks of svc match its spec at time now: all tasks
// are replaced when the task template changed, and slots are added or
// removed to match the replica count.
func (s *Server) reconcile(svc *service, now time.Time, replace bool) {
	tasks := s.serviceTasks(svc.id)
	if replace {
		for _, t := range tasks {
			if t.stopAt == nil {
				t.stopAt = timePtr(now)
			}
		}
		svc.updateTasks = nil
	}
	liveSlots := map[int]*task{}
	for _, t := range tasks {
		if t.stopAt == nil && (t.job || t.live(s, now)) {
			liveSlots[t.slot] = t
		}
	}
	var want []int
	m := svc.spec.Mode
	switch {
	case m.Replicated != nil:
		for i := 1; i <= int(*m.Replicated.Replicas); i++ {
			want = append(want, i)
		}
	case m.ReplicatedJob != nil:
		// The first wave; advanceJob starts the next ones as tasks complete.
		for i := 1; i <= int(min(*m.ReplicatedJob.TotalCompletions, *m.ReplicatedJob.MaxConcurrent)); i++ {
			want = append(want, i)
		}
	default: // global and global-job: one task on our one node
		want = []int{0}
	}
	wanted := map[int]bool{}
	for _, slot := range want {
		wanted[slot] = true
		if _, ok := liveSlots[slot]; ok {
			continue
		}
		if (m.ReplicatedJob != nil || m.GlobalJob != nil) && !replace && s.slotHasHistory(svc.id, slot) {
			continue // a job runs each slot once per iteration
		}
		t := s.newTask(svc, slot, now)
		if replace {
			svc.updateTasks = append(svc.updateTasks, t.id)
		}
	}
	if m.ReplicatedJob != nil {
		for slot := range liveSlots {
			wanted[slot] = true // later waves of the job
		}
	}
	for slot, t := range liveSlots {
		if !wanted[slot] {
			t.stopAt = timePtr(now)
		}
	}
	s.prune(svc.id)
}

func (s *Server) newTask(svc *service, slot int, at time.Time) *task {
	m := svc.spec.Mode
	t := &task{id: newID(), serviceID: svc.id, slot: slot, createdAt: at, spec: svc.spec.TaskTemplate,
		job: m.ReplicatedJob != nil || m.GlobalJob != nil, crash: isCrashImage(svc.spec.TaskTemplate.ContainerSpec.Image)}
	if failsHealthCheck(svc.spec.TaskTemplate.ContainerSpec) {
		t.crash, t.unhealthy = true, true
	}
	s.index++
	t.version = s.index
	s.tasks[t.id] = t
	s.taskSeq = append(s.taskSeq, t.id)
	return t
}

// advanceJob starts the next tasks of a replicated job as earlier ones
// complete, never more than MaxConcurrent at a time.
func (s *Server) advanceJob(svc *service, now time.Time) {
	job := svc.spec.Mode.ReplicatedJob
	if job == nil {
		return
	}
	total, maxc := int(*job.TotalCompletions), int(max(1, *job.MaxConcurrent))
	for {
		var ends []time.Time
		for _, t := range s.serviceTasks(svc.id) {
			if t.stopAt == nil {
				end, _ := t.endAt(s)
				ends = append(ends, end)
			}
		}
		n := len(ends)
		if n >= total || n < maxc {
			return
		}
		sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
		start := ends[n-maxc] // when enough tasks have finished to free a place
		if start.After(now) {
			return
		}
		s.newTask(svc, n+1, start)
	}
}

func (s *Server) slotHasHistory(serviceID string, slot int) bool {
	for _, t := range s.serviceTasks(serviceID) {
		if t.slot == slot {
			return true
		}
	}
	return false
}

// prune keeps at most taskHistory stopped tasks per slot, oldest removed first.
func (s *Server) prune(serviceID string) {
	perSlot := map[int]int{}
	tasks := s.serviceTasks(serviceID)
	drop := map[string]bool{}
	for i := len(tasks) - 1; i >= 0; i-- {
		t := tasks[i]
		perSlot[t.slot]++
		if perSlot[t.slot] > taskHistory && t.stopAt != nil {
			drop[t.id] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	kept := s.taskSeq[:0]
	for _, id := range s.taskSeq {
		if drop[id] {
			delete(s.tasks, id)
			continue
		}
		kept = append(kept, id)
	}
	s.taskSeq = kept
}

// advance materializes what happened up to now: rollouts complete, pause
// or roll back once their tasks have started or failed.
func (s *Server) advance(now time.Time) {
	for _, id := range s.order {
		svc := s.services[id]
		s.advanceJob(svc, now)
		st := svc.status
		if st == nil || (st.State != swarm.UpdateStateUpdating && st.State != swarm.UpdateStateRollbackStarted) {
			continue
		}
		done := st.StartedAt.Add(s.opts.StartDelay)
		if now.Before(done) {
			continue
		}
		failedTask := ""
		for _, tid := range svc.updateTasks {
			if t, ok := s.tasks[tid]; ok && t.crash {
				failedTask = tid
				break
			}
		}
		rollingBack := st.State == swarm.UpdateStateRollbackStarted
		cfg := svc.spec.UpdateConfig
		if rollingBack {
			cfg = svc.spec.RollbackConfig
		}
		action := swarm.UpdateFailureActionPause
		if cfg != nil && cfg.FailureAction != "" {
			action = cfg.FailureAction
		}
		s.index++
		svc.version = s.index
		svc.updatedAt = done
		switch {
		case failedTask != "" && action == swarm.UpdateFailureActionRollback && !rollingBack && svc.previous != nil:
			s.rollback(svc, done, fmt.Sprintf("update rolled back due to failure or early termination of task %s", failedTask))
		case failedTask != "" && action != swarm.UpdateFailureActionContinue:
			state := swarm.UpdateStatePaused
			msg := "update paused due to failure or early termination of task " + failedTask
			if rollingBack {
				state = swarm.UpdateStateRollbackPaused
				msg = "rollback paused due to failure or early termination of task " + failedTask
			}
			svc.status = &swarm.UpdateStatus{State: state, StartedAt: st.StartedAt, Message: msg}
		default:
			state, msg := swarm.UpdateStateCompleted, "update completed"
			if rollingBack {
				state, msg = swarm.UpdateStateRollbackCompleted, "rollback completed"
			}
			svc.status = &swarm.UpdateStatus{State: state, StartedAt: st.StartedAt, CompletedAt: timePtr(done), Message: msg}
		}
	}
}

var desiredStates = map[string]bool{"running": true, "shutdown": true, "accepted": true}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, _ []string) {
	args, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := args.Validate(map[string]bool{"id": true, "name": true, "service": true, "node": true, "label": true, "desired-state": true, "_up-to-date": true}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, ds := range args.Get("desired-state") {
		if !desiredStates[ds] {
			// The real engine answers this one with a 500.
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("Invalid desired-state filter: '%s'", ds))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	services := map[string]bool{}
	for _, ref := range args.Get("service") {
		svc, err := s.lookup(ref)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		services[svc.id] = true
	}
	out := []swarm.Task{}
	for _, id := range s.taskSeq {
		t := s.tasks[id]
		if len(services) > 0 && !services[t.serviceID] {
			continue
		}
		v := t.view(s, now)
		if !matchPrefix(args, "id", t.id) || !matchPrefix(args, "name", t.name(s)) ||
			!args.MatchKVList("label", v.Labels) || !matchExact(args, "desired-state", string(v.DesiredState)) {
			continue
		}
		if nodes := args.Get("node"); len(nodes) > 0 && !contains(nodes, nodeID) && !contains(nodes, nodeHostname) {
			continue
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) inspectTask(w http.ResponseWriter, _ *http.Request, m []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	t, err := s.lookupTask(m[1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t.view(s, now))
}

// lookupTask finds a task by ID or unique ID prefix.
func (s *Server) lookupTask(ref string) (*task, error) {
	if t, ok := s.tasks[ref]; ok {
		return t, nil
	}
	var found []*task
	for _, id := range s.taskSeq {
		if strings.HasPrefix(id, ref) {
			found = append(found, s.tasks[id])
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("task %s is ambiguous (%d matches found)", ref, len(found))}
	}
	return nil, &apiError{http.StatusNotFound, fmt.Sprintf("task %s not found", ref)}
}

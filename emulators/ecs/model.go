package ecsemu

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

func base64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unbase64url(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// service is one ECS service. Its counts and states are derived from the
// schedules of its tasks and pending transitions (see settle).
type service struct {
	arn, name, cluster   string
	status               string // ACTIVE, DRAINING, INACTIVE
	desired              int
	launchType           string
	schedulingStrategy   string
	taskDef              string // ARN of the primary deployment's task definition
	netConf              *networkConfiguration
	loadBalancers        []loadBalancer
	deployConf           deploymentConfiguration
	tags                 []tag
	enableExecuteCommand bool
	settings             serviceSettings
	createdAt            time.Time
	deployments          []*deployment // newest first; INACTIVE ones removed
	serviceDeployments   []*serviceDeployment
	events               []serviceEvent // newest first
	tasks                []*task
	pending              []timed
}

// timed is a state change due at a time; settle runs it with that time, so
// the result is the same whenever it is observed.
type timed struct {
	at time.Time
	fn func(at time.Time)
}

func (svc *service) schedule(at time.Time, fn func(at time.Time)) {
	svc.pending = append(svc.pending, timed{at, fn})
}

// settle runs every due transition in time order.
func (svc *service) settle(now time.Time) {
	for {
		best := -1
		for i, p := range svc.pending {
			if !p.at.After(now) && (best < 0 || p.at.Before(svc.pending[best].at)) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		p := svc.pending[best]
		svc.pending = append(svc.pending[:best], svc.pending[best+1:]...)
		p.fn(p.at)
	}
}

func (s *Server) settleAll(now time.Time) {
	for _, svc := range s.services {
		svc.settle(now)
	}
}

// deployment is an entry of the service's "deployments" array.
type deployment struct {
	id         string
	revision   string // ARN of the service revision it deploys
	status     string // PRIMARY, ACTIVE, INACTIVE
	taskDef    *taskDef
	desired    int
	createdAt  time.Time
	updatedAt  time.Time
	rollout    string // IN_PROGRESS, COMPLETED, FAILED
	reason     string
	launchType string
	netConf    *networkConfiguration
	gen        int // bumped when the completion is rescheduled
	sd         *serviceDeployment
	failStart  time.Time // for a broken task definition: when attempts began
	failEnd    time.Time // when attempts stopped (circuit breaker); zero while trying
}

// failedTasks counts the failed start attempts of a broken deployment: one per TaskStart.
func (d *deployment) failedTasks(now time.Time, step time.Duration) int {
	if d.failStart.IsZero() {
		return 0
	}
	end := now
	if !d.failEnd.IsZero() && d.failEnd.Before(end) {
		end = d.failEnd
	}
	if end.Before(d.failStart) {
		return 0
	}
	return int(end.Sub(d.failStart) / step)
}

// serviceDeployment is the newer "service deployment" view of a rollout.
type serviceDeployment struct {
	id           string
	arn          string
	revisionArn  string
	source       *deployment // what was primary before; nil for the first
	target       *deployment
	rollbackDep  *deployment
	status       string
	statusReason string
	stage        string
	createdAt    time.Time
	startedAt    time.Time
	finishedAt   time.Time
	stoppedAt    time.Time
	updatedAt    time.Time
	rollbackAt   time.Time
	rollbackWhy  string
	deployConf   deploymentConfiguration
	cbStatus     string
}

func (sd *serviceDeployment) set(status, reason string, at time.Time) {
	sd.status, sd.statusReason, sd.updatedAt = status, reason, at
}

// task is one ECS task. Its state is read from its timestamps.
type task struct {
	arn, id    string
	dep        *deployment
	taskDef    *taskDef
	launchType string
	createdAt  time.Time
	runningAt  time.Time // when it reaches RUNNING (or fails to start, if broken)
	stopAt     time.Time // zero while it should keep running
	broken     bool
	stopReason string
	group      string
	startedBy  string
}

func (t *task) lastStatus(now time.Time) string {
	switch {
	case t.broken && !now.Before(t.runningAt), !t.stopAt.IsZero() && !now.Before(t.stopAt):
		return "STOPPED"
	case !now.Before(t.runningAt):
		return "RUNNING"
	case now.Sub(t.createdAt) < t.runningAt.Sub(t.createdAt)/2:
		return "PROVISIONING"
	}
	return "PENDING"
}

// stoppedAt is when the task stopped, or zero.
func (t *task) stoppedAt(now time.Time) time.Time {
	if t.broken && !now.Before(t.runningAt) {
		return t.runningAt
	}
	if !t.stopAt.IsZero() && !now.Before(t.stopAt) {
		return t.stopAt
	}
	return time.Time{}
}

// live reports whether the task is meant to run (not stopping, not broken).
func (t *task) live() bool { return t.stopAt.IsZero() && !t.broken }

// logEnd is when the task's log output ends (now while it runs).
func (t *task) logEnd(now time.Time) time.Time {
	if t.broken || now.Before(t.runningAt) {
		return time.Time{}
	}
	if !t.stopAt.IsZero() && t.stopAt.Before(now) {
		return t.stopAt
	}
	return now
}

func (svc *service) primary() *deployment {
	for _, d := range svc.deployments {
		if d.status == "PRIMARY" {
			return d
		}
	}
	return nil
}

func (svc *service) event(at time.Time, id, format string, args ...any) {
	ev := serviceEvent{ID: id, CreatedAt: epoch(at), Message: "(service " + svc.name + ") " + fmt.Sprintf(format, args...)}
	svc.events = append([]serviceEvent{ev}, svc.events...)
	if len(svc.events) > 100 {
		svc.events = svc.events[:100]
	}
}

// newDeployment starts rolling out td with desired tasks at time at. sd is
// the service deployment the rollout belongs to: a new one, or the one being
// rolled back.
func (s *Server) newDeployment(svc *service, td *taskDef, desired int, at time.Time, sd *serviceDeployment, reason string) *deployment {
	step := s.opts.TaskStart
	for _, old := range svc.deployments {
		old.status = "ACTIVE"
		if old.rollout == "IN_PROGRESS" {
			old.gen++ // its completion no longer matters
		}
		if old.sd != nil && old.sd != sd && (old.sd.status == "IN_PROGRESS" || old.sd.status == "PENDING") {
			old.sd.set("STOPPED", "The service deployment was superseded by a newer deployment.", at)
			old.sd.stoppedAt, old.sd.finishedAt = at, at
		}
	}
	d := &deployment{
		id: "ecs-svc/" + fmt.Sprintf("%019d", s.rng.Int64N(math.MaxInt64)), status: "PRIMARY", taskDef: td,
		desired: desired, createdAt: at, updatedAt: at, rollout: "IN_PROGRESS", reason: reason,
		launchType: svc.launchType, netConf: svc.netConf, sd: sd,
	}
	if reason == "" {
		d.reason = "ECS deployment " + d.id + " in progress."
	}
	d.revision = s.arn(fmt.Sprintf("service-revision/%s/%s/%019d", svc.cluster, svc.name, s.rng.Int64N(math.MaxInt64)))
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	svc.taskDef = td.arn

	broken := td.broken()
	var started []string
	for i := 0; i < desired; i++ {
		t := s.newTask(svc, d, at, at.Add(time.Duration(i+1)*step))
		t.broken = broken
		if broken {
			t.stopReason = "Essential container in task exited"
		}
		started = append(started, t.id)
	}
	if len(started) > 0 {
		svc.event(at, s.eventID(), "has started %d tasks: %s.", len(started), taskList(started))
	}
	if broken {
		d.failStart = at
		if svc.deployConf.DeploymentCircuitBreaker != nil && svc.deployConf.DeploymentCircuitBreaker.Enable {
			threshold := circuitBreakerThreshold(desired)
			if sd != nil {
				sd.cbStatus = "MONITORING"
			}
			gen := d.gen
			svc.schedule(at.Add(time.Duration(threshold)*step), func(at time.Time) {
				if d.gen == gen && d.status == "PRIMARY" {
					s.tripCircuitBreaker(svc, d, at)
				}
			})
		}
		return d
	}
	// Old tasks make room one by one as new ones start.
	var old []*task
	for _, t := range svc.tasks {
		if t.dep != d && t.live() {
			old = append(old, t)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].runningAt.Before(old[j].runningAt) })
	for k, t := range old {
		t.stopAt = at.Add(time.Duration(min(k+1, max(desired, 1))) * step)
		t.stopReason = "Task stopped by ECS deployment " + d.id
	}
	s.scheduleCompletion(svc, d, at.Add(time.Duration(max(desired, 1))*step))
	return d
}

// circuitBreakerThreshold is ECS's failed-task threshold: half the desired
// count, at least 3 and at most 200.
func circuitBreakerThreshold(desired int) int {
	return max(3, min(200, (desired+1)/2))
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

func (s *Server) eventID() string {
	return fmt.Sprintf("%s-%s-%s-%s-%s", s.hex(8), s.hex(4), s.hex(4), s.hex(4), s.hex(12))
}

func (s *Server) scheduleCompletion(svc *service, d *deployment, at time.Time) {
	d.gen++
	gen := d.gen
	svc.schedule(at, func(at time.Time) {
		if d.gen == gen && d.status == "PRIMARY" && d.rollout == "IN_PROGRESS" {
			s.completeDeployment(svc, d, at)
		}
	})
}

// completeDeployment marks d COMPLETED and retires the older deployments.
func (s *Server) completeDeployment(svc *service, d *deployment, at time.Time) {
	d.rollout, d.updatedAt = "COMPLETED", at
	d.reason = "ECS deployment " + d.id + " completed."
	kept := svc.deployments[:0]
	for _, o := range svc.deployments {
		if o == d {
			kept = append(kept, o)
		} else {
			o.status = "INACTIVE"
		}
	}
	svc.deployments = kept
	if sd := d.sd; sd != nil {
		switch {
		case sd.rollbackDep == d && sd.status == "ROLLBACK_IN_PROGRESS":
			sd.set("ROLLBACK_SUCCESSFUL", "Service deployment rolled back successfully.", at)
			sd.finishedAt, sd.stage = at, "CLEAN_UP"
		case sd.target == d && sd.status == "IN_PROGRESS":
			sd.set("SUCCESSFUL", "Service deployment completed successfully.", at)
			sd.finishedAt, sd.stage = at, "CLEAN_UP"
			if sd.cbStatus == "MONITORING" {
				sd.cbStatus = "MONITORING_COMPLETE"
			}
		}
	}
	svc.event(at, s.eventID(), "(deployment %s) deployment completed.", d.id)
	svc.event(at, s.eventID(), "has reached a steady state.")
}

// tripCircuitBreaker fails d, and rolls back to the previous deployment when configured.
func (s *Server) tripCircuitBreaker(svc *service, d *deployment, at time.Time) {
	d.failEnd = at
	d.rollout, d.updatedAt = "FAILED", at
	d.reason = "ECS deployment circuit breaker: tasks failed to start."
	svc.event(at, s.eventID(), "(deployment %s) deployment failed: tasks failed to start.", d.id)
	sd := d.sd
	if sd != nil {
		sd.cbStatus = "TRIGGERED"
	}
	cb := svc.deployConf.DeploymentCircuitBreaker
	if cb.Rollback && sd != nil && sd.source != nil {
		sd.set("ROLLBACK_IN_PROGRESS", "Service deployment rolling back because the circuit breaker was triggered.", at)
		sd.rollbackAt, sd.rollbackWhy = at, "Circuit breaker triggered: tasks failed to start."
		r := s.newDeployment(svc, sd.source.taskDef, svc.desired, at, sd,
			"ECS deployment circuit breaker: rolling back to deploymentId "+sd.source.id+".")
		sd.rollbackDep = r
		return
	}
	if sd != nil && sd.status == "IN_PROGRESS" {
		sd.set("STOPPED", "ECS deployment circuit breaker: tasks failed to start.", at)
		sd.stoppedAt, sd.finishedAt = at, at
	}
}

// newTask schedules one task of d.
func (s *Server) newTask(svc *service, d *deployment, created, running time.Time) *task {
	id := s.hex(32)
	t := &task{
		arn: s.arn("task/" + svc.cluster + "/" + id), id: id, dep: d, taskDef: d.taskDef, launchType: svc.launchType,
		createdAt: created, runningAt: running, group: "service:" + svc.name, startedBy: d.id,
	}
	svc.tasks = append(svc.tasks, t)
	// Keep history bounded: forget the oldest stopped tasks beyond 200.
	if len(svc.tasks) > 400 {
		kept := svc.tasks[:0]
		drop := len(svc.tasks) - 200
		for _, o := range svc.tasks {
			if drop > 0 && !o.live() {
				drop--
				continue
			}
			kept = append(kept, o)
		}
		svc.tasks = kept
	}
	return t
}

// scale changes the desired count of the primary deployment.
func (s *Server) scale(svc *service, desired int, now time.Time) {
	d := svc.primary()
	svc.desired = desired
	if d == nil {
		return
	}
	d.desired, d.updatedAt = desired, now
	step := s.opts.TaskStart
	var live []*task
	for _, t := range svc.tasks {
		if t.dep == d && t.stopAt.IsZero() && (!t.broken || now.Before(t.runningAt)) {
			live = append(live, t)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].runningAt.Before(live[j].runningAt) })
	switch {
	case desired > len(live):
		last := now
		if len(live) > 0 && live[len(live)-1].runningAt.After(last) {
			last = live[len(live)-1].runningAt
		}
		var ids []string
		for j := 0; j < desired-len(live); j++ {
			t := s.newTask(svc, d, now, last.Add(time.Duration(j+1)*step))
			t.broken = d.taskDef.broken()
			ids = append(ids, t.id)
		}
		svc.event(now, s.eventID(), "has started %d tasks: %s.", len(ids), taskList(ids))
	case desired < len(live):
		var ids []string
		for _, t := range live[desired:] {
			t.stopAt, t.stopReason = now, "Service "+svc.name+" scaled in"
			ids = append(ids, t.id)
		}
		svc.event(now, s.eventID(), "has stopped %d running tasks: %s.", len(ids), taskList(ids))
	}
	if d.rollout == "IN_PROGRESS" && !d.taskDef.broken() {
		end := now
		for _, t := range svc.tasks {
			if t.dep == d && t.live() && t.runningAt.After(end) {
				end = t.runningAt
			}
		}
		s.scheduleCompletion(svc, d, end)
	}
}

// counts returns running and pending tasks of d (or of the whole service when d is nil).
func (svc *service) counts(d *deployment, now time.Time) (running, pending int) {
	for _, t := range svc.tasks {
		if d != nil && t.dep != d {
			continue
		}
		switch t.lastStatus(now) {
		case "RUNNING":
			running++
		case "PENDING", "PROVISIONING":
			pending++
		}
	}
	return running, pending
}

// taskDef is a registered task definition revision.
type taskDef struct {
	arn          string
	family       string
	revision     int
	status       string
	registeredAt time.Time
	raw          map[string]any // the registered shape, returned as is
	containers   []containerDefinition
	tags         []tag
}

// broken reports whether an essential container's image is tagged ":broken".
func (td *taskDef) broken() bool {
	for _, c := range td.containers {
		if strings.HasSuffix(c.Image, ":broken") {
			return true
		}
	}
	return false
}

// taskDef resolves "family", "family:revision" or an ARN.
func (s *Server) taskDef(ref string) *taskDef {
	if i := strings.Index(ref, ":task-definition/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := s.taskDefs[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].status == "ACTIVE" {
				return revs[i]
			}
		}
		return nil
	}
	for _, td := range revs {
		if fmt.Sprint(td.revision) == rev {
			return td
		}
	}
	return nil
}

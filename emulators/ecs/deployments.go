package ecsemu

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Service deployments: ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment.

var deploymentStatuses = map[string]bool{"PENDING": true, "SUCCESSFUL": true, "STOPPED": true, "STOP_REQUESTED": true,
	"IN_PROGRESS": true, "ROLLBACK_REQUESTED": true, "ROLLBACK_IN_PROGRESS": true, "ROLLBACK_SUCCESSFUL": true, "ROLLBACK_FAILED": true}

type listServiceDeploymentsInput struct {
	Service   string   `json:"service"`
	Cluster   string   `json:"cluster"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		Before *epoch `json:"before"`
		After  *epoch `json:"after"`
	} `json:"createdAt"`
	NextToken  string `json:"nextToken"`
	MaxResults *int   `json:"maxResults"`
}

// deploymentKey sorts service deployments newest first.
func deploymentKey(sd *serviceDeployment) string {
	return fmt.Sprintf("%020d/%s", math.MaxInt64-sd.createdAt.UnixNano(), sd.id)
}

func (s *Server) opListServiceDeployments(in *listServiceDeploymentsInput, now time.Time) (any, *apiError) {
	if in.Service == "" {
		return nil, invalidParam("service can not be blank.")
	}
	limit, err := maxResults(in.MaxResults, 20, 100)
	if err != nil {
		return nil, err
	}
	for _, st := range in.Status {
		if !deploymentStatuses[st] {
			return nil, invalidParam("Invalid status value: %s.", st)
		}
	}
	svc, err := s.lookup(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*serviceDeployment{}
	var keys []string
	for _, sd := range svc.serviceDeployments {
		if len(in.Status) > 0 && !contains(in.Status, sd.status) {
			continue
		}
		if c := in.CreatedAt; c != nil {
			if c.Before != nil && !sd.createdAt.Before(time.Time(*c.Before)) || c.After != nil && !sd.createdAt.After(time.Time(*c.After)) {
				continue
			}
		}
		k := deploymentKey(sd)
		byKey[k] = sd
		keys = append(keys, k)
	}
	sort.Strings(keys)
	page, next, err := pageAfter(keys, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	briefs := []map[string]any{}
	for _, k := range page {
		sd := byKey[k]
		b := map[string]any{
			"serviceDeploymentArn": sd.arn, "serviceArn": svc.arn, "clusterArn": s.clusterArn(svc.cluster),
			"createdAt": ts(sd.createdAt), "startedAt": ts(sd.startedAt), "targetServiceRevisionArn": sd.revisionArn,
			"status": sd.status, "statusReason": sd.statusReason,
		}
		if !sd.finishedAt.IsZero() {
			b["finishedAt"] = ts(sd.finishedAt)
		}
		briefs = append(briefs, b)
	}
	out := map[string]any{"serviceDeployments": briefs}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) findServiceDeployment(arn string) (*service, *serviceDeployment) {
	for _, svc := range s.services {
		for _, sd := range svc.serviceDeployments {
			if sd.arn == arn {
				return svc, sd
			}
		}
	}
	return nil, nil
}

type describeServiceDeploymentsInput struct {
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
}

func (s *Server) opDescribeServiceDeployments(in *describeServiceDeploymentsInput, now time.Time) (any, *apiError) {
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > 20 {
		return nil, invalidParam("serviceDeploymentArns must contain between 1 and 20 elements.")
	}
	out, failures := []map[string]any{}, []failure{}
	for _, arn := range in.ServiceDeploymentArns {
		svc, sd := s.findServiceDeployment(arn)
		if sd == nil {
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out = append(out, s.serviceDeploymentOut(svc, sd, now))
	}
	return map[string]any{"serviceDeployments": out, "failures": failures}, nil
}

func (s *Server) revisionSummary(svc *service, d *deployment, now time.Time) map[string]any {
	running, pending := svc.counts(d, now)
	return map[string]any{"arn": d.revision, "requestedTaskCount": d.desired, "runningTaskCount": running, "pendingTaskCount": pending}
}

func (s *Server) serviceDeploymentOut(svc *service, sd *serviceDeployment, now time.Time) map[string]any {
	o := map[string]any{
		"serviceDeploymentArn": sd.arn, "serviceArn": svc.arn, "clusterArn": s.clusterArn(svc.cluster),
		"createdAt": ts(sd.createdAt), "startedAt": ts(sd.startedAt), "updatedAt": ts(sd.updatedAt),
		"targetServiceRevision": s.revisionSummary(svc, sd.target, now), "sourceServiceRevisions": []map[string]any{},
		"status": sd.status, "statusReason": sd.statusReason, "lifecycleStage": sd.stage,
		"deploymentConfiguration": sd.deployConf,
		"deploymentCircuitBreaker": map[string]any{"status": sd.cbStatus, "failureCount": sd.target.failedTasks(now, s.opts.TaskStart),
			"threshold": circuitBreakerThreshold(sd.target.desired)},
	}
	if sd.source != nil {
		o["sourceServiceRevisions"] = []map[string]any{s.revisionSummary(svc, sd.source, now)}
	}
	if !sd.finishedAt.IsZero() {
		o["finishedAt"] = ts(sd.finishedAt)
	}
	if !sd.stoppedAt.IsZero() {
		o["stoppedAt"] = ts(sd.stoppedAt)
	}
	if !sd.rollbackAt.IsZero() && sd.source != nil {
		o["rollback"] = map[string]any{"reason": sd.rollbackWhy, "startedAt": ts(sd.rollbackAt), "serviceRevisionArn": sd.source.revision}
	}
	return o
}

type stopServiceDeploymentInput struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	StopType             string `json:"stopType"`
}

func (s *Server) opStopServiceDeployment(in *stopServiceDeploymentInput, now time.Time) (any, *apiError) {
	if in.ServiceDeploymentArn == "" {
		return nil, invalidParam("serviceDeploymentArn can not be blank.")
	}
	if in.StopType == "" {
		in.StopType = "ROLLBACK"
	}
	if in.StopType != "ROLLBACK" && in.StopType != "ABORT" {
		return nil, invalidParam("stopType must be one of ABORT, ROLLBACK.")
	}
	svc, sd := s.findServiceDeployment(in.ServiceDeploymentArn)
	if sd == nil {
		return nil, errf("ServiceDeploymentNotFoundException", "The service deployment does not exist.")
	}
	if sd.status != "IN_PROGRESS" && sd.status != "PENDING" {
		return nil, errf("ConflictException", "The service deployment is in status %s and cannot be stopped.", sd.status)
	}
	// Undocumented: what AWS answers for a rollback with nothing to roll back
	// to. A conflict is the most plausible.
	if in.StopType == "ROLLBACK" && sd.source == nil {
		return nil, errf("ConflictException", "The service deployment has no previous service revision to roll back to.")
	}
	d := sd.target
	d.gen++ // the target no longer completes on its own
	half := max(s.opts.TaskStart/2, time.Millisecond)
	if in.StopType == "ROLLBACK" {
		sd.set("ROLLBACK_REQUESTED", "Rollback requested by user.", now)
		svc.schedule(now.Add(half), func(at time.Time) {
			if sd.status != "ROLLBACK_REQUESTED" || svc.status != "ACTIVE" {
				return
			}
			sd.set("ROLLBACK_IN_PROGRESS", "Service deployment rolling back as requested by user.", at)
			sd.rollbackAt, sd.rollbackWhy = at, "Rollback requested by user."
			sd.rollbackDep = s.newDeployment(svc, sd.source.taskDef, svc.desired, at, sd, "Rolling back to deploymentId "+sd.source.id+".")
		})
	} else {
		sd.set("STOP_REQUESTED", "Stop requested by user.", now)
		svc.schedule(now.Add(half), func(at time.Time) {
			if sd.status != "STOP_REQUESTED" {
				return
			}
			sd.set("STOPPED", "Service deployment stopped by user.", at)
			sd.stoppedAt, sd.finishedAt = at, at
			for _, t := range svc.tasks {
				if t.dep == d && t.live() && t.runningAt.After(at) {
					t.stopAt, t.stopReason = at, "Deployment stopped"
				}
			}
			if d.rollout == "IN_PROGRESS" {
				d.rollout, d.reason, d.updatedAt = "FAILED", "ECS deployment "+d.id+" stopped by user.", at
			}
		})
	}
	return map[string]any{"serviceDeploymentArn": sd.arn}, nil
}

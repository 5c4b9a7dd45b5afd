package ecsemu

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Wire shapes shared by inputs and outputs (field names as in the ECS API model).

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type networkConfiguration struct {
	AwsvpcConfiguration *awsvpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

type awsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

type loadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    *int   `json:"containerPort,omitempty"`
}

type deploymentConfiguration struct {
	DeploymentCircuitBreaker *circuitBreaker   `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int              `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int              `json:"minimumHealthyPercent,omitempty"`
	Alarms                   *deploymentAlarms `json:"alarms,omitempty"`
}

// deploymentAlarms are CloudWatch alarms that stop (and may roll back) a
// deployment. Like every member of deploymentConfiguration, an update
// that leaves them out keeps them.
type deploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type circuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type serviceEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// ecsHandlers are the ECS operations, by X-Amz-Target suffix.
var ecsHandlers = map[string]handler{
	"CreateService":              op((*Server).opCreateService),
	"DescribeServices":           op((*Server).opDescribeServices),
	"UpdateService":              op((*Server).opUpdateService),
	"DeleteService":              op((*Server).opDeleteService),
	"ListServices":               op((*Server).opListServices),
	"ListServiceDeployments":     op((*Server).opListServiceDeployments),
	"DescribeServiceDeployments": op((*Server).opDescribeServiceDeployments),
	"StopServiceDeployment":      op((*Server).opStopServiceDeployment),
	"RegisterTaskDefinition":     op((*Server).opRegisterTaskDefinition),
	"DescribeTaskDefinition":     op((*Server).opDescribeTaskDefinition),
	"ListTasks":                  op((*Server).opListTasks),
	"DescribeTasks":              op((*Server).opDescribeTasks),
	"TagResource":                op((*Server).opTagResource),
	"UntagResource":              op((*Server).opUntagResource),
	"ListTagsForResource":        op((*Server).opListTagsForResource),
}

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// daemonInstances is how many container instances an EC2 cluster has, for DAEMON services.
const daemonInstances = 2

type createServiceInput struct {
	Cluster                 string                   `json:"cluster"`
	ServiceName             string                   `json:"serviceName"`
	TaskDefinition          string                   `json:"taskDefinition"`
	DesiredCount            *int                     `json:"desiredCount"`
	LaunchType              string                   `json:"launchType"`
	SchedulingStrategy      string                   `json:"schedulingStrategy"`
	NetworkConfiguration    *networkConfiguration    `json:"networkConfiguration"`
	LoadBalancers           []loadBalancer           `json:"loadBalancers"`
	DeploymentConfiguration *deploymentConfiguration `json:"deploymentConfiguration"`
	Tags                    []tag                    `json:"tags"`
	EnableExecuteCommand    bool                     `json:"enableExecuteCommand"`
	ClientToken             string                   `json:"clientToken"`
	serviceSettings
}

// serviceSettings are service members that CreateService and UpdateService
// both take and that nothing else in the emulator uses; an update that
// leaves one out keeps it, as ECS does.
type serviceSettings struct {
	HealthCheckGracePeriodSeconds *int    `json:"healthCheckGracePeriodSeconds,omitempty"`
	PropagateTags                 *string `json:"propagateTags,omitempty"`
	EnableECSManagedTags          *bool   `json:"enableECSManagedTags,omitempty"`
}

// merge applies the members set in in onto s.
func (s *serviceSettings) merge(in serviceSettings) *apiError {
	if p := in.PropagateTags; p != nil && *p != "NONE" && *p != "SERVICE" && *p != "TASK_DEFINITION" {
		return invalidParam("propagateTags must be one of NONE, SERVICE, TASK_DEFINITION.")
	}
	if g := in.HealthCheckGracePeriodSeconds; g != nil && (*g < 0 || *g > 2147483647) {
		return invalidParam("healthCheckGracePeriodSeconds is out of range.")
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		s.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
	}
	if in.PropagateTags != nil {
		s.PropagateTags = in.PropagateTags
	}
	if in.EnableECSManagedTags != nil {
		s.EnableECSManagedTags = in.EnableECSManagedTags
	}
	return nil
}

func (s *Server) opCreateService(in *createServiceInput, now time.Time) (any, *apiError) {
	svc, err := s.createService(in, now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"service": s.serviceOut(svc, now, true)}, nil
}

func validLaunchType(lt string) bool {
	return lt == "" || lt == "EC2" || lt == "FARGATE" || lt == "EXTERNAL"
}

func (s *Server) createService(in *createServiceInput, now time.Time) (*service, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if !serviceNameRE.MatchString(in.ServiceName) {
		return nil, invalidParam("serviceName must be 1-255 letters, numbers, underscores and hyphens.")
	}
	if !validLaunchType(in.LaunchType) {
		return nil, invalidParam("launchType must be one of EC2, FARGATE, EXTERNAL.")
	}
	if in.LaunchType == "" {
		in.LaunchType = "EC2"
	}
	switch in.SchedulingStrategy {
	case "":
		in.SchedulingStrategy = "REPLICA"
	case "REPLICA", "DAEMON":
	default:
		return nil, invalidParam("schedulingStrategy must be one of REPLICA, DAEMON.")
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("TaskDefinition can not be blank.")
	}
	td := s.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, errf("ClientException", "TaskDefinition not found.")
	}
	desired := 0
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if desired < 0 {
		return nil, invalidParam("desiredCount can not be negative.")
	}
	if in.SchedulingStrategy == "DAEMON" {
		if in.LaunchType == "FARGATE" {
			return nil, invalidParam("The DAEMON scheduling strategy does not support the FARGATE launch type.")
		}
		if in.DesiredCount != nil {
			return nil, invalidParam("The desiredCount parameter is not supported with the DAEMON scheduling strategy.")
		}
		desired = daemonInstances
	}
	if in.LaunchType == "FARGATE" && (in.NetworkConfiguration == nil || in.NetworkConfiguration.AwsvpcConfiguration == nil) {
		return nil, invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if nc := in.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil && len(nc.AwsvpcConfiguration.Subnets) == 0 {
		return nil, invalidParam("subnets can not be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	dc, err := mergeDeployConf(deploymentConfiguration{}, in.DeploymentConfiguration, in.SchedulingStrategy)
	if err != nil {
		return nil, err
	}
	var settings serviceSettings
	if err := settings.merge(in.serviceSettings); err != nil {
		return nil, err
	}
	key := cluster + "/" + in.ServiceName
	if old := s.services[key]; old != nil {
		switch old.status {
		case "ACTIVE":
			return nil, invalidParam("Creation of service was not idempotent.")
		case "DRAINING":
			return nil, invalidParam("Unable to Start a service that is still Draining.")
		}
	}
	svc := &service{
		arn: s.arn("service/" + cluster + "/" + in.ServiceName), name: in.ServiceName, cluster: cluster, status: "ACTIVE",
		desired: desired, launchType: in.LaunchType, schedulingStrategy: in.SchedulingStrategy,
		netConf: in.NetworkConfiguration, loadBalancers: in.LoadBalancers, deployConf: dc,
		tags: in.Tags, enableExecuteCommand: in.EnableExecuteCommand, createdAt: now, settings: settings,
	}
	s.services[key] = svc
	s.startServiceDeployment(svc, td, desired, now)
	return svc, nil
}

// mergeDeployConf applies a deploymentConfiguration change onto cur with ECS defaults.
func mergeDeployConf(cur deploymentConfiguration, in *deploymentConfiguration, strategy string) (deploymentConfiguration, *apiError) {
	if in != nil {
		if in.DeploymentCircuitBreaker != nil {
			cur.DeploymentCircuitBreaker = in.DeploymentCircuitBreaker
		}
		if in.MaximumPercent != nil {
			cur.MaximumPercent = in.MaximumPercent
		}
		if in.MinimumHealthyPercent != nil {
			cur.MinimumHealthyPercent = in.MinimumHealthyPercent
		}
		if in.Alarms != nil {
			cur.Alarms = in.Alarms
		}
	}
	maxP, minP := 200, 100
	if strategy == "DAEMON" {
		maxP, minP = 100, 0
	}
	if cur.MaximumPercent == nil {
		cur.MaximumPercent = ptr(maxP)
	}
	if cur.MinimumHealthyPercent == nil {
		cur.MinimumHealthyPercent = ptr(minP)
	}
	if cur.DeploymentCircuitBreaker == nil {
		cur.DeploymentCircuitBreaker = &circuitBreaker{}
	}
	if *cur.MaximumPercent < 100 || *cur.MaximumPercent > 200 && strategy == "DAEMON" {
		return cur, invalidParam("deploymentConfiguration.maximumPercent is out of range.")
	}
	if *cur.MinimumHealthyPercent < 0 || *cur.MinimumHealthyPercent > 100 {
		return cur, invalidParam("deploymentConfiguration.minimumHealthyPercent must be between 0 and 100.")
	}
	return cur, nil
}

func validateTags(tags []tag) *apiError {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidParam("Tag keys must be 1-128 characters and values at most 256 characters.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParam("Tag keys starting with 'aws:' are reserved.")
		}
	}
	return nil
}

// startServiceDeployment begins a new service deployment rolling out td.
func (s *Server) startServiceDeployment(svc *service, td *taskDef, desired int, now time.Time) *serviceDeployment {
	id := s.alnum(21)
	sd := &serviceDeployment{
		id: id, arn: s.arn("service-deployment/" + svc.cluster + "/" + svc.name + "/" + id),
		source: svc.primary(), status: "IN_PROGRESS", stage: "SCALE_UP",
		createdAt: now, startedAt: now, updatedAt: now, deployConf: svc.deployConf, cbStatus: "DISABLED",
	}
	if cb := svc.deployConf.DeploymentCircuitBreaker; cb != nil && cb.Enable {
		sd.cbStatus = "MONITORING"
	}
	sd.target = s.newDeployment(svc, td, desired, now, sd, "")
	sd.revisionArn = sd.target.revision
	svc.serviceDeployments = append(svc.serviceDeployments, sd)
	return sd
}

// lookup finds a service by name or ARN within cluster (INACTIVE ones too).
func (s *Server) lookup(clusterRef, ref string) (*service, *apiError) {
	cluster, err := s.cluster(clusterRef)
	if err != nil {
		return nil, err
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		_, rest, _ := strings.Cut(ref, ":service/")
		parts := strings.Split(rest, "/")
		name = parts[len(parts)-1]
		if len(parts) == 2 {
			if cluster, err = s.cluster(parts[0]); err != nil {
				return nil, err
			}
		}
	}
	svc := s.services[cluster+"/"+name]
	if svc == nil {
		return nil, errf("ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

func (s *Server) activeService(clusterRef, ref string) (*service, *apiError) {
	svc, err := s.lookup(clusterRef, ref)
	if err != nil {
		return nil, err
	}
	if svc.status != "ACTIVE" {
		return nil, errf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	return svc, nil
}

type serviceOutput struct {
	ServiceArn              string                  `json:"serviceArn"`
	ServiceName             string                  `json:"serviceName"`
	ClusterArn              string                  `json:"clusterArn"`
	LoadBalancers           []loadBalancer          `json:"loadBalancers"`
	Status                  string                  `json:"status"`
	DesiredCount            int                     `json:"desiredCount"`
	RunningCount            int                     `json:"runningCount"`
	PendingCount            int                     `json:"pendingCount"`
	LaunchType              string                  `json:"launchType"`
	PlatformVersion         string                  `json:"platformVersion,omitempty"`
	TaskDefinition          string                  `json:"taskDefinition"`
	DeploymentConfiguration deploymentConfiguration `json:"deploymentConfiguration"`
	Deployments             []deploymentOutput      `json:"deployments"`
	Events                  []serviceEvent          `json:"events"`
	CreatedAt               epoch                   `json:"createdAt"`
	NetworkConfiguration    *networkConfiguration   `json:"networkConfiguration,omitempty"`
	SchedulingStrategy      string                  `json:"schedulingStrategy"`
	DeploymentController    map[string]string       `json:"deploymentController"`
	Tags                    []tag                   `json:"tags,omitempty"`
	CreatedBy               string                  `json:"createdBy"`
	EnableECSManagedTags    bool                    `json:"enableECSManagedTags"`
	PropagateTags           string                  `json:"propagateTags"`
	EnableExecuteCommand    bool                    `json:"enableExecuteCommand"`
	HealthCheckGracePeriod  *int                    `json:"healthCheckGracePeriodSeconds,omitempty"`
}

type deploymentOutput struct {
	ID                   string                `json:"id"`
	Status               string                `json:"status"`
	TaskDefinition       string                `json:"taskDefinition"`
	DesiredCount         int                   `json:"desiredCount"`
	PendingCount         int                   `json:"pendingCount"`
	RunningCount         int                   `json:"runningCount"`
	FailedTasks          int                   `json:"failedTasks"`
	CreatedAt            epoch                 `json:"createdAt"`
	UpdatedAt            epoch                 `json:"updatedAt"`
	LaunchType           string                `json:"launchType"`
	PlatformVersion      string                `json:"platformVersion,omitempty"`
	NetworkConfiguration *networkConfiguration `json:"networkConfiguration,omitempty"`
	RolloutState         string                `json:"rolloutState"`
	RolloutStateReason   string                `json:"rolloutStateReason"`
}

func (s *Server) serviceOut(svc *service, now time.Time, withTags bool) serviceOutput {
	running, pending := svc.counts(nil, now)
	out := serviceOutput{
		ServiceArn: svc.arn, ServiceName: svc.name, ClusterArn: s.clusterArn(svc.cluster), LoadBalancers: svc.loadBalancers,
		Status: svc.status, DesiredCount: svc.desired, RunningCount: running, PendingCount: pending,
		LaunchType: svc.launchType, TaskDefinition: svc.taskDef, DeploymentConfiguration: svc.deployConf,
		Events: svc.events, CreatedAt: epoch(svc.createdAt), NetworkConfiguration: svc.netConf,
		SchedulingStrategy: svc.schedulingStrategy, DeploymentController: map[string]string{"type": "ECS"},
		CreatedBy: "arn:aws:iam::" + s.opts.AccountID + ":root", PropagateTags: "NONE",
		EnableExecuteCommand: svc.enableExecuteCommand, Deployments: []deploymentOutput{},
		HealthCheckGracePeriod: svc.settings.HealthCheckGracePeriodSeconds,
	}
	if p := svc.settings.PropagateTags; p != nil {
		out.PropagateTags = *p
	}
	if m := svc.settings.EnableECSManagedTags; m != nil {
		out.EnableECSManagedTags = *m
	}
	if out.LoadBalancers == nil {
		out.LoadBalancers = []loadBalancer{}
	}
	if out.Events == nil {
		out.Events = []serviceEvent{}
	}
	if svc.launchType == "FARGATE" {
		out.PlatformVersion = "LATEST"
	}
	if withTags {
		out.Tags = svc.tags
	}
	for _, d := range svc.deployments {
		r, p := svc.counts(d, now)
		do := deploymentOutput{
			ID: d.id, Status: d.status, TaskDefinition: d.taskDef.arn, DesiredCount: d.desired, PendingCount: p, RunningCount: r,
			FailedTasks: d.failedTasks(now, s.opts.TaskStart), CreatedAt: epoch(d.createdAt), UpdatedAt: epoch(d.updatedAt),
			LaunchType: d.launchType, NetworkConfiguration: d.netConf, RolloutState: d.rollout, RolloutStateReason: d.reason,
		}
		if d.launchType == "FARGATE" {
			do.PlatformVersion = "1.4.0"
		}
		out.Deployments = append(out.Deployments, do)
	}
	return out
}

type describeServicesInput struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

func (s *Server) opDescribeServices(in *describeServicesInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalidParam("Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParam("Services cannot contain more than 10 elements.")
	}
	withTags := false
	for _, inc := range in.Include {
		if inc != "TAGS" {
			return nil, invalidParam("include must contain only TAGS.")
		}
		withTags = true
	}
	services, failures := []serviceOutput{}, []failure{}
	for _, ref := range in.Services {
		svc, err := s.lookup(cluster, ref)
		if err != nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("service/" + cluster + "/" + ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		services = append(services, s.serviceOut(svc, now, withTags))
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

type updateServiceInput struct {
	Cluster                 string                   `json:"cluster"`
	Service                 string                   `json:"service"`
	DesiredCount            *int                     `json:"desiredCount"`
	TaskDefinition          string                   `json:"taskDefinition"`
	ForceNewDeployment      bool                     `json:"forceNewDeployment"`
	DeploymentConfiguration *deploymentConfiguration `json:"deploymentConfiguration"`
	NetworkConfiguration    *networkConfiguration    `json:"networkConfiguration"`
	LoadBalancers           []loadBalancer           `json:"loadBalancers"`
	EnableExecuteCommand    *bool                    `json:"enableExecuteCommand"`
	serviceSettings
}

func (s *Server) opUpdateService(in *updateServiceInput, now time.Time) (any, *apiError) {
	if in.Service == "" {
		return nil, invalidParam("service can not be blank.")
	}
	svc, err := s.activeService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if in.DesiredCount != nil {
		if svc.schedulingStrategy == "DAEMON" {
			return nil, invalidParam("The desiredCount parameter is not supported with the DAEMON scheduling strategy.")
		}
		if *in.DesiredCount < 0 {
			return nil, invalidParam("desiredCount can not be negative.")
		}
	}
	td := svc.primary().taskDef
	redeploy := in.ForceNewDeployment
	if in.TaskDefinition != "" {
		if td = s.taskDef(in.TaskDefinition); td == nil {
			return nil, errf("ClientException", "TaskDefinition not found.")
		}
		redeploy = redeploy || td.arn != svc.taskDef
	}
	if nc := in.NetworkConfiguration; nc != nil {
		if nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.Subnets) == 0 {
			return nil, invalidParam("subnets can not be empty.")
		}
		a, _ := json.Marshal(nc)
		b, _ := json.Marshal(svc.netConf)
		redeploy = redeploy || string(a) != string(b)
	}
	if in.LoadBalancers != nil && (len(in.LoadBalancers) > 0 || len(svc.loadBalancers) > 0) {
		a, _ := json.Marshal(in.LoadBalancers)
		b, _ := json.Marshal(svc.loadBalancers)
		redeploy = redeploy || string(a) != string(b)
	}
	dc, err := mergeDeployConf(svc.deployConf, in.DeploymentConfiguration, svc.schedulingStrategy)
	if err != nil {
		return nil, err
	}
	if err := svc.settings.merge(in.serviceSettings); err != nil {
		return nil, err
	}
	svc.deployConf = dc
	if in.NetworkConfiguration != nil {
		svc.netConf = in.NetworkConfiguration
	}
	if in.LoadBalancers != nil {
		svc.loadBalancers = in.LoadBalancers
	}
	if in.EnableExecuteCommand != nil {
		svc.enableExecuteCommand = *in.EnableExecuteCommand
	}
	desired := svc.desired
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if redeploy {
		svc.desired = desired
		s.startServiceDeployment(svc, td, desired, now)
	} else if desired != svc.desired {
		s.scale(svc, desired, now)
	}
	return map[string]any{"service": s.serviceOut(svc, now, false)}, nil
}

type deleteServiceInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}

func (s *Server) opDeleteService(in *deleteServiceInput, now time.Time) (any, *apiError) {
	if in.Service == "" {
		return nil, invalidParam("service can not be blank.")
	}
	svc, err := s.activeService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if svc.desired > 0 && !in.Force && svc.schedulingStrategy == "REPLICA" {
		return nil, invalidParam("The service cannot be stopped while it is scaled above 0.")
	}
	svc.status, svc.desired = "DRAINING", 0
	var ids []string
	for _, t := range svc.tasks {
		if t.live() {
			t.stopAt, t.stopReason = now.Add(s.opts.TaskStart), "Service "+svc.name+" deleted"
			ids = append(ids, t.id)
		}
	}
	for _, d := range svc.deployments {
		d.desired = 0
		d.gen++
	}
	if len(ids) > 0 {
		svc.event(now, s.eventID(), "has stopped %d running tasks: %s.", len(ids), taskList(ids))
	}
	svc.schedule(now.Add(s.opts.DrainTime), func(at time.Time) {
		if svc.status == "DRAINING" {
			svc.status = "INACTIVE"
			for _, d := range svc.deployments {
				d.status = "INACTIVE"
			}
		}
	})
	return map[string]any{"service": s.serviceOut(svc, now, false)}, nil
}

type listServicesInput struct {
	Cluster            string `json:"cluster"`
	NextToken          string `json:"nextToken"`
	MaxResults         *int   `json:"maxResults"`
	LaunchType         string `json:"launchType"`
	SchedulingStrategy string `json:"schedulingStrategy"`
}

func (s *Server) opListServices(in *listServicesInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 10, 100)
	if err != nil {
		return nil, err
	}
	if !validLaunchType(in.LaunchType) {
		return nil, invalidParam("launchType must be one of EC2, FARGATE, EXTERNAL.")
	}
	var arns []string
	for _, svc := range s.services {
		if svc.cluster != cluster || svc.status != "ACTIVE" ||
			in.LaunchType != "" && svc.launchType != in.LaunchType ||
			in.SchedulingStrategy != "" && svc.schedulingStrategy != in.SchedulingStrategy {
			continue
		}
		arns = append(arns, svc.arn)
	}
	sort.Strings(arns)
	page, next, err := pageAfter(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"serviceArns": append([]string{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// Service deployments.

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

// Tasks.

type listTasksInput struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	DesiredStatus string `json:"desiredStatus"`
	Family        string `json:"family"`
	StartedBy     string `json:"startedBy"`
	LaunchType    string `json:"launchType"`
	NextToken     string `json:"nextToken"`
	MaxResults    *int   `json:"maxResults"`
}

func (t *task) desiredStatus(now time.Time) string {
	if !t.live() {
		return "STOPPED"
	}
	return "RUNNING"
}

func (s *Server) opListTasks(in *listTasksInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	if in.DesiredStatus == "" {
		in.DesiredStatus = "RUNNING"
	}
	if in.DesiredStatus != "RUNNING" && in.DesiredStatus != "PENDING" && in.DesiredStatus != "STOPPED" {
		return nil, invalidParam("desiredStatus must be one of RUNNING, PENDING, STOPPED.")
	}
	var services []*service
	if in.ServiceName != "" {
		svc, err := s.lookup(cluster, in.ServiceName)
		if err != nil {
			return nil, err
		}
		services = append(services, svc)
	} else {
		for _, svc := range s.services {
			if svc.cluster == cluster {
				services = append(services, svc)
			}
		}
	}
	var arns []string
	for _, svc := range services {
		for _, t := range svc.tasks {
			if t.desiredStatus(now) != in.DesiredStatus || in.Family != "" && t.taskDef.family != in.Family ||
				in.StartedBy != "" && t.startedBy != in.StartedBy || in.LaunchType != "" && t.launchType != in.LaunchType {
				continue
			}
			arns = append(arns, t.arn)
		}
	}
	sort.Strings(arns)
	page, next, err := pageAfter(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskArns": append([]string{}, page...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}

func (s *Server) findTask(cluster, ref string) *task {
	for _, svc := range s.services {
		if svc.cluster != cluster {
			continue
		}
		for _, t := range svc.tasks {
			if t.arn == ref || t.id == ref {
				return t
			}
		}
	}
	return nil
}

func (s *Server) opDescribeTasks(in *describeTasksInput, now time.Time) (any, *apiError) {
	cluster, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, invalidParam("Tasks must contain between 1 and 100 elements.")
	}
	tasks, failures := []map[string]any{}, []failure{}
	for _, ref := range in.Tasks {
		t := s.findTask(cluster, ref)
		if t == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("task/" + cluster + "/" + ref)
			}
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		tasks = append(tasks, s.taskOut(t, cluster, now))
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func (s *Server) taskOut(t *task, cluster string, now time.Time) map[string]any {
	last := t.lastStatus(now)
	o := map[string]any{
		"taskArn": t.arn, "clusterArn": s.clusterArn(cluster), "taskDefinitionArn": t.taskDef.arn, "group": t.group,
		"startedBy": t.startedBy, "lastStatus": last, "desiredStatus": t.desiredStatus(now), "launchType": t.launchType,
		"createdAt": ts(t.createdAt), "availabilityZone": s.opts.Region + "a", "connectivity": "CONNECTED",
		"connectivityAt": ts(t.createdAt), "healthStatus": "UNKNOWN", "version": 1,
		"cpu": fmt.Sprint(t.taskDef.raw["cpu"]), "memory": fmt.Sprint(t.taskDef.raw["memory"]),
	}
	if t.launchType == "FARGATE" {
		o["platformVersion"] = "1.4.0"
	}
	if last == "RUNNING" || (last == "STOPPED" && !t.broken && !t.runningAt.After(t.stoppedAt(now))) {
		o["startedAt"] = ts(t.runningAt)
		o["pullStartedAt"] = ts(t.createdAt)
		o["pullStoppedAt"] = ts(t.runningAt)
		o["version"] = 3
	}
	exit := 0
	if stopped := t.stoppedAt(now); !stopped.IsZero() {
		o["stoppingAt"] = ts(stopped)
		o["stoppedAt"] = ts(stopped)
		o["executionStoppedAt"] = ts(stopped)
		o["stoppedReason"] = t.stopReason
		o["stopCode"] = "ServiceSchedulerInitiated"
		if t.broken {
			o["stopCode"], exit = "TaskFailedToStart", 1
		}
		o["version"] = 5
	} else if !t.stopAt.IsZero() {
		o["stoppingAt"] = ts(now)
	}
	var containers []map[string]any
	for _, c := range t.taskDef.containers {
		co := map[string]any{
			"containerArn": s.arn("container/" + cluster + "/" + t.id + "/" + c.Name), "taskArn": t.arn, "name": c.Name,
			"image": c.Image, "lastStatus": last, "runtimeId": t.id + "-" + c.Name, "healthStatus": "UNKNOWN",
		}
		if last == "STOPPED" {
			co["exitCode"] = exit
		}
		containers = append(containers, co)
	}
	o["containers"] = containers
	return o
}

// Task definitions.

type containerDefinition struct {
	Name             string            `json:"name"`
	Image            string            `json:"image"`
	LogConfiguration *logConfiguration `json:"logConfiguration"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

var familyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *Server) opRegisterTaskDefinition(in *map[string]any, now time.Time) (any, *apiError) {
	td, err := s.registerTaskDefinition(*in, now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"taskDefinition": s.taskDefOut(td), "tags": td.tags}, nil
}

func (s *Server) registerTaskDefinition(raw map[string]any, now time.Time) (*taskDef, *apiError) {
	var typed struct {
		Family               string                `json:"family"`
		ContainerDefinitions []containerDefinition `json:"containerDefinitions"`
		Tags                 []tag                 `json:"tags"`
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &typed); err != nil {
		return nil, &apiError{Type: "SerializationException", Message: err.Error(), Status: 400}
	}
	if !familyRE.MatchString(typed.Family) {
		return nil, errf("ClientException", "Family contains invalid characters or is empty.")
	}
	if len(typed.ContainerDefinitions) == 0 {
		return nil, errf("ClientException", "Container list cannot be empty.")
	}
	for _, c := range typed.ContainerDefinitions {
		if c.Name == "" {
			return nil, errf("ClientException", "Container.name should not be null or empty.")
		}
		if c.Image == "" {
			return nil, errf("ClientException", "Container.image should not be null or empty.")
		}
	}
	if err := validateTags(typed.Tags); err != nil {
		return nil, err
	}
	delete(raw, "tags")
	rev := len(s.taskDefs[typed.Family]) + 1
	td := &taskDef{
		arn: s.arn(fmt.Sprintf("task-definition/%s:%d", typed.Family, rev)), family: typed.Family, revision: rev,
		status: "ACTIVE", registeredAt: now, raw: raw, containers: typed.ContainerDefinitions, tags: typed.Tags,
	}
	s.taskDefs[typed.Family] = append(s.taskDefs[typed.Family], td)
	return td, nil
}

func (s *Server) taskDefOut(td *taskDef) map[string]any {
	o := map[string]any{}
	for k, v := range td.raw {
		o[k] = v
	}
	o["taskDefinitionArn"] = td.arn
	o["family"] = td.family
	o["revision"] = td.revision
	o["status"] = td.status
	o["registeredAt"] = ts(td.registeredAt)
	o["registeredBy"] = "arn:aws:iam::" + s.opts.AccountID + ":root"
	o["compatibilities"] = []string{"EC2", "FARGATE", "EXTERNAL"}
	return o
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func (s *Server) opDescribeTaskDefinition(in *describeTaskDefinitionInput, now time.Time) (any, *apiError) {
	td := s.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, errf("ClientException", "Unable to describe task definition.")
	}
	out := map[string]any{"taskDefinition": s.taskDefOut(td)}
	if contains(in.Include, "TAGS") {
		out["tags"] = td.tags
	}
	return out, nil
}

// Tags.

type tagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

// tagsOf finds the tag list of a service or task definition ARN.
func (s *Server) tagsOf(arn string) (*[]tag, *apiError) {
	if !strings.HasPrefix(arn, "arn:aws:ecs:") {
		return nil, invalidParam("Invalid resource ARN: %s", arn)
	}
	if _, rest, ok := strings.Cut(arn, ":service/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) != 2 {
			return nil, invalidParam("Long arn format must be used for tagging operations.")
		}
		svc := s.services[parts[0]+"/"+parts[1]]
		if svc == nil || svc.status == "INACTIVE" || svc.arn != arn {
			return nil, errf("ResourceNotFoundException", "The specified resource could not be found.")
		}
		return &svc.tags, nil
	}
	if strings.Contains(arn, ":task-definition/") {
		if td := s.taskDef(arn); td != nil {
			return &td.tags, nil
		}
	}
	return nil, errf("ResourceNotFoundException", "The specified resource could not be found.")
}

func (s *Server) opTagResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalidParam("tags can not be empty.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		replaced := false
		for i := range *tags {
			if (*tags)[i].Key == t.Key {
				(*tags)[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			*tags = append(*tags, t)
		}
	}
	return map[string]any{}, nil
}

func (s *Server) opUntagResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	kept := []tag{}
	for _, t := range *tags {
		if !contains(in.TagKeys, t.Key) {
			kept = append(kept, t)
		}
	}
	*tags = kept
	return map[string]any{}, nil
}

func (s *Server) opListTagsForResource(in *tagResourceInput, now time.Time) (any, *apiError) {
	tags, err := s.tagsOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": append([]tag{}, *tags...)}, nil
}

// registerDemoTaskDefinitions adds web:1, web:2, worker:1 and crashloop:1,
// all logging to CloudWatch Logs with the awslogs driver.
func (s *Server) registerDemoTaskDefinitions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registerDemoTaskDefinitionsLocked()
}

func (s *Server) registerDemoTaskDefinitionsLocked() {
	now := s.opts.Now()
	def := func(family, container, image string) map[string]any {
		return map[string]any{
			"family": family, "networkMode": "awsvpc", "requiresCompatibilities": []any{"FARGATE", "EC2"},
			"cpu": "256", "memory": "512",
			"executionRoleArn": "arn:aws:iam::" + s.opts.AccountID + ":role/ecsTaskExecutionRole",
			"containerDefinitions": []any{map[string]any{
				"name": container, "image": image, "essential": true,
				"portMappings": []any{map[string]any{"containerPort": 80, "protocol": "tcp"}},
				"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
					"awslogs-group": "/ecs/" + family, "awslogs-region": s.opts.Region, "awslogs-stream-prefix": "ecs"}},
			}},
		}
	}
	for _, d := range []map[string]any{
		def("web", "web", "public.ecr.aws/nginx/nginx:1.25"),
		def("web", "web", "public.ecr.aws/nginx/nginx:1.27"),
		def("worker", "worker", "public.ecr.aws/docker/library/busybox:1.36"),
		def("crashloop", "app", "public.ecr.aws/docker/library/busybox:broken"),
	} {
		if _, err := s.registerTaskDefinition(d, now); err != nil {
			panic("ecsemu: demo task definition: " + err.Message)
		}
	}
}

package ecsemu

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Services: CreateService, DescribeServices, UpdateService, DeleteService, ListServices.

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

package ecsemu_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
)

// clock is a manual clock: tests move time instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const step = 100 * time.Millisecond

type env struct {
	clk  *clock
	srv  *ecsemu.Server
	url  string
	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

func newEnv(t *testing.T, opts ecsemu.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Now = clk.Now
	opts.TaskStart = step
	opts.DrainTime = 5 * step
	opts.LogInterval = step / 2
	srv := ecsemu.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &env{clk: clk, srv: srv, url: hs.URL}
	e.ecs = e.ecsClient(ecsemu.DemoAccessKeyID, ecsemu.DemoSecretAccessKey, "")
	e.logs = cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(ecsemu.DemoAccessKeyID, ecsemu.DemoSecretAccessKey, "")})
	return e
}

func (e *env) ecsClient(key, secret, token string) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, token)})
}

func (e *env) describe(t *testing.T, name string) types.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Services: []string{name}, Include: []types.ServiceField{"TAGS"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("describe %s: %+v", name, out.Failures)
	}
	return out.Services[0]
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()

	td, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(td.TaskDefinition.TaskDefinitionArn); !strings.HasSuffix(got, ":task-definition/web:2") {
		t.Fatalf("latest web revision = %s", got)
	}
	if lc := td.TaskDefinition.ContainerDefinitions[0].LogConfiguration; lc == nil || lc.Options["awslogs-group"] != "/ecs/web" {
		t.Fatalf("awslogs options lost: %+v", lc)
	}

	created, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("shop"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2),
		LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, AssignPublicIp: types.AssignPublicIpEnabled}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := created.Service
	if aws.ToString(svc.ServiceArn) != "arn:aws:ecs:us-east-1:123456789012:service/default/shop" || aws.ToString(svc.Status) != "ACTIVE" {
		t.Fatalf("created: %s %s", aws.ToString(svc.ServiceArn), aws.ToString(svc.Status))
	}
	if len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress || svc.RunningCount != 0 {
		t.Fatalf("new service deployments: %+v running %d", svc.Deployments, svc.RunningCount)
	}
	if svc.CreatedAt == nil || !svc.CreatedAt.Equal(e.clk.Now()) {
		t.Fatalf("createdAt %v, want %v", svc.CreatedAt, e.clk.Now())
	}

	// Running counts climb one task per step, then the rollout completes.
	for want := int32(1); want <= 2; want++ {
		e.clk.Advance(step)
		s := e.describe(t, "shop")
		if s.RunningCount != want {
			t.Fatalf("after %d steps running = %d", want, s.RunningCount)
		}
	}
	s := e.describe(t, "shop")
	if s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || !strings.Contains(aws.ToString(s.Events[0].Message), "steady state") {
		t.Fatalf("rollout %s events %v", s.Deployments[0].RolloutState, aws.ToString(s.Events[0].Message))
	}
	if len(s.Tags) != 1 || aws.ToString(s.Tags[0].Key) != "team" {
		t.Fatalf("tags: %+v", s.Tags)
	}

	// A new task definition starts a second deployment; the old one retires when it completes.
	up, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("shop"), TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Service.Deployments) != 2 || aws.ToString(up.Service.Deployments[0].Status) != "PRIMARY" || aws.ToString(up.Service.Deployments[1].Status) != "ACTIVE" {
		t.Fatalf("update deployments: %+v", up.Service.Deployments)
	}
	e.clk.Advance(2 * step)
	s = e.describe(t, "shop")
	if len(s.Deployments) != 1 || !strings.HasSuffix(aws.ToString(s.TaskDefinition), "web:2") || s.RunningCount != 2 {
		t.Fatalf("after update: %d deployments, td %s, running %d", len(s.Deployments), aws.ToString(s.TaskDefinition), s.RunningCount)
	}

	// Scaling alone does not start a deployment.
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("shop"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(step)
	s = e.describe(t, "shop")
	if len(s.Deployments) != 1 || s.DesiredCount != 3 || s.RunningCount != 3 {
		t.Fatalf("scaled: deployments %d desired %d running %d", len(s.Deployments), s.DesiredCount, s.RunningCount)
	}

	// Tasks.
	lt, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.TaskArns) != 3 {
		t.Fatalf("running tasks: %d", len(lt.TaskArns))
	}
	stopped, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("shop"), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if len(stopped.TaskArns) != 2 {
		t.Fatalf("stopped tasks: %d", len(stopped.TaskArns))
	}
	dt, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: append(lt.TaskArns, "nope")})
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Tasks) != 3 || len(dt.Failures) != 1 || aws.ToString(dt.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe tasks: %d tasks, failures %+v", len(dt.Tasks), dt.Failures)
	}
	for _, task := range dt.Tasks {
		if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.Group) != "service:shop" || task.StartedAt == nil {
			t.Fatalf("task: %s %s", aws.ToString(task.LastStatus), aws.ToString(task.Group))
		}
	}

	// Delete: refused while scaled above 0, then DRAINING, then INACTIVE.
	_, err = e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("shop")})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "scaled above 0") {
		t.Fatalf("delete without force: %v", err)
	}
	del, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("shop"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("deleted status %s", aws.ToString(del.Service.Status))
	}
	ls, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.ServiceArns) != 0 {
		t.Fatalf("draining service listed: %v", ls.ServiceArns)
	}
	_, err = e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("shop"), DesiredCount: aws.Int32(1)})
	var sna *types.ServiceNotActiveException
	if !errors.As(err, &sna) {
		t.Fatalf("update draining: %v", err)
	}
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("shop"), TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1)})
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "Draining") {
		t.Fatalf("create over draining: %v", err)
	}
	e.clk.Advance(5 * step)
	if st := aws.ToString(e.describe(t, "shop").Status); st != "INACTIVE" {
		t.Fatalf("after drain: %s", st)
	}
	// An INACTIVE name can be used again.
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("shop"), TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("shop"), TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1)})
	if !errors.As(err, &ipe) || !strings.Contains(ipe.ErrorMessage(), "not idempotent") {
		t.Fatalf("duplicate create: %v", err)
	}
}

func TestListServicesPaging(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	want := map[string]bool{}
	for i := 0; i < 23; i++ {
		name := "svc-" + string(rune('a'+i))
		lt := types.LaunchTypeEc2
		if i%3 == 0 {
			lt = types.LaunchTypeExternal
		}
		if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("worker:1"),
			DesiredCount: aws.Int32(0), LaunchType: lt}); err != nil {
			t.Fatal(err)
		}
		want[name] = true
	}
	seen := map[string]int{}
	pages := 0
	p := ecs.NewListServicesPaginator(e.ecs, &ecs.ListServicesInput{MaxResults: aws.Int32(7)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.ServiceArns) > 7 {
			t.Fatalf("page of %d", len(out.ServiceArns))
		}
		for _, arn := range out.ServiceArns {
			seen[arn[strings.LastIndex(arn, "/")+1:]]++
		}
		// A service created mid-listing must not disturb the pages.
		if pages == 1 {
			if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("aaa-late"), TaskDefinition: aws.String("worker:1"), DesiredCount: aws.Int32(0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pages != 4 {
		t.Fatalf("pages = %d, want 4", pages)
	}
	for name := range want {
		if seen[name] != 1 {
			t.Fatalf("%s seen %d times", name, seen[name])
		}
	}
	def, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil || len(def.ServiceArns) != 10 || def.NextToken == nil {
		t.Fatalf("default page: %d %v", len(def.ServiceArns), err)
	}
	ext, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{LaunchType: types.LaunchTypeExternal, MaxResults: aws.Int32(100)})
	if err != nil || len(ext.ServiceArns) != 8 {
		t.Fatalf("launchType filter: %d %v", len(ext.ServiceArns), err)
	}
	for _, bad := range []int32{0, 101} {
		_, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{MaxResults: aws.Int32(bad)})
		if apiCode(err) != "InvalidParameterException" {
			t.Fatalf("maxResults %d: %v", bad, err)
		}
	}
	if _, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{NextToken: aws.String("garbage!")}); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")}); apiCode(err) != "ClusterNotFoundException" {
		t.Fatalf("bad cluster: %v", err)
	}
}

// TestServiceDeployments covers ListServiceDeployments as boto3 documents
// it: status filter, createdAt before/after, nextToken/maxResults paging.
func TestServiceDeployments(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("api"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	times = append(times, e.clk.Now())
	for i := 0; i < 6; i++ {
		e.clk.Advance(2 * step) // each completes before the next
		times = append(times, e.clk.Now())
		if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("api"), ForceNewDeployment: true}); err != nil {
			t.Fatal(err)
		}
	}
	// The last one is still in progress; all before it succeeded.
	list := func(in *ecs.ListServiceDeploymentsInput) []types.ServiceDeploymentBrief {
		t.Helper()
		var all []types.ServiceDeploymentBrief
		for {
			out, err := e.ecs.ListServiceDeployments(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && len(out.ServiceDeployments) > int(*in.MaxResults) {
				t.Fatalf("page larger than maxResults")
			}
			all = append(all, out.ServiceDeployments...)
			if out.NextToken == nil {
				return all
			}
			in.NextToken = out.NextToken
		}
	}
	all := list(&ecs.ListServiceDeploymentsInput{Service: aws.String("api"), MaxResults: aws.Int32(2)})
	if len(all) != 7 {
		t.Fatalf("deployments: %d", len(all))
	}
	seen := map[string]bool{}
	for i, d := range all {
		if seen[aws.ToString(d.ServiceDeploymentArn)] {
			t.Fatal("repeated deployment across pages")
		}
		seen[aws.ToString(d.ServiceDeploymentArn)] = true
		if i > 0 && d.CreatedAt.After(*all[i-1].CreatedAt) {
			t.Fatal("not newest first")
		}
		if !strings.Contains(aws.ToString(d.ServiceDeploymentArn), ":service-deployment/default/api/") || aws.ToString(d.ServiceArn) == "" ||
			!strings.Contains(aws.ToString(d.TargetServiceRevisionArn), ":service-revision/default/api/") {
			t.Fatalf("brief: %+v", d)
		}
	}
	if all[0].Status != types.ServiceDeploymentStatusInProgress || all[1].Status != types.ServiceDeploymentStatusSuccessful || all[1].FinishedAt == nil {
		t.Fatalf("statuses: %s %s", all[0].Status, all[1].Status)
	}
	inProgress := list(&ecs.ListServiceDeploymentsInput{Service: aws.String("api"), Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusInProgress}})
	if len(inProgress) != 1 {
		t.Fatalf("IN_PROGRESS filter: %d", len(inProgress))
	}
	ok := list(&ecs.ListServiceDeploymentsInput{Service: aws.String("api"), Status: []types.ServiceDeploymentStatus{"SUCCESSFUL", "IN_PROGRESS"}})
	if len(ok) != 7 {
		t.Fatalf("two statuses: %d", len(ok))
	}
	// created strictly after times[2] and before times[5]: the deployments of times[3], times[4].
	window := list(&ecs.ListServiceDeploymentsInput{Service: aws.String("api"),
		CreatedAt: &types.CreatedAt{After: aws.Time(times[2]), Before: aws.Time(times[5])}})
	if len(window) != 2 || !window[0].CreatedAt.Equal(times[4]) || !window[1].CreatedAt.Equal(times[3]) {
		t.Fatalf("createdAt window: %+v", window)
	}
	if _, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("api"), Status: []types.ServiceDeploymentStatus{"BOGUS"}}); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("bogus status: %v", err)
	}
	_, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("ghost")})
	var snf *types.ServiceNotFoundException
	if !errors.As(err, &snf) {
		t.Fatalf("missing service: %v", err)
	}
	def := list(&ecs.ListServiceDeploymentsInput{Service: aws.String("api")})
	if len(def) != 7 {
		t.Fatalf("default page size lost items: %d", len(def))
	}

	// Describe, then roll the in-progress one back.
	arn := aws.ToString(all[0].ServiceDeploymentArn)
	desc, err := e.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn, arn + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.ServiceDeployments) != 1 || len(desc.Failures) != 1 {
		t.Fatalf("describe: %d, failures %d", len(desc.ServiceDeployments), len(desc.Failures))
	}
	sd := desc.ServiceDeployments[0]
	if sd.TargetServiceRevision == nil || sd.TargetServiceRevision.RequestedTaskCount != 1 || len(sd.SourceServiceRevisions) != 1 {
		t.Fatalf("describe detail: %+v", sd)
	}
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	status := func() types.ServiceDeploymentStatus {
		out, err := e.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		return out.ServiceDeployments[0].Status
	}
	if st := status(); st != types.ServiceDeploymentStatusRollbackRequested {
		t.Fatalf("after stop: %s", st)
	}
	e.clk.Advance(step / 2)
	if st := status(); st != types.ServiceDeploymentStatusRollbackInProgress {
		t.Fatalf("then: %s", st)
	}
	e.clk.Advance(step)
	if st := status(); st != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Fatalf("finally: %s", st)
	}
	_, err = e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)})
	if apiCode(err) != "ConflictException" {
		t.Fatalf("stop finished deployment: %v", err)
	}
	_, err = e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn + "zz")})
	var sdnf *types.ServiceDeploymentNotFoundException
	if !errors.As(err, &sdnf) {
		t.Fatalf("stop unknown: %v", err)
	}
}

func TestCircuitBreakerRollback(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("cb"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(1),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(step)
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("cb"), TaskDefinition: aws.String("crashloop")}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(3 * step) // threshold 3 failures
	s := e.describe(t, "cb")
	if len(s.Deployments) != 3 || !strings.Contains(aws.ToString(s.Deployments[0].RolloutStateReason), "rolling back") ||
		s.Deployments[1].RolloutState != types.DeploymentRolloutStateFailed || s.Deployments[1].FailedTasks != 3 {
		t.Fatalf("after trip: %+v", s.Deployments)
	}
	e.clk.Advance(step)
	s = e.describe(t, "cb")
	if !strings.HasSuffix(aws.ToString(s.TaskDefinition), "web:1") || s.RunningCount != 1 || len(s.Deployments) != 1 {
		t.Fatalf("after rollback: td %s running %d", aws.ToString(s.TaskDefinition), s.RunningCount)
	}
	out, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("cb"), Status: []types.ServiceDeploymentStatus{"ROLLBACK_SUCCESSFUL"}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("rolled back deployment: %v %v", out, err)
	}
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t, ecsemu.Options{Credentials: []ecsemu.Credential{
		{AccessKeyID: "AKID1", SecretAccessKey: "secret1"},
		{AccessKeyID: "ASIATEMP", SecretAccessKey: "secret2", SessionToken: "tok"},
		{AccessKeyID: "AKIDRO", SecretAccessKey: "secret3", ReadOnly: true},
	}})
	ctx := context.Background()
	cases := []struct {
		name, key, secret, token, want string
	}{
		{"good", "AKID1", "secret1", "", ""},
		{"wrong secret", "AKID1", "nope", "", "InvalidSignatureException"},
		{"unknown key", "AKIDX", "secret1", "", "UnrecognizedClientException"},
		{"session token", "ASIATEMP", "secret2", "tok", ""},
		{"missing session token", "ASIATEMP", "secret2", "", "UnrecognizedClientException"},
		{"wrong session token", "ASIATEMP", "secret2", "other", "UnrecognizedClientException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.ecsClient(c.key, c.secret, c.token).ListServices(ctx, &ecs.ListServicesInput{})
			if got := apiCode(err); got != c.want {
				t.Fatalf("got %q (%v), want %q", got, err, c.want)
			}
		})
	}
	ro := e.ecsClient("AKIDRO", "secret3", "")
	if _, err := ro.ListServices(ctx, &ecs.ListServicesInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := ro.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("x"), TaskDefinition: aws.String("web")})
	var ade *types.AccessDeniedException
	if !errors.As(err, &ade) {
		t.Fatalf("read-only create: %v", err)
	}
	good := e.ecsClient("AKID1", "secret1", "")
	_, err = good.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{}})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("empty services: %v", err)
	}
	_, err = good.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("ghost"), DesiredCount: aws.Int32(1)})
	var snf *types.ServiceNotFoundException
	if !errors.As(err, &snf) || snf.ErrorMessage() == "" {
		t.Fatalf("typed ServiceNotFoundException: %v", err)
	}
	// A missing service in DescribeServices is a failure, not an error.
	out, err := good.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"ghost"}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/default/ghost" {
		t.Fatalf("missing: %+v %v", out, err)
	}
	_, err = good.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:9")})
	var ce *types.ClientException
	if !errors.As(err, &ce) {
		t.Fatalf("missing task definition: %v", err)
	}
}

func TestTagsAndTaskDefinitions(t *testing.T) {
	e := newEnv(t, ecsemu.Options{NoTaskDefinitions: true})
	ctx := context.Background()
	reg, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("svc"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:1"),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/svc", "awslogs-stream-prefix": "p", "awslogs-region": "us-east-1"}}}},
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.TaskDefinition.Revision != 1 || reg.TaskDefinition.Status != "ACTIVE" {
		t.Fatalf("registered: %+v", reg.TaskDefinition)
	}
	if _, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("svc"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app")}}}); apiCode(err) != "ClientException" {
		t.Fatalf("no image: %v", err)
	}
	d, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, Include: []types.TaskDefinitionField{"TAGS"}})
	if err != nil || len(d.Tags) != 1 {
		t.Fatalf("describe with tags: %+v %v", d, err)
	}
	cs, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("t"), TaskDefinition: aws.String("svc"), DesiredCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	arn := cs.Service.ServiceArn
	if _, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "3" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	_, err = e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/default/ghost")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("tags of ghost: %v", err)
	}
	if _, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}}); apiCode(err) != "InvalidParameterException" {
		t.Fatalf("reserved tag: %v", err)
	}
}

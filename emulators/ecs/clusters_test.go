package ecsemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
)

// TestClusters covers what boto3 users call first: create_cluster,
// describe_clusters and list_clusters, beside the default cluster.
func TestClusters(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	e.srv.SeedDemo()

	// The default cluster exists and counts the seeded services and tasks.
	e.clk.Advance(4 * step)
	d, err := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Clusters) != 1 || len(d.Failures) != 0 {
		t.Fatalf("describe default: %+v failures %+v", d.Clusters, d.Failures)
	}
	def := d.Clusters[0]
	if aws.ToString(def.ClusterName) != "default" || aws.ToString(def.Status) != "ACTIVE" ||
		aws.ToString(def.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/default" {
		t.Fatalf("default cluster: %s %s %s", aws.ToString(def.ClusterName), aws.ToString(def.Status), aws.ToString(def.ClusterArn))
	}
	if def.ActiveServicesCount != 3 || def.RunningTasksCount != 4 || def.PendingTasksCount != 0 {
		t.Fatalf("default counts: services %d running %d pending %d", def.ActiveServicesCount, def.RunningTasksCount, def.PendingTasksCount)
	}
	if def.Tags != nil || def.Settings != nil {
		t.Fatalf("tags/settings without include: %+v %+v", def.Tags, def.Settings)
	}

	// create_cluster with tags and a setting.
	c, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("batch"),
		Tags:     []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(c.Cluster.ClusterArn) != "arn:aws:ecs:us-east-1:123456789012:cluster/batch" || aws.ToString(c.Cluster.Status) != "ACTIVE" ||
		c.Cluster.ActiveServicesCount != 0 || c.Cluster.RunningTasksCount != 0 {
		t.Fatalf("created: %+v", c.Cluster)
	}
	if len(c.Cluster.Tags) != 1 || aws.ToString(c.Cluster.Tags[0].Value) != "data" ||
		len(c.Cluster.Settings) != 1 || aws.ToString(c.Cluster.Settings[0].Value) != "enabled" {
		t.Fatalf("created tags %+v settings %+v", c.Cluster.Tags, c.Cluster.Settings)
	}
	// CreateCluster is idempotent: the same name answers the existing cluster.
	again, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("batch")})
	if err != nil || len(again.Cluster.Tags) != 1 {
		t.Fatalf("create again: %v %+v", err, again)
	}

	// A service on the new cluster is counted there, not on default.
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("batch"), ServiceName: aws.String("job"),
		TaskDefinition: aws.String("worker:1"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(step)
	d, err = e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{"batch", "arn:aws:ecs:us-east-1:123456789012:cluster/default", "nope"},
		Include:  []types.ClusterField{types.ClusterFieldTags, types.ClusterFieldSettings}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Clusters) != 2 || aws.ToString(d.Clusters[0].ClusterName) != "batch" || aws.ToString(d.Clusters[1].ClusterName) != "default" {
		t.Fatalf("described: %+v", d.Clusters)
	}
	if b := d.Clusters[0]; b.ActiveServicesCount != 1 || b.RunningTasksCount != 1 || b.PendingTasksCount != 1 || len(b.Tags) != 1 {
		t.Fatalf("batch counts: services %d running %d pending %d tags %+v", b.ActiveServicesCount, b.RunningTasksCount, b.PendingTasksCount, b.Tags)
	}
	if dd := d.Clusters[1]; dd.ActiveServicesCount != 3 || dd.Tags == nil || len(dd.Tags) != 0 ||
		len(dd.Settings) != 1 || aws.ToString(dd.Settings[0].Value) != "disabled" {
		t.Fatalf("default with include: %+v", dd)
	}
	if len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" ||
		aws.ToString(d.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:cluster/nope" {
		t.Fatalf("failures: %+v", d.Failures)
	}

	// list_clusters, paged.
	var arns []string
	p := ecs.NewListClustersPaginator(e.ecs, &ecs.ListClustersInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ClusterArns) > 1 {
			t.Fatalf("page of %d", len(out.ClusterArns))
		}
		arns = append(arns, out.ClusterArns...)
	}
	if strings.Join(arns, ",") != "arn:aws:ecs:us-east-1:123456789012:cluster/batch,arn:aws:ecs:us-east-1:123456789012:cluster/default" {
		t.Fatalf("listed: %v", arns)
	}

	// Tags on a cluster ARN.
	batchArn := aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/batch")
	if _, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: batchArn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: batchArn})
	if err != nil || len(lt.Tags) != 2 {
		t.Fatalf("cluster tags: %v %+v", err, lt)
	}

	// delete_cluster: refused while it has services, then INACTIVE and unlisted.
	if _, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("batch")}); apiCode(err) != "ClusterContainsServicesException" {
		t.Fatalf("delete with services: %v", err)
	}
	if _, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("batch"), Service: aws.String("job"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(5 * step)
	del, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("batch")})
	if err != nil || aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Fatalf("delete: %v %+v", err, del)
	}
	d, err = e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"batch"}})
	if err != nil || len(d.Clusters) != 1 || aws.ToString(d.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("describe deleted: %v %+v", err, d)
	}
	if _, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("batch")}); apiCode(err) != "ClusterNotFoundException" {
		t.Fatalf("list services of deleted cluster: %v", err)
	}
	l, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(l.ClusterArns) != 1 {
		t.Fatalf("list after delete: %v %v", err, l.ClusterArns)
	}
}

// TestClusterInputErrors: bad names, settings and includes are refused with AWS's error types.
func TestClusterInputErrors(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"bad name": func() error {
			_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("no spaces")})
			return err
		},
		"bad setting": func() error {
			_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"),
				Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("maybe")}}})
			return err
		},
		"reserved tag": func() error {
			_, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x"),
				Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
			return err
		},
		"bad include": func() error {
			_, err := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Include: []types.ClusterField{"NOPE"}})
			return err
		},
		"bad maxResults": func() error {
			_, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{MaxResults: aws.Int32(101)})
			return err
		},
	} {
		if code := apiCode(call()); code != "InvalidParameterException" {
			t.Errorf("%s: %q, want InvalidParameterException", name, code)
		}
	}
	if _, err := e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nope")}); apiCode(err) != "ClusterNotFoundException" {
		t.Errorf("delete unknown: %v", err)
	}
	// A read-only key may describe and list clusters but not create one.
	ro := newEnv(t, ecsemu.Options{Credentials: []ecsemu.Credential{{AccessKeyID: "RO", SecretAccessKey: "s", ReadOnly: true}}})
	c := ro.ecsClient("RO", "s", "")
	if _, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Errorf("read-only describe: %v", err)
	}
	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("read-only list: %v", err)
	}
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("x")}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("read-only create: %v", err)
	}
}

// recorder keeps every response body the SDK client receives.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]byte // by X-Amz-Target, the last one
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.bodies[req.Header.Get("X-Amz-Target")] = b
	r.mu.Unlock()
	return resp, nil
}

// nullPath returns the path of the first JSON null in v, or "".
func nullPath(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, e := range x {
			if p := nullPath(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := nullPath(e, path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestNoNullMembers: AWS leaves out a member it has no value for; it never
// answers null. Every operation's answer, for services with and without the
// optional members, is checked for a null anywhere.
func TestNoNullMembers(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	rec := &recorder{bodies: map[string][]byte{}}
	c := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1,
		HTTPClient:  &http.Client{Transport: rec},
		Credentials: credentials.NewStaticCredentialsProvider(ecsemu.DemoAccessKeyID, ecsemu.DemoSecretAccessKey, "")})
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for target, b := range rec.bodies {
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: %v", target, err)
			}
			if p := nullPath(v, "$"); p != "" {
				t.Errorf("%s answers null at %s: %s", target, p, b)
			}
			if target != "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition" {
				delete(rec.bodies, target)
			}
		}
	}
	must(c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("bare"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:1")}}}))
	check()
	must(c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("bare"), Include: []types.TaskDefinitionField{"TAGS"}}))
	must(c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("plain"), TaskDefinition: aws.String("bare"), DesiredCount: aws.Int32(1)}))
	must(c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("full"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2),
		LaunchType:           types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &types.DeploymentConfiguration{
			Alarms:                   &types.DeploymentAlarms{Enable: true, AlarmNames: []string{"a"}},
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
	check()
	e.clk.Advance(step)
	must(c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("full"), TaskDefinition: aws.String("web:2")}))
	for _, name := range []string{"plain", "full"} {
		must(c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{name, "missing"}, Include: []types.ServiceField{"TAGS"}}))
		check()
		sd, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String(name)})
		must(sd, err)
		check()
		var arns []string
		for _, s := range sd.ServiceDeployments {
			arns = append(arns, aws.ToString(s.ServiceDeploymentArn))
		}
		must(c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns}))
		check()
		lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(name)})
		must(lt, err)
		must(c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: append(lt.TaskArns, "missing")}))
		check()
	}
	must(c.ListServices(ctx, &ecs.ListServicesInput{}))
	must(c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bare")}))
	must(c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"bare", "missing"},
		Include: []types.ClusterField{"TAGS", "SETTINGS", "STATISTICS"}}))
	must(c.ListClusters(ctx, &ecs.ListClustersInput{}))
	must(c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/bare")}))
	check()

	// RegisterTaskDefinition leaves out "tags" when there are none, as AWS does.
	rec.mu.Lock()
	reg := rec.bodies["AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"]
	rec.mu.Unlock()
	if bytes.Contains(reg, []byte(`"tags"`)) {
		t.Errorf("RegisterTaskDefinition without tags answers a tags member: %s", reg)
	}
}

package ecsemu_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	ecsemu "github.com/wharfhq/wharf/emulators/ecs"
)

func TestLogs(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	ctx := context.Background()
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("logsvc"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// Tasks run at 1 and 2 steps; lines every half step: 5 + 3 lines at 3 steps.
	e.clk.Advance(3 * step)

	streams, err := e.logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/ecs/web"), LogStreamNamePrefix: aws.String("ecs/web/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams.LogStreams) != 2 {
		t.Fatalf("streams: %d", len(streams.LogStreams))
	}
	tasks, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("logsvc")})
	if err != nil {
		t.Fatal(err)
	}
	taskIDs := map[string]bool{}
	for _, arn := range tasks.TaskArns {
		taskIDs[arn[strings.LastIndex(arn, "/")+1:]] = true
	}
	var first string
	counts := map[int]bool{}
	for _, ls := range streams.LogStreams {
		name := aws.ToString(ls.LogStreamName)
		id := strings.TrimPrefix(name, "ecs/web/")
		if !taskIDs[id] {
			t.Fatalf("stream %s is not <prefix>/<container>/<task-id> of a task", name)
		}
		// Read it whole with the official paginator, which stops when the same token comes back.
		var msgs []string
		p := cloudwatchlogs.NewGetLogEventsPaginator(e.logs, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String("/ecs/web"), LogStreamName: ls.LogStreamName, StartFromHead: aws.Bool(true), Limit: aws.Int32(2)},
			func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
		var lastTS int64
		for pages := 0; p.HasMorePages(); pages++ {
			if pages > 10 {
				t.Fatal("paginator never saw the same token back")
			}
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range out.Events {
				if aws.ToInt64(ev.Timestamp) < lastTS {
					t.Fatal("events out of order")
				}
				lastTS = aws.ToInt64(ev.Timestamp)
				msgs = append(msgs, aws.ToString(ev.Message))
			}
		}
		for i, m := range msgs {
			if want := fmt.Sprintf("logsvc %s line %d", id, i+1); m != want {
				t.Fatalf("line %d = %q, want %q", i, m, want)
			}
		}
		counts[len(msgs)] = true
		if len(msgs) == 5 {
			first = name
		}
	}
	if !counts[5] || !counts[3] {
		t.Fatalf("line counts: %v", counts)
	}

	// Follow: at the end the forward token comes back unchanged, then new lines appear behind it.
	get := func(in *cloudwatchlogs.GetLogEventsInput) *cloudwatchlogs.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("/ecs/web"), aws.String(first)
		out, err := e.logs.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := get(&cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true)})
	end := get(&cloudwatchlogs.GetLogEventsInput{NextToken: all.NextForwardToken})
	if len(end.Events) != 0 || aws.ToString(end.NextForwardToken) != aws.ToString(all.NextForwardToken) {
		t.Fatalf("at end: %d events, token %s vs %s", len(end.Events), aws.ToString(end.NextForwardToken), aws.ToString(all.NextForwardToken))
	}
	e.clk.Advance(step)
	more := get(&cloudwatchlogs.GetLogEventsInput{NextToken: all.NextForwardToken})
	if len(more.Events) != 2 || aws.ToString(more.Events[0].Message) != strings.Replace(aws.ToString(all.Events[0].Message), "line 1", "line 6", 1) {
		t.Fatalf("followed: %+v", more.Events)
	}
	// Without a token and startFromHead the newest events come; backward goes before them.
	tail := get(&cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2)})
	if len(tail.Events) != 2 || !strings.HasSuffix(aws.ToString(tail.Events[1].Message), "line 7") {
		t.Fatalf("tail: %+v", tail.Events)
	}
	back := get(&cloudwatchlogs.GetLogEventsInput{NextToken: tail.NextBackwardToken, Limit: aws.Int32(2)})
	if len(back.Events) != 2 || !strings.HasSuffix(aws.ToString(back.Events[1].Message), "line 5") {
		t.Fatalf("backward: %+v", back.Events)
	}
	// startTime is inclusive, endTime exclusive.
	ts3 := aws.ToInt64(all.Events[2].Timestamp)
	win := get(&cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), StartTime: aws.Int64(ts3), EndTime: aws.Int64(ts3 + 50*2)})
	if len(win.Events) != 2 || aws.ToInt64(win.Events[0].Timestamp) != ts3 {
		t.Fatalf("time window: %+v", win.Events)
	}

	// FilterLogEvents over the prefix, paged three at a time: 7 + 5 lines, each once, by time.
	seen := map[string]bool{}
	var lastTS int64
	p := cloudwatchlogs.NewFilterLogEventsPaginator(e.logs, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/ecs/web"), LogStreamNamePrefix: aws.String("ecs/web/"), Limit: aws.Int32(3)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 10 {
			t.Fatal("filter paging does not end")
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) > 3 {
			t.Fatal("page over limit")
		}
		for _, ev := range out.Events {
			if seen[aws.ToString(ev.EventId)] || aws.ToInt64(ev.Timestamp) < lastTS {
				t.Fatalf("repeated or unordered event %+v", ev)
			}
			seen[aws.ToString(ev.EventId)] = true
			lastTS = aws.ToInt64(ev.Timestamp)
		}
	}
	if len(seen) != 12 {
		t.Fatalf("filtered events: %d", len(seen))
	}
	fl, err := e.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/web"), FilterPattern: aws.String(`"line 2"`)})
	if err != nil || len(fl.Events) != 2 || fl.NextToken != nil {
		t.Fatalf("filter pattern: %+v %v", fl, err)
	}

	_, err = e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String("x")})
	var rnf *logtypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("missing group: %v", err)
	}
	_, err = e.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String("ecs/web/nope")})
	if !errors.As(err, &rnf) {
		t.Fatalf("missing stream: %v", err)
	}
	_, err = e.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamNamePrefix: aws.String("a"), LogStreamNames: []string{"b"}})
	var ipe *logtypes.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Fatalf("both stream selectors: %v", err)
	}
}

func TestSeedDemo(t *testing.T) {
	e := newEnv(t, ecsemu.Options{})
	e.srv.SeedDemo()
	cfg := e.srv.DemoConfig(e.url)
	if cfg["endpoint"] != e.url || cfg["logs_endpoint"] != e.url || cfg["access_key_id"] != ecsemu.DemoAccessKeyID || cfg["region"] != "us-east-1" {
		t.Fatalf("demo config: %v", cfg)
	}
	out, err := e.ecs.ListServices(context.Background(), &ecs.ListServicesInput{})
	if err != nil || len(out.ServiceArns) != 3 {
		t.Fatalf("seeded: %v %v", out, err)
	}
	e.clk.Advance(2 * step)
	if s := e.describe(t, "web"); s.RunningCount != 2 {
		t.Fatalf("web running %d", s.RunningCount)
	}
}

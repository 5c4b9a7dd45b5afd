package dockeremu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// clock is a manual clock for tests.
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

func newEngine(t *testing.T, opts Options) (*Server, *client.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.StartDelay == 0 {
		opts.StartDelay = 600 * time.Millisecond
	}
	emu := New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	cli, err := client.New(client.WithHost("tcp://" + strings.TrimPrefix(srv.URL, "http://"))) // negotiates the API version
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return emu, cli, clk
}

func u64(n uint64) *uint64 { return &n }

// inspect is the client's ServiceInspect, the service alone.
func inspect(ctx context.Context, cli *client.Client, ref string, insertDefaults bool) (swarm.Service, error) {
	got, err := cli.ServiceInspect(ctx, ref, client.ServiceInspectOptions{InsertDefaults: insertDefaults})
	return got.Service, err
}

func webSpec(name string, replicas uint64) swarm.ServiceSpec {
	return swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: name, Labels: map[string]string{"app": "shop"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx:1.27", Env: []string{"A=1"}}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u64(replicas)}},
		EndpointSpec: &swarm.EndpointSpec{Ports: []swarm.PortConfig{{TargetPort: 80, PublishedPort: 8080}}},
	}
}

// TestOfficialClient drives the emulator with the official Docker Go client.
func TestOfficialClient(t *testing.T) {
	ctx := context.Background()
	_, cli, clk := newEngine(t, Options{})

	ping, err := cli.Ping(ctx, client.PingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ping.APIVersion != DefaultAPIVersion || ping.SwarmStatus == nil || ping.SwarmStatus.NodeState != swarm.LocalNodeStateActive {
		t.Fatalf("ping = %+v", ping)
	}
	created, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: webSpec("web", 2)})
	if err != nil {
		t.Fatal(err)
	}
	if cli.ClientVersion() != DefaultAPIVersion {
		t.Fatalf("negotiated %s", cli.ClientVersion())
	}
	if len(created.ID) != 25 {
		t.Fatalf("id %q", created.ID)
	}
	_, err = cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: webSpec("web", 1)})
	if !cerrdefs.IsConflict(err) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	other := webSpec("worker", 1)
	other.EndpointSpec = nil
	other.Labels = map[string]string{"app": "batch"}
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: other}); err != nil {
		t.Fatal(err)
	}
	global := webSpec("agent", 0)
	global.Mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
	global.EndpointSpec = nil
	global.Labels = map[string]string{"role": "agent"}
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: global}); err != nil {
		t.Fatal(err)
	}

	// List with filters.
	for _, tc := range []struct {
		args client.Filters
		want []string
	}{
		{client.Filters{}, []string{"web", "worker", "agent"}},
		{make(client.Filters).Add("name", "web"), []string{"web"}},
		{make(client.Filters).Add("name", "w"), []string{"web", "worker"}}, // name is a prefix match
		{make(client.Filters).Add("label", "app=batch"), []string{"worker"}},
		{make(client.Filters).Add("label", "app"), []string{"web", "worker"}},
		{make(client.Filters).Add("mode", "global"), []string{"agent"}},
		{make(client.Filters).Add("id", created.ID[:5]), []string{"web"}},
	} {
		list, err := cli.ServiceList(ctx, client.ServiceListOptions{Filters: tc.args})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Spec.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.want) {
			t.Errorf("filters %v: got %v want %v", tc.args, names, tc.want)
		}
	}
	_, err = cli.ServiceList(ctx, client.ServiceListOptions{Filters: make(client.Filters).Add("bogus", "x")})
	if !cerrdefs.IsInvalidArgument(err) {
		t.Fatalf("bogus filter: %v", err)
	}

	// Status counts move as tasks start.
	status := func() *swarm.ServiceStatus {
		list, err := cli.ServiceList(ctx, client.ServiceListOptions{Status: true, Filters: make(client.Filters).Add("id", created.ID)})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("list: %v %d", err, len(list.Items))
		}
		return list.Items[0].ServiceStatus
	}
	if st := status(); st.RunningTasks != 0 || st.DesiredTasks != 2 {
		t.Fatalf("status at start: %+v", st)
	}
	clk.Advance(time.Second)
	if st := status(); st.RunningTasks != 2 || st.DesiredTasks != 2 {
		t.Fatalf("status after start: %+v", st)
	}

	// Inspect by ID, name and prefix; insertDefaults.
	for _, ref := range []string{created.ID, "web", created.ID[:8]} {
		got, err := cli.ServiceInspect(ctx, ref, client.ServiceInspectOptions{})
		if err != nil || got.Service.ID != created.ID {
			t.Fatalf("inspect %s: %v", ref, err)
		}
		if !bytes.Contains(got.Raw, []byte(`"Isolation":"default"`)) || got.Service.Spec.UpdateConfig != nil {
			t.Fatalf("inspect without defaults: %s", got.Raw)
		}
	}
	svc, err := inspect(ctx, cli, "web", true)
	if err != nil {
		t.Fatal(err)
	}
	if uc := svc.Spec.UpdateConfig; uc == nil || uc.Parallelism != 1 || uc.FailureAction != "pause" || uc.Monitor != 5*time.Second || uc.Order != "stop-first" {
		t.Fatalf("update config defaults: %+v", uc)
	}
	if rp := svc.Spec.TaskTemplate.RestartPolicy; rp == nil || rp.Condition != "any" || *rp.Delay != 5*time.Second {
		t.Fatalf("restart defaults: %+v", rp)
	}
	if len(svc.Endpoint.Ports) != 1 || svc.Endpoint.Ports[0].Protocol != "tcp" || svc.Endpoint.Ports[0].PublishMode != "ingress" {
		t.Fatalf("endpoint: %+v", svc.Endpoint)
	}
	_, err = cli.ServiceInspect(ctx, "nope", client.ServiceInspectOptions{})
	if !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspect missing: %v", err)
	}

	// Tasks.
	tasks, err := cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", "web").Add("desired-state", "running")})
	if err != nil || len(tasks.Items) != 2 {
		t.Fatalf("tasks: %v %d", err, len(tasks.Items))
	}
	for _, tk := range tasks.Items {
		if tk.Status.State != swarm.TaskStateRunning || tk.ServiceID != created.ID || tk.Status.ContainerStatus == nil {
			t.Fatalf("task %+v", tk)
		}
	}
	tk, err := cli.TaskInspect(ctx, tasks.Items[0].ID, client.TaskInspectOptions{})
	if err != nil || tk.Task.ID != tasks.Items[0].ID || !bytes.Contains(tk.Raw, []byte(`"DesiredState":"running"`)) {
		t.Fatalf("task inspect: %v %s", err, tk.Raw)
	}
	if _, err := cli.TaskInspect(ctx, "nope", client.TaskInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("task inspect missing: %v", err)
	}

	// Update: stale version refused, then a real update rolls out and completes.
	stale := svc.Version
	spec := svc.Spec
	spec.TaskTemplate.ContainerSpec.Image = "nginx:1.28"
	if _, err := cli.ServiceUpdate(ctx, "web", client.ServiceUpdateOptions{Version: stale, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ServiceUpdate(ctx, "web", client.ServiceUpdateOptions{Version: stale, Spec: spec}); err == nil || !strings.Contains(err.Error(), "update out of sequence") {
		t.Fatalf("stale update: %v", err)
	}
	svc, _ = inspect(ctx, cli, "web", false)
	if svc.UpdateStatus == nil || svc.UpdateStatus.State != swarm.UpdateStateUpdating || svc.PreviousSpec == nil {
		t.Fatalf("after update: %+v", svc.UpdateStatus)
	}
	clk.Advance(time.Second)
	svc, _ = inspect(ctx, cli, "web", false)
	if svc.UpdateStatus.State != swarm.UpdateStateCompleted || svc.UpdateStatus.CompletedAt == nil {
		t.Fatalf("update not completed: %+v", svc.UpdateStatus)
	}
	tasks, _ = cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", created.ID)})
	if len(tasks.Items) != 4 {
		t.Fatalf("want 2 old + 2 new tasks, got %d", len(tasks.Items))
	}

	// Rollback to the previous spec.
	if _, err := cli.ServiceUpdate(ctx, "web", client.ServiceUpdateOptions{Version: svc.Version, Spec: svc.Spec, Rollback: "previous"}); err != nil {
		t.Fatal(err)
	}
	svc, _ = inspect(ctx, cli, "web", false)
	if svc.UpdateStatus.State != swarm.UpdateStateRollbackStarted || svc.Spec.TaskTemplate.ContainerSpec.Image != "nginx:1.27" {
		t.Fatalf("rollback: %+v %s", svc.UpdateStatus, svc.Spec.TaskTemplate.ContainerSpec.Image)
	}
	clk.Advance(time.Second)
	svc, _ = inspect(ctx, cli, "web", false)
	if svc.UpdateStatus.State != swarm.UpdateStateRollbackCompleted {
		t.Fatalf("rollback not completed: %+v", svc.UpdateStatus)
	}
	w, _ := inspect(ctx, cli, "worker", false)
	if _, err := cli.ServiceUpdate(ctx, "worker", client.ServiceUpdateOptions{Version: w.Version, Spec: w.Spec, Rollback: "previous"}); !cerrdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "does not have a previous spec") {
		t.Fatalf("rollback without previous: %v", err)
	}

	// Logs, demultiplexed by the official stdcopy.
	clk.Advance(10 * time.Second)
	rc, err := cli.ServiceLogs(ctx, "worker", client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	outLines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	errLines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(outLines)+len(errLines) < 10 || len(errLines) == 0 {
		t.Fatalf("logs: %q / %q", stdout.String(), stderr.String())
	}
	first := strings.SplitN(outLines[0], " ", 3)
	if _, err := time.Parse(time.RFC3339Nano, first[0]); err != nil || !strings.HasPrefix(first[1], "com.docker.swarm.node.id=") || first[2] != "worker.1 line 1" {
		t.Fatalf("log line %q", outLines[0])
	}
	rc, err = cli.ServiceLogs(ctx, "worker", client.ServiceLogsOptions{ShowStdout: true, Tail: "2"})
	if err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	_, _ = stdcopy.StdCopy(&stdout, &stderr, rc)
	rc.Close()
	if got := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(got) != 1 || stderr.Len() != 0 {
		// the last two lines are one stdout and one stderr line
		t.Fatalf("tail 2 stdout only: %q", stdout.String())
	}

	// Remove.
	if _, err := cli.ServiceRemove(ctx, "web", client.ServiceRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ServiceRemove(ctx, "web", client.ServiceRemoveOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("remove twice: %v", err)
	}
	if _, err := cli.ServiceInspect(ctx, created.ID, client.ServiceInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspect removed: %v", err)
	}
	// The filter names a removed service: the engine answers 404.
	if _, err := cli.TaskList(ctx, client.TaskListOptions{Filters: make(client.Filters).Add("service", created.ID)}); !cerrdefs.IsNotFound(err) {
		t.Fatalf("tasks of removed service: %v", err)
	}
}

func TestNotInSwarm(t *testing.T) {
	ctx := context.Background()
	_, cli, _ := newEngine(t, Options{NotInSwarm: true})
	ping, err := cli.Ping(ctx, client.PingOptions{})
	if err != nil || ping.SwarmStatus == nil || ping.SwarmStatus.NodeState != swarm.LocalNodeStateInactive {
		t.Fatalf("ping: %+v %v", ping, err)
	}
	_, err = cli.ServiceList(ctx, client.ServiceListOptions{})
	if !cerrdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "This node is not part of a swarm") {
		t.Fatalf("list: %v", err)
	}
}

func TestWireDetails(t *testing.T) {
	emu := New(Options{StartDelay: time.Millisecond})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	do := func(method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.String()
	}
	resp, body := do("HEAD", "/_ping", "")
	if resp.StatusCode != 200 || resp.Header.Get("Api-Version") != DefaultAPIVersion || resp.Header.Get("Swarm") != "active/manager" || body != "" {
		t.Fatalf("HEAD ping: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, body = do("GET", "/v1.41/_ping", "")
	if body != "OK" || !strings.HasPrefix(resp.Header.Get("Server"), "Docker/") || resp.Header.Get("Ostype") != "linux" {
		t.Fatalf("GET ping: %q %v", body, resp.Header)
	}
	resp, body = do("POST", "/v1.41/services/create", `{"Name":"a","TaskTemplate":{"ContainerSpec":{"Image":"x:1"}}}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"ID":`) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/services/create", `{"Name":"a","TaskTemplate":{"ContainerSpec":{"Image":"x:1"}}}`, 409, "service a already exists"},
		{"POST", "/services/create", `{"Name":"b"}`, 400, "mismatched Runtime and *Spec fields"},
		{"POST", "/services/create", `{"Name":"b","TaskTemplate":{"ContainerSpec":{}}}`, 400, "image reference must be provided"},
		{"POST", "/services/create", `nojson`, 400, "invalid character"},
		{"POST", "/services/a/update?version=999&rollback=previous", `{}`, 400, "mismatched Runtime"},
		{"POST", "/services/create", `{"Name":"bad name","TaskTemplate":{"ContainerSpec":{"Image":"x"}}}`, 400, "DNS name component"},
		{"GET", "/v1.99/services", "", 400, "is too new"},
		{"GET", "/services/zzz", "", 404, "service zzz not found"},
		{"POST", "/services/a/update", `{"Name":"a","TaskTemplate":{"ContainerSpec":{"Image":"x:2"}}}`, 400, "invalid service version"},
		{"POST", "/services/a/update?version=1", `{"Name":"a","TaskTemplate":{"ContainerSpec":{"Image":"x:2"}}}`, 500, "update out of sequence"},
		{"GET", "/services/a/logs", "", 400, "you must choose at least one stream"},
		{"GET", `/tasks?filters={"desired-state":["nope"]}`, "", 500, "Invalid desired-state filter"},
		{"GET", `/tasks?filters={"bogus":["x"]}`, "", 400, "invalid filter 'bogus'"},
		{"GET", `/tasks?filters={"service":["zzz"]}`, "", 404, "service zzz not found"},
		{"GET", "/tasks/zzz", "", 404, "task zzz not found"},
	} {
		resp, body := do(tc.method, tc.path, tc.body)
		var e struct{ Message string }
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s %s: %d %q %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestLogsFramesAndTTY checks the raw wire format of logs: frames cut
// lines when MaxFrameSize is small, and a TTY service answers raw text.
func TestLogsFramesAndTTY(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	emu := New(Options{Now: clk.Now, StartDelay: 100 * time.Millisecond, MaxFrameSize: 7})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	post := func(body string) {
		resp, err := http.Post(srv.URL+"/v1.47/services/create", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	post(`{"Name":"plain","TaskTemplate":{"ContainerSpec":{"Image":"x:1"}}}`)
	post(`{"Name":"term","TaskTemplate":{"ContainerSpec":{"Image":"x:1","TTY":true}}}`)
	clk.Advance(5*time.Second + 100*time.Millisecond)

	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	resp, body := get("/v1.47/services/plain/logs?stdout=1&stderr=1")
	if resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "plain.1 line 1\nplain.1 line 2\nplain.1 line 3\nplain.1 line 5\n" || stderr.String() != "plain.1 line 4\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if int(body[7]) > 7 {
		t.Fatalf("first frame longer than MaxFrameSize: % x", body[:8])
	}
	since := clk.Now().Add(-2 * time.Second)
	resp, body = get("/v1.47/services/term/logs?stdout=1&stderr=1&since=" + fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()))
	// since is inclusive: line 3 was written exactly at since.
	if resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" || string(body) != "term.1 line 3\r\nterm.1 line 4\r\nterm.1 line 5\r\n" {
		t.Fatalf("tty logs %q %q", resp.Header.Get("Content-Type"), body)
	}
}

// TestFollowLogs: follow=1 keeps the stream open and writes lines as the
// clock moves, until the client goes away.
func TestFollowLogs(t *testing.T) {
	_, cli, clk := newEngine(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	spec := webSpec("follow", 1)
	spec.EndpointSpec = nil
	if _, err := cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	rc, err := cli.ServiceLogs(ctx, "follow", client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				clk.Advance(time.Second)
			}
		}
	}()
	pr, pw := io.Pipe()
	go func() { _, err := stdcopy.StdCopy(pw, pw, rc); pw.CloseWithError(err) }()
	sc := bufio.NewScanner(pr)
	for n := 1; n <= 6; n++ {
		if !sc.Scan() {
			t.Fatalf("stream ended after %d lines: %v", n-1, sc.Err())
		}
		if want := fmt.Sprintf("follow.1 line %d", n); sc.Text() != want {
			t.Fatalf("line %d: %q, want %q", n, sc.Text(), want)
		}
	}
}

func TestSeedDemo(t *testing.T) {
	emu, cli, clk := newEngine(t, Options{})
	emu.SeedDemo()
	emu.SeedDemo() // a second seed adds nothing
	clk.Advance(5 * time.Second)
	list, err := cli.ServiceList(context.Background(), client.ServiceListOptions{Status: true})
	if err != nil || len(list.Items) != 5 {
		t.Fatalf("demo services: %v %d", err, len(list.Items))
	}
	running := 0
	for _, s := range list.Items {
		if s.ServiceStatus.RunningTasks > 0 {
			running++
		}
	}
	if running != 4 { // all but the crashing one
		t.Fatalf("%d demo services running", running)
	}
	if cfg := emu.DemoConfig("http://127.0.0.1:1"); cfg["host"] != "http://127.0.0.1:1" {
		t.Fatalf("demo config %v", cfg)
	}
}

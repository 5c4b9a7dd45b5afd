// Command runqgo is the Rust example plugin (plugins/examples/rust) written
// again in Go on pluginapi/plugin and its REST client: the same runq API
// calls, the same answers, under the name "runqgo". The benchmark suite
// (internal/benchfig, figure 11) measures the two side by side on one
// emulator, and the Rust example's test runs the conformance scenario on
// both, so the comparison stays between equals.
package main

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
	"github.com/wharfhq/wharf/pluginapi/plugin/rest"
)

func init() { plugin.Register(provider{}) }

func main() {}

// The schemas are the Rust plugin's (src/provider.rs), word for word.
const configSchema = `{
  "type": "object",
  "required": ["endpoint", "token"],
  "properties": {
    "endpoint": {"type": "string", "title": "API URL", "x-endpoint": true},
    "token": {"type": "string", "title": "API token", "x-secret": true}
  },
  "additionalProperties": false
}`

const specSchema = `{
  "type": "object",
  "required": ["name", "image"],
  "properties": {
    "name": {"type": "string", "title": "Name", "pattern": "^[a-z][a-z0-9-]{0,62}$"},
    "image": {"type": "string", "title": "Image", "minLength": 1},
    "replicas": {"type": "integer", "title": "Replicas", "minimum": 0, "maximum": 10, "default": 1},
    "env": {"type": "object", "title": "Environment", "additionalProperties": {"type": "string"}}
  },
  "additionalProperties": false
}`

// modeled are the job members the spec covers; update leaves the others.
var modeled = []string{"name", "image", "replicas", "env"}

type provider struct{}

func client() *rest.Client {
	return &rest.Client{Endpoint: "endpoint", Timeout: 10 * time.Second, MaxBodyBytes: 4 << 20,
		Auth: &pluginapi.Auth{Scheme: pluginapi.AuthBearer, Secret: "token"},
		ErrorMessage: func(body []byte) (string, string) {
			var e struct{ Message, Field string }
			_ = json.Unmarshal(body, &e)
			return e.Message, e.Field
		}}
}

func (provider) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Name: "runqgo", Version: "0.1.0", ABIVersion: pluginapi.ABIVersion, Title: "runq (Go twin of the Rust example)",
		ConfigSchema: json.RawMessage(configSchema), SpecSchema: json.RawMessage(specSchema),
		Operations: []string{pluginapi.OpCreate, pluginapi.OpGet, pluginapi.OpUpdate, pluginapi.OpDelete, pluginapi.OpList, pluginapi.OpLogs, pluginapi.OpLifecycle},
		Actions: []pluginapi.Action{
			{Name: pluginapi.ActionScale, Title: "Scale", ParamsSchema: json.RawMessage(`{"type":"object","required":["replicas"],"properties":{"replicas":{"type":"integer","minimum":0,"maximum":10}}}`)},
			{Name: pluginapi.ActionStop, Title: "Stop", Dangerous: true},
			{Name: pluginapi.ActionStart, Title: "Start"},
		},
		ListFilters: []string{"name"},
		Logs:        &pluginapi.LogsCapabilities{Tail: true, Timestamps: true, PollIntervalMS: 500},
	}
}

// job is runq's object: the members the plugin reads, typed, and the
// whole object as runq sent it (raw), so that nothing is lost.
type job struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Image     string            `json:"image"`
	Replicas  *int              `json:"replicas"`
	Env       map[string]string `json:"env"`
	State     string            `json:"state"`
	Revision  int               `json:"revision"`
	CreatedAt *time.Time        `json:"created_at"`
	UpdatedAt *time.Time        `json:"updated_at"`
	raw       json.RawMessage
}

func (j *job) UnmarshalJSON(b []byte) error {
	type plain job // without this method
	if err := json.Unmarshal(b, (*plain)(j)); err != nil {
		return err
	}
	j.raw = append(json.RawMessage(nil), b...)
	return nil
}

// jobSpec is a job's modeled members, the Service's spec.
type jobSpec struct {
	Name     string            `json:"name"`
	Image    string            `json:"image"`
	Replicas *int              `json:"replicas,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
}

func jobPath(id string) string { return "/v1/jobs/" + url.PathEscape(id) }

func fetch(ctx context.Context, r rest.Request) (*job, error) {
	j := new(job)
	if err := client().Do(ctx, r, j); err != nil {
		return nil, err
	}
	return j, nil
}

func (provider) Create(ctx context.Context, req *pluginapi.CreateRequest) (*pluginapi.ServiceResponse, error) {
	var spec map[string]any
	if err := rest.DecodeSpec(req.Spec, &spec); err != nil {
		return nil, err
	}
	j, err := fetch(ctx, rest.Request{Method: "POST", Path: "/v1/jobs", JSON: spec})
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: service(j)}, nil
}

func (provider) Get(ctx context.Context, req *pluginapi.GetRequest) (*pluginapi.ServiceResponse, error) {
	j, err := fetch(ctx, rest.Request{Method: "GET", Path: jobPath(req.ID)})
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: service(j)}, nil
}

func (provider) Update(ctx context.Context, req *pluginapi.UpdateRequest) (*pluginapi.ServiceResponse, error) {
	var spec map[string]any
	if err := rest.DecodeSpec(req.Spec, &spec); err != nil {
		return nil, err
	}
	j, err := fetch(ctx, rest.Request{Method: "GET", Path: jobPath(req.ID)})
	if err != nil {
		return nil, err
	}
	current := strconv.Itoa(j.Revision)
	if req.Version != "" && req.Version != current {
		return nil, pluginapi.Errorf(pluginapi.CodeConflict, "job %s is at revision %s, not %s", req.ID, current, req.Version)
	}
	var have map[string]any
	if err := json.Unmarshal(j.raw, &have); err != nil {
		return nil, pluginapi.Errorf(pluginapi.CodeInternal, "job %s: %v", req.ID, err)
	}
	patch := map[string]any{}
	for _, k := range modeled {
		want, ok := spec[k]
		if !ok && k == "replicas" {
			want = float64(1)
		}
		if !reflect.DeepEqual(want, have[k]) {
			patch[k] = want
		}
	}
	if len(patch) == 0 {
		return &pluginapi.ServiceResponse{Service: service(j)}, nil
	}
	j, err = fetch(ctx, rest.Request{Method: "PATCH", Path: jobPath(req.ID), Headers: map[string]string{"If-Match": current}, JSON: patch})
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: service(j)}, nil
}

func (provider) Delete(ctx context.Context, req *pluginapi.DeleteRequest) (*pluginapi.ServiceResponse, error) {
	if err := client().Do(ctx, rest.Request{Method: "DELETE", Path: jobPath(req.ID)}, nil); err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{}, nil
}

func (provider) List(ctx context.Context, req *pluginapi.ListRequest) (*pluginapi.ListResponse, error) {
	if err := rest.CheckFilters(req.Filters, "name"); err != nil {
		return nil, err
	}
	q := map[string][]string{}
	if names := req.Filters["name"]; len(names) > 0 {
		q["name"] = names
	}
	if req.PageSize > 0 {
		q["page_size"] = []string{strconv.Itoa(min(req.PageSize, 500))}
	}
	if req.PageToken != "" {
		q["page_token"] = []string{req.PageToken}
	}
	var page struct {
		Jobs []*job `json:"jobs"`
		Next string `json:"next_page_token"`
	}
	if err := client().Do(ctx, rest.Request{Method: "GET", Path: "/v1/jobs", Query: q}, &page); err != nil {
		return nil, err
	}
	out := &pluginapi.ListResponse{Services: make([]pluginapi.Service, 0, len(page.Jobs)), NextPageToken: page.Next}
	for _, j := range page.Jobs {
		out.Services = append(out.Services, *service(j))
	}
	return out, nil
}

func (provider) Logs(ctx context.Context, req *pluginapi.LogsRequest) (*pluginapi.LogsResponse, error) {
	limit := 1000
	if req.Limit > 0 {
		limit = min(req.Limit, 1000)
	}
	q := map[string][]string{"limit": {strconv.Itoa(limit)}}
	last := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(req.Cursor)
		if err != nil || n < 0 {
			return nil, pluginapi.Invalid("/cursor", "cursor %q was not made by this plugin", req.Cursor)
		}
		last = n
		q["after"] = []string{req.Cursor}
	} else if req.Tail > 0 {
		q["tail"] = []string{strconv.Itoa(req.Tail)}
	}
	var page struct {
		Lines []struct {
			Seq  int       `json:"seq"`
			Time time.Time `json:"time"`
			Text string    `json:"text"`
		} `json:"lines"`
		More bool `json:"more"`
	}
	if err := client().Do(ctx, rest.Request{Method: "GET", Path: jobPath(req.ID) + "/logs", Query: q}, &page); err != nil {
		return nil, err
	}
	out := &pluginapi.LogsResponse{Entries: make([]pluginapi.LogEntry, 0, len(page.Lines)), More: page.More}
	for _, l := range page.Lines {
		out.Entries = append(out.Entries, pluginapi.LogEntry{Time: pluginapi.Time(l.Time), Stream: "stdout", Message: l.Text})
		last = l.Seq
	}
	out.Cursor = strconv.Itoa(last)
	return out, nil
}

func (provider) Lifecycle(ctx context.Context, req *pluginapi.LifecycleRequest) (*pluginapi.ServiceResponse, error) {
	var r rest.Request
	switch req.Action {
	case pluginapi.ActionScale:
		var p pluginapi.ScaleParams
		if err := json.Unmarshal(req.Params, &p); err != nil || p.Replicas < 0 || p.Replicas > 10 {
			return nil, pluginapi.Invalid("/params/replicas", "replicas must be an integer from 0 to 10")
		}
		r = rest.Request{Method: "PATCH", Path: jobPath(req.ID), JSON: map[string]int{"replicas": p.Replicas}}
	case pluginapi.ActionStop, pluginapi.ActionStart:
		r = rest.Request{Method: "POST", Path: jobPath(req.ID) + "/" + req.Action}
	default:
		return nil, pluginapi.NotFound("runq has no action %q", req.Action)
	}
	j, err := fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	return &pluginapi.ServiceResponse{Service: service(j)}, nil
}

// service is the normalized view of a job, as the Rust plugin makes it.
func service(j *job) *pluginapi.Service {
	status := pluginapi.StatusUnknown
	switch j.State {
	case "running":
		status = pluginapi.StatusRunning
	case "stopped":
		status = pluginapi.StatusStopped
	}
	replicas := 1
	if j.Replicas != nil {
		replicas = *j.Replicas
	}
	running := 0
	if j.State == "running" {
		running = replicas
	}
	return &pluginapi.Service{ID: j.ID, Name: j.Name, Status: status, NativeStatus: j.State,
		Desired: pluginapi.Int(replicas), Running: pluginapi.Int(running), Image: j.Image,
		Version: strconv.Itoa(j.Revision), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Spec: rest.MustJSON(jobSpec{Name: j.Name, Image: j.Image, Replicas: j.Replicas, Env: j.Env}), Raw: j.raw}
}

var _ plugin.Provider = provider{}

package ops_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/host/ops/opstest"
	"github.com/wharfhq/wharf/pluginapi"
)

func titles(items []ops.TimelineItem, kind string) []string {
	var out []string
	for _, it := range items {
		if kind == "" || it.Kind == kind {
			out = append(out, it.Title)
		}
	}
	return out
}

// The timeline merges, newest first, the changes and actions made through
// the host with their actors, the status transitions it observed, the
// deployments and the instances; a failing source leaves a partial
// timeline that names it.
func TestTimeline(t *testing.T) {
	e := opstest.New(t, opstest.Options{})
	h, conn := e.Host, opstest.Conn
	alice := ops.Caller{Actor: "alice", Role: ops.RoleOperator}
	bob := ops.Caller{Actor: "bob", Role: ops.RoleOperator}

	id := must[*ops.ServiceResult](t)(h.CreateService(ctx, alice, conn, json.RawMessage(webSpec))).Service.ID
	must[*ops.ServiceResult](t)(h.PatchService(ctx, bob, conn, id, json.RawMessage(`{"image":"nginx:2"}`), ""))
	must[*ops.ServiceResult](t)(h.RunAction(ctx, alice, conn, id, "scale", json.RawMessage(`{"replicas":3}`)))
	_, err := h.RunAction(ctx, bob, conn, id, "scale", json.RawMessage(`{"replicas":"many"}`))
	wantCode(t, err, pluginapi.CodeInvalid)

	// The platform fails the service; two reads see it.
	must[*pluginapi.Service](t)(h.GetService(ctx, alice, conn, id))
	e.Platform.SetState(id, "FAILED")
	must[*pluginapi.Service](t)(h.GetService(ctx, alice, conn, id))
	must[*pluginapi.Service](t)(h.GetService(ctx, alice, conn, id))

	tl := must[*ops.Timeline](t)(h.Timeline(ctx, ops.Caller{Actor: "vera", Role: ops.RoleViewer}, conn, id, ops.TimelineOptions{}))
	if len(tl.Problems) != 0 {
		t.Fatalf("problems = %v", tl.Problems)
	}
	for i := 1; i < len(tl.Items); i++ {
		if tl.Items[i].Time.After(tl.Items[i-1].Time) {
			t.Fatalf("item %d (%s) is newer than item %d (%s)", i, tl.Items[i].Title, i-1, tl.Items[i-1].Title)
		}
	}
	changes := titles(tl.Items, "")
	var audited []string
	for _, it := range tl.Items {
		if it.Kind == ops.TimelineChange || it.Kind == ops.TimelineAction {
			audited = append(audited, it.Actor+": "+it.Title+" ["+it.Severity+"]")
		}
	}
	want := []string{
		"bob: Scale by bob refused (invalid) [warning]",
		"alice: Scaled to 3 by alice [ok]",
		"bob: Changed image by bob [ok]",
		"alice: Created by alice [ok]",
	}
	if strings.Join(audited, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audited items\n got %q\nwant %q", audited, want)
	}
	status := titles(tl.Items, ops.TimelineStatus)
	if len(status) != 1 || status[0] != "Status running → failed" {
		t.Fatalf("status items = %q (all: %q)", status, changes)
	}
	for _, it := range tl.Items {
		if it.Kind == ops.TimelineStatus && (it.Severity != ops.SeverityError || it.Detail != "0 of 3 running") {
			t.Fatalf("status item = %+v", it)
		}
	}
	if tl.Items[0].Kind != ops.TimelineStatus {
		t.Fatalf("newest item = %+v, want the failure", tl.Items[0])
	}
	if deps := titles(tl.Items, ops.TimelineDeployment); len(deps) != 2 || !strings.Contains(deps[0], "nginx:2") {
		t.Fatalf("deployment items = %q", deps)
	}

	// Limit bounds; a negative one is refused naming the field.
	if tl := must[*ops.Timeline](t)(h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{Limit: 2})); len(tl.Items) != 2 {
		t.Fatalf("limit 2: %d items", len(tl.Items))
	}
	_, err = h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{Limit: -1})
	if e := wantCode(t, err, pluginapi.CodeInvalid); e.Field != "/limit" {
		t.Fatalf("negative limit field = %q", e.Field)
	}

	// Running again: instances show; then the instances call fails.
	e.Platform.SetState(id, "RUNNING")
	must[*pluginapi.Service](t)(h.GetService(ctx, alice, conn, id))
	tl = must[*ops.Timeline](t)(h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{}))
	if st := titles(tl.Items, ops.TimelineStatus); len(st) != 2 || st[0] != "Status failed → running" {
		t.Fatalf("status items = %q", st)
	}
	if in := titles(tl.Items, ops.TimelineInstance); len(in) != 3 || !strings.HasSuffix(in[0], " running") {
		t.Fatalf("instance items = %q", in)
	}
	var breakInstances atomic.Bool
	breakInstances.Store(true)
	e.Platform.Hold = func(r *http.Request) {
		if breakInstances.Load() && strings.HasSuffix(r.URL.Path, "/instances") {
			panic(http.ErrAbortHandler) // the connection drops
		}
	}
	tl = must[*ops.Timeline](t)(h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{}))
	if len(tl.Problems) != 1 || !strings.HasPrefix(tl.Problems[0], "instances: ") {
		t.Fatalf("problems = %q", tl.Problems)
	}
	if in := titles(tl.Items, ops.TimelineInstance); len(in) != 0 {
		t.Fatalf("instance items with instances down = %q", in)
	}
	if len(titles(tl.Items, ops.TimelineChange)) != 2 {
		t.Fatalf("the audit part is missing from the partial timeline: %q", titles(tl.Items, ""))
	}
	breakInstances.Store(false)

	// The timeline reads the service itself: a failure nobody looked at
	// yet is there.
	e.Platform.SetState(id, "FAILED")
	tl = must[*ops.Timeline](t)(h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{}))
	if st := titles(tl.Items, ops.TimelineStatus); len(st) != 3 || st[0] != "Status running → failed" || len(tl.Problems) != 0 {
		t.Fatalf("unseen failure: status items %q, problems %q", st, tl.Problems)
	}

	// A deleted service keeps its history; what is gone is named.
	must[*ops.ServiceResult](t)(h.DeleteService(ctx, alice, conn, id, true))
	tl = must[*ops.Timeline](t)(h.Timeline(ctx, alice, conn, id, ops.TimelineOptions{}))
	if ch := titles(tl.Items, ops.TimelineChange); len(ch) != 3 || ch[0] != "Deleted (forced) by alice" {
		t.Fatalf("after delete: changes %q", ch)
	}
	if len(tl.Problems) == 0 || !strings.HasPrefix(tl.Problems[len(tl.Problems)-1], "service: not_found") {
		t.Fatalf("after delete: problems %q", tl.Problems)
	}
}

// A caller who may not read the connection learns of it what GetService
// would tell: nothing (not_found), and sees none of its audit entries.
func TestTimelineVisibility(t *testing.T) {
	e := scopedEnv(t)
	h := e.Host
	paula := selectorCaller(t, "paula", ops.RoleOperator, "team=payments")
	sam := selectorCaller(t, "sam", ops.RoleOperator, "team=search")
	id := must[*ops.ServiceResult](t)(h.CreateService(ctx, sam, "search", json.RawMessage(webSpec))).Service.ID

	_, getErr := h.GetService(ctx, paula, "search", id)
	_, err := h.Timeline(ctx, paula, "search", id, ops.TimelineOptions{})
	if pluginapi.CodeOf(err) != pluginapi.CodeOf(getErr) || pluginapi.CodeOf(err) != pluginapi.CodeNotFound {
		t.Fatalf("timeline error = %v, get error = %v; want the same not_found", err, getErr)
	}
	tl := must[*ops.Timeline](t)(h.Timeline(ctx, sam, "search", id, ops.TimelineOptions{}))
	if got := titles(tl.Items, ops.TimelineChange); len(got) != 1 || got[0] != "Created by sam" {
		t.Fatalf("sam's timeline changes = %q", got)
	}
	// The same service id on paula's own connection shows nothing of sam's.
	tl = must[*ops.Timeline](t)(h.Timeline(ctx, paula, "pay", id, ops.TimelineOptions{}))
	if got := titles(tl.Items, ops.TimelineChange); len(got) != 0 {
		t.Fatalf("paula's timeline on pay shows %q", got)
	}
}

package ops

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/host/audit"
	"github.com/wharfhq/wharf/pluginapi"
)

// Bounds of a timeline.
const (
	DefaultTimelineLimit = 50
	MaxTimelineLimit     = 200
	// maxTimelineText caps an item's title and detail (platform messages
	// and error texts may be long).
	maxTimelineText = 300
)

// Kinds of a TimelineItem.
const (
	TimelineChange     = "change"     // a create, update or delete through Wharf
	TimelineAction     = "action"     // a lifecycle action through Wharf
	TimelineStatus     = "status"     // a status transition the host observed
	TimelineDeployment = "deployment" // a rollout, as the plugin reports it
	TimelineInstance   = "instance"   // an instance's current state
)

// Severities of a TimelineItem.
const (
	SeverityOK      = "ok"
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// TimelineOptions shape a timeline.
type TimelineOptions struct {
	// Limit caps the items: 0 means DefaultTimelineLimit; above
	// MaxTimelineLimit is lowered to it.
	Limit int
}

// Timeline is what happened to a service, newest first.
type Timeline struct {
	Items []TimelineItem `json:"items"`
	// Problems name the sources that could not be read ("instances:
	// unavailable: ..."); the items are then partial.
	Problems []string `json:"problems,omitempty"`
}

// TimelineItem is one thing that happened.
type TimelineItem struct {
	Time time.Time `json:"time"`
	// Kind is one of TimelineChange, TimelineAction, TimelineStatus,
	// TimelineDeployment, TimelineInstance.
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Detail   string `json:"detail,omitempty"`
	Severity string `json:"severity"`
	// Actor is who asked (changes and actions).
	Actor string `json:"actor,omitempty"`
}

// Timeline merges, newest first, what is known of a service: the changes
// and actions of the audit log (as the caller may see it), the status
// transitions the host observed (its own read of the service included),
// the plugin's deployments and the instances' current states. A source that fails is named in Problems
// rather than failing the whole; one the plugin does not offer is left
// out. Viewer.
func (h *Host) Timeline(ctx context.Context, c Caller, conn, id string, o TimelineOptions) (*Timeline, error) {
	limit := o.Limit
	switch {
	case limit < 0:
		return nil, pluginapi.Invalid("/limit", "limit must not be negative")
	case limit == 0:
		limit = DefaultTimelineLimit
	case limit > MaxTimelineLimit:
		limit = MaxTimelineLimit
	}
	if id == "" {
		return nil, pluginapi.Invalid("/id", "a service id is required")
	}
	t, err := h.resolveFor(ctx, c, nil, conn, RoleViewer, "reading a service's timeline")
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out = &Timeline{Items: []TimelineItem{}}
		wg  sync.WaitGroup
	)
	add := func(source string, items []TimelineItem, err error) {
		mu.Lock()
		defer mu.Unlock()
		out.Items = append(out.Items, items...)
		if err != nil && pluginapi.CodeOf(err) != pluginapi.CodeUnsupported {
			e := pluginapi.AsError(err)
			out.Problems = append(out.Problems, fmt.Sprintf("%s: %s: %s", source, e.Code, clip(e.Message, maxTimelineText)))
		}
	}
	// A fresh read: the watcher sees the current status (a transition
	// nobody looked at yet), and an id given as a name is resolved.
	svcID := id
	wg.Go(func() {
		svc, err := h.getWith(ctx, t, id, GetOptions{})
		if err == nil {
			svcID = svc.ID
		}
		add("service", nil, err)
	})
	wg.Go(func() {
		entries, err := h.QueryAudit(ctx, c, audit.Filter{Connection: conn, Target: id, Limit: limit})
		add("audit", auditItems(entries), err)
	})
	if t.p.desc.Supports(pluginapi.OpDeployments) {
		wg.Go(func() {
			page, err := h.ListDeployments(ctx, c, conn, id, DeploymentsOptions{PageSize: limit})
			var items []TimelineItem
			if err == nil {
				items = deploymentItems(page.Deployments)
			}
			add("deployments", items, err)
		})
	}
	if t.p.desc.Supports(pluginapi.OpInstances) {
		wg.Go(func() {
			insts, err := h.ListInstances(ctx, c, conn, id)
			add("instances", instanceItems(insts, time.Now()), err)
		})
	}
	wg.Wait()
	out.Items = append(out.Items, statusItems(h.watch.transitions(conn, svcID))...)
	// Newest first; ties keep a fixed order (kind, then title).
	sort.SliceStable(out.Items, func(i, j int) bool {
		a, b := out.Items[i], out.Items[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.After(b.Time)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Title < b.Title
	})
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
	}
	sort.Strings(out.Problems)
	return out, nil
}

// auditItems are the service operations among entries (invokes change
// nothing and would crowd out the rest).
func auditItems(entries []audit.Entry) []TimelineItem {
	var out []TimelineItem
	for _, e := range entries {
		if !strings.HasPrefix(e.Operation, "service.") || e.Operation == "service.invoke" {
			continue
		}
		out = append(out, auditItem(e))
	}
	return out
}

func auditItem(e audit.Entry) TimelineItem {
	it := TimelineItem{Time: e.Time, Kind: TimelineChange, Actor: e.Actor, Severity: SeverityOK}
	done, tried := describeOperation(e)
	if strings.HasPrefix(e.Operation, "service.action:") {
		it.Kind = TimelineAction
	}
	by := ""
	if e.Actor != "" {
		by = " by " + e.Actor
	}
	switch e.Outcome {
	case audit.OutcomeOK:
		it.Title = done + by
	case audit.OutcomeError:
		it.Title, it.Severity = tried+by+" failed", SeverityError
	case audit.OutcomeDenied, audit.OutcomeInvalid:
		it.Title, it.Severity = tried+by+" refused ("+e.Outcome+")", SeverityWarning
	case audit.OutcomeInterrupted:
		it.Title, it.Severity = tried+by+" interrupted", SeverityWarning
	default: // incomplete: under way, or the host stopped
		it.Title, it.Severity = tried+by+" under way", SeverityInfo
	}
	if e.ErrorMessage != "" {
		it.Detail = e.ErrorCode + ": " + e.ErrorMessage
		if e.ErrorField != "" {
			it.Detail += " (" + e.ErrorField + ")"
		}
	}
	it.Detail = clip(cmp.Or(it.Detail, e.Note), maxTimelineText)
	it.Title = clip(it.Title, maxTimelineText)
	return it
}

// describeOperation says what an audited service operation did (done) and
// what it tried (tried), from its operation name and recorded request.
func describeOperation(e audit.Entry) (done, tried string) {
	var req struct {
		Patch  map[string]json.RawMessage `json:"patch"`
		Spec   map[string]json.RawMessage `json:"spec"`
		Force  bool                       `json:"force"`
		Params map[string]json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(e.Request, &req) // a record without a request says less
	switch e.Operation {
	case "service.create":
		return "Created", "Create"
	case "service.update":
		if req.Patch != nil {
			keys := make([]string, 0, len(req.Patch))
			for k := range req.Patch {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			what := strings.Join(keys, ", ")
			return "Changed " + what, "Change of " + what
		}
		if img := jsonString(req.Spec["image"]); img != "" {
			return "Updated (image " + img + ")", "Update (image " + img + ")"
		}
		return "Updated", "Update"
	case "service.delete":
		if req.Force {
			return "Deleted (forced)", "Forced delete"
		}
		return "Deleted", "Delete"
	}
	action := strings.TrimPrefix(e.Operation, "service.action:")
	if action == pluginapi.ActionScale {
		if n := strings.TrimSpace(string(req.Params["replicas"])); n != "" {
			return "Scaled to " + n, "Scale to " + n
		}
	}
	word := strings.ToUpper(action[:min(1, len(action))]) + action[min(1, len(action)):]
	return word + " done", word
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// statusItems are the transitions the watcher kept.
func statusItems(ts []transition) []TimelineItem {
	out := make([]TimelineItem, 0, len(ts))
	for _, t := range ts {
		title := "Status " + string(t.to)
		if t.from != "" {
			title = "Status " + string(t.from) + " → " + string(t.to)
		}
		var detail []string
		if t.message != "" {
			detail = append(detail, t.message)
		}
		if t.running != nil && t.desired != nil {
			detail = append(detail, fmt.Sprintf("%d of %d running", *t.running, *t.desired))
		}
		out = append(out, TimelineItem{Time: t.at, Kind: TimelineStatus, Title: title,
			Detail: strings.Join(detail, "; "), Severity: statusSeverity(t.to)})
	}
	return out
}

// statusSeverity is how much a service or instance status calls for
// attention.
func statusSeverity(s pluginapi.Status) string {
	switch s {
	case pluginapi.StatusRunning:
		return SeverityOK
	case pluginapi.StatusFailed:
		return SeverityError
	case pluginapi.StatusUnknown:
		return SeverityWarning
	}
	return SeverityInfo
}

// deploymentItems are the rollouts that carry a time (one without is
// nowhere on a timeline).
func deploymentItems(ds []pluginapi.Deployment) []TimelineItem {
	var out []TimelineItem
	for _, d := range ds {
		at := firstTime(d.FinishedAt, d.StartedAt, d.CreatedAt)
		if at.IsZero() {
			continue
		}
		title := "Deployment"
		if d.Rollback {
			title = "Rollback"
		}
		if d.Target != "" {
			title += " of " + d.Target
		}
		if d.Status != "" {
			title += ": " + d.Status
		}
		detail := d.ID
		if d.StatusReason != "" {
			detail = d.StatusReason + " (" + d.ID + ")"
		}
		out = append(out, TimelineItem{Time: at, Kind: TimelineDeployment, Title: clip(title, maxTimelineText),
			Detail: clip(detail, maxTimelineText), Severity: deploymentSeverity(d)})
	}
	return out
}

// deploymentSeverity reads the platform's own status word: plugins report
// it as the platform spells it, so only its common stems are known here.
func deploymentSeverity(d pluginapi.Deployment) string {
	s := strings.ToLower(d.Status)
	switch {
	case strings.Contains(s, "fail"), strings.Contains(s, "error"):
		return SeverityError
	case d.Rollback, strings.Contains(s, "roll"), strings.Contains(s, "stop"), strings.Contains(s, "cancel"):
		return SeverityWarning
	case strings.Contains(s, "success"), strings.Contains(s, "complete"), strings.Contains(s, "succeeded"):
		return SeverityOK
	}
	return SeverityInfo
}

// instanceItems are the instances' current states, each at its last
// update (or creation; else now, when it was read).
func instanceItems(insts []pluginapi.Instance, now time.Time) []TimelineItem {
	out := make([]TimelineItem, 0, len(insts))
	for _, in := range insts {
		name := cmp.Or(in.Name, in.ID)
		word := string(in.Status)
		switch in.Status {
		case pluginapi.StatusStopped:
			word = "shut down"
		case pluginapi.StatusPending:
			word = "starting"
		}
		title := "Instance " + name + " " + word
		// A message that only repeats the state ("shutdown") says nothing.
		if in.Message != "" && !strings.EqualFold(in.Message, in.NativeStatus) && !strings.EqualFold(in.Message, word) {
			title += ": " + in.Message
		}
		var detail []string
		if in.NativeStatus != "" {
			detail = append(detail, "platform status "+in.NativeStatus)
		}
		if in.DesiredState != "" {
			detail = append(detail, "desired "+in.DesiredState)
		}
		if in.Node != "" {
			detail = append(detail, "on "+in.Node)
		}
		at := firstTime(in.UpdatedAt, in.CreatedAt)
		if at.IsZero() {
			at = now
		}
		out = append(out, TimelineItem{Time: at, Kind: TimelineInstance, Title: clip(title, maxTimelineText),
			Detail: clip(strings.Join(detail, ", "), maxTimelineText), Severity: statusSeverity(in.Status)})
	}
	return out
}

func firstTime(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return time.Time{}
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

func countText(n int) string {
	if n == 1 {
		return "1 service"
	}
	return fmt.Sprintf("%d services", n)
}

// counts shows "running / desired" where the platform says.
func counts(running, desired *int) string {
	switch {
	case running != nil && desired != nil:
		return fmt.Sprintf("%d / %d", *running, *desired)
	case running != nil:
		return fmt.Sprintf("%d running", *running)
	case desired != nil:
		return fmt.Sprintf("%d desired", *desired)
	}
	return "—"
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// prettyJSON indents raw JSON for display; invalid JSON is shown as is.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func itoa(n int) string { return fmt.Sprint(n) }

// orDash returns the first non-empty value, or a dash.
func orDash(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return "—"
}

func intOrDash(n *int) string {
	if n == nil {
		return "—"
	}
	return fmt.Sprint(*n)
}

func endpointText(e pluginapi.Endpoint) string {
	var parts []string
	if e.Public != 0 {
		parts = append(parts, fmt.Sprintf("published %d", e.Public))
	}
	if e.Port != 0 {
		parts = append(parts, fmt.Sprintf("→ %d", e.Port))
	}
	if e.Protocol != "" {
		parts = append(parts, e.Protocol)
	}
	return strings.Join(parts, " ")
}

// KV is a name and its value, shown side by side (labels, headers, the
// members of a spec's map).
type KV struct{ Key, Value string }

func sortedPairs(m map[string]string) []KV {
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func durationText(ms float64) string {
	switch {
	case ms <= 0:
		return "—"
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

func actionNames(pl ops.PluginInfo) []string {
	var out []string
	for _, a := range pl.Describe.Actions {
		out = append(out, a.Name)
	}
	return out
}

// bytesText sizes a byte count for people.
func bytesText(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// failingTitle explains a failing connection's badge.
func failingTitle(f *ops.Failing) string {
	return fmt.Sprintf("Its plugin failed %d times in a row (last: %s: %s): calls fail fast until %s, when one is let through to test it",
		f.ConsecutiveFailures, f.Reason, f.LastError, fmtTime(&f.RetryAt))
}

package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/web/form"
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

// plural counts things in words: "1 field", "3 fields".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprint(n) + " " + many
}

// fieldLabel names the field at the JSON pointer ptr for a person: by its
// label among fields, whose pointers are relative to base ("/config" on a
// connection form); a pointer outside base by its segments.
func fieldLabel(fields []form.Field, base, ptr string) string {
	if rel, ok := strings.CutPrefix(ptr, base+"/"); ok && base != "" {
		return form.Label(fields, "/"+rel)
	}
	if base != "" {
		fields = nil
	}
	return form.Label(fields, ptr)
}

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

// endpointText describes an endpoint's ports: "published 8080 → 80/tcp"
// (outside → inside), "port 80/tcp", "published 8080/tcp".
func endpointText(e pluginapi.Endpoint) string {
	proto := ""
	if e.Protocol != "" {
		proto = "/" + e.Protocol
	}
	switch {
	case e.Public != 0 && e.Port != 0:
		return fmt.Sprintf("published %d → %d%s", e.Public, e.Port, proto)
	case e.Public != 0:
		return fmt.Sprintf("published %d%s", e.Public, proto)
	case e.Port != 0:
		return fmt.Sprintf("port %d%s", e.Port, proto)
	}
	return e.Protocol
}

// browsable reports whether a browser can open an endpoint's URL: http and
// https only (a tcp:// or grpc:// address is shown, not linked).
func browsable(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
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

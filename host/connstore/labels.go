package connstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/wharfhq/wharf/pluginapi"
)

// MaxLabels is the most labels a connection may carry.
const MaxLabels = 32

// CheckLabels validates labels by Kubernetes' rules (the ones kubectl
// applies, so that label selectors read the same everywhere): keys are
// qualified names with an optional DNS-subdomain prefix, values are at
// most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric, or
// empty. An invalid one is an invalid error at /labels/<key>; the first
// key in sorted order is reported, so the answer does not vary.
func CheckLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return pluginapi.Invalid("/labels", "at most %d labels, not %d", MaxLabels, len(labels))
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			return pluginapi.Invalid(LabelField(k), "label key %s is not valid: %s", quoteShort(k), strings.Join(errs, "; "))
		}
		if errs := content.IsLabelValue(labels[k]); len(errs) > 0 {
			return pluginapi.Invalid(LabelField(k), "label %s: value %s is not valid: %s", k, quoteShort(labels[k]), strings.Join(errs, "; "))
		}
	}
	return nil
}

// LabelField is the field path of the label key: /labels/<key>, the key
// escaped as a JSON pointer token (a prefixed key holds a "/").
func LabelField(key string) string {
	return "/labels/" + strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// quoteShort quotes s for a message, cut to a readable length: a refused
// key may be as long as the request allows.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// labelsJSON checks c.Labels and encodes them for the labels column
// (object keys sorted, so equal labels are equal text).
func labelsJSON(c Connection) (string, error) {
	if err := CheckLabels(c.Labels); err != nil {
		e := pluginapi.AsError(err)
		cp := *e
		cp.Message = "connection " + c.Name + ": " + e.Message
		return "", &cp
	}
	b, err := json.Marshal(CloneLabels(c.Labels))
	return string(b), err
}

// CloneLabels copies labels, nil as empty.
func CloneLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	maps.Copy(out, labels)
	return out
}

// decodeLabels reads the labels column of the row called name. Unreadable
// labels are an error, not "no labels": role bindings select connections
// by label, and a selector such as "!env" would match a connection whose
// labels were lost.
func decodeLabels(name, s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, &pluginapi.Error{Code: pluginapi.CodeInternal,
			Message: fmt.Sprintf("connection %s: stored labels are not a JSON object of strings", name)}
	}
	return m, nil
}

package main

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
)

// Conversions between the friendly spec's text values (durations, memory
// sizes, file modes) and the engine's numbers. The schema's patterns admit
// only what these parse; their errors still name the field, for a caller
// that skipped the schema.

var memoryPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtT]?)(?:i?[bB])?$`)

// parseDuration reads a Go duration such as "10s" or "1m30s"; "" is zero.
func parseDuration(v, field string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, pluginapi.Invalid(field, "%q is not a duration such as 500ms, 10s or 1m30s", v)
	}
	return d, nil
}

// durationPtr is parseDuration for an optional engine field: "" is unset.
func durationPtr(v, field string) (*time.Duration, error) {
	if v == "" {
		return nil, nil
	}
	d, err := parseDuration(v, field)
	return &d, err
}

// parseMemory reads bytes with an optional binary unit: "512M", "1.5G", "1GiB", "1048576".
func parseMemory(v, field string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	m := memoryPattern.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, pluginapi.Invalid(field, "%q is not a memory size such as 512M or 1G", v)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[strings.ToLower(m[2])]
	return int64(n * mult), nil
}

// formatMemory writes bytes with the largest binary unit that divides them.
func formatMemory(b int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if b >= u.size && b%u.size == 0 {
			return strconv.FormatInt(b/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

// parseMode reads an octal file mode such as "0444" or "1770"; "" is def.
func parseMode(v string, def uint32, field string) (uint32, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, pluginapi.Invalid(field, "%q is not an octal file mode such as 0444", v)
	}
	return uint32(n), nil
}

// formatMode writes a file mode in octal, with at least four digits.
func formatMode(m uint32) string {
	s := strconv.FormatUint(uint64(m), 8)
	if len(s) < 4 {
		s = strings.Repeat("0", 4-len(s)) + s
	}
	return s
}

func formatDuration(d time.Duration) string { return d.String() }

func nanoCPUs(cpus float64) int64 { return int64(math.Round(cpus * 1e9)) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nonEmpty is nil for an empty list, so that a spec read back omits it.
func nonEmpty[T any](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	return list
}

package dockeremu

import (
	"encoding/json"
	"strings"
)

// filterArgs is the engine's "filters" query parameter decoded: each term's
// set of values. The moby API module has only the client's half of it
// (client.Filters), so the engine's side — parsing, the accepted-terms check
// and label matching — lives here, with the engine's messages.
type filterArgs map[string]map[string]bool

// parseFilters decodes the filters parameter as the engine does: the map form
// {"name":{"web":true}}, or else the legacy list form {"name":["web"]}. An
// empty parameter is no filter.
func parseFilters(p string) (filterArgs, error) {
	args := filterArgs{}
	if p == "" {
		return args, nil
	}
	if err := json.Unmarshal([]byte(p), &args); err == nil {
		return args, nil
	}
	var legacy map[string][]string
	if err := json.Unmarshal([]byte(p), &legacy); err != nil {
		return filterArgs{}, invalidFilter("")
	}
	args = filterArgs{}
	for term, values := range legacy {
		set := map[string]bool{}
		for _, v := range values {
			set[v] = true
		}
		args[term] = set
	}
	return args, nil
}

// invalidFilter is the engine's error for an unreadable parameter ("") or an
// unknown term.
type invalidFilter string

func (e invalidFilter) Error() string {
	if e == "" {
		return "invalid filter"
	}
	return "invalid filter '" + string(e) + "'"
}

// Validate returns an error naming the first term not in accepted.
func (args filterArgs) Validate(accepted map[string]bool) error {
	for term := range args {
		if !accepted[term] {
			return invalidFilter(term)
		}
	}
	return nil
}

// Get returns the values of term, in no particular order.
func (args filterArgs) Get(term string) []string {
	out := make([]string, 0, len(args[term]))
	for v := range args[term] {
		out = append(out, v)
	}
	return out
}

// MatchKVList reports whether every value of term ("k" or "k=v") is among
// labels; a term with no values matches everything.
func (args filterArgs) MatchKVList(term string, labels map[string]string) bool {
	values := args[term]
	if len(values) == 0 {
		return true
	}
	if len(labels) == 0 {
		return false
	}
	for value := range values {
		k, v, hasValue := strings.Cut(value, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

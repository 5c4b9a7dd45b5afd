package main

import (
	"fmt"
	"net/url"

	"github.com/wharfhq/wharf/pluginapi"
)

// The friendly spec names secrets and configs; the engine's references
// carry their IDs too (docker-py and the CLI look them up the same way).

// maxRefListBytes bounds the answer of a secret or config listing.
const maxRefListBytes = 4 << 20

// resolveRefs looks up the IDs of the secrets and configs s names, one
// listing per kind (filtered by name, which the engine matches as a
// prefix: the plugin keeps exact names). A name the swarm does not have is
// invalid, naming the field.
func (e *engine) resolveRefs(s *Spec, secrets, configs bool) (refIDs, error) {
	ids := refIDs{secrets: map[string]string{}, configs: map[string]string{}}
	if secrets && len(s.Secrets) > 0 {
		if err := e.lookupRefs("/secrets", "secret", "/secrets", s.Secrets, ids.secrets); err != nil {
			return ids, err
		}
	}
	if configs && len(s.Configs) > 0 {
		if err := e.lookupRefs("/configs", "config", "/configs", s.Configs, ids.configs); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

func (e *engine) lookupRefs(path, kind, field string, refs []FileRef, into map[string]string) error {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Name)
	}
	var listed []struct {
		ID   string
		Spec struct{ Name string }
	}
	q := url.Values{"filters": {filtersJSON(map[string][]string{"name": names})}}
	if _, err := e.getJSON(call{method: "GET", path: path, query: q, maxBody: maxRefListBytes}, &listed); err != nil {
		return err
	}
	for _, l := range listed {
		into[l.Spec.Name] = l.ID
	}
	for i, r := range refs {
		if _, ok := into[r.Name]; !ok {
			return pluginapi.Invalid(fmt.Sprintf("%s/%d/name", field, i), "no %s named %q on this swarm (docker %s ls)", kind, r.Name, kind)
		}
	}
	return nil
}

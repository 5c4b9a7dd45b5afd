package dockeremu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// Secrets and configs: named blobs services reference by ID (and name).
// Both kinds share one store; they differ in their JSON and in whether
// the data is shown back (a config's is, a secret's never).

// object is one stored secret or config.
type object struct {
	id        string
	version   uint64
	createdAt time.Time
	updatedAt time.Time
	name      string
	labels    map[string]string
	data      []byte
}

// objectStore holds the objects of one kind, in creation order.
type objectStore struct {
	kind  string // "secret" or "config"
	byID  map[string]*object
	order []string
}

func newObjectStore(kind string) *objectStore {
	return &objectStore{kind: kind, byID: map[string]*object{}}
}

// lookup finds an object by full ID, exact name or unique ID prefix.
func (st *objectStore) lookup(ref string) (*object, error) {
	if o, ok := st.byID[ref]; ok {
		return o, nil
	}
	var found []*object
	for _, id := range st.order {
		o := st.byID[id]
		if o.name == ref {
			return o, nil
		}
		if strings.HasPrefix(id, ref) {
			found = append(found, o)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return nil, &apiError{http.StatusNotFound, fmt.Sprintf("%s %s not found", st.kind, ref)}
}

// view renders an object as the engine's Secret or Config.
func (st *objectStore) view(o *object) any {
	meta := swarm.Meta{Version: swarm.Version{Index: o.version}, CreatedAt: o.createdAt, UpdatedAt: o.updatedAt}
	ann := swarm.Annotations{Name: o.name, Labels: o.labels}
	if st.kind == "secret" {
		return swarm.Secret{ID: o.id, Meta: meta, Spec: swarm.SecretSpec{Annotations: ann}}
	}
	return swarm.Config{ID: o.id, Meta: meta, Spec: swarm.ConfigSpec{Annotations: ann, Data: o.data}}
}

// store picks the store of a route's kind.
func (s *Server) store(kind string) *objectStore {
	if kind == "secret" {
		return s.secrets
	}
	return s.configs
}

// objectRoutes are the create, list, inspect and remove endpoints of a kind.
func (s *Server) objectRoutes(kind string) []route {
	base := "/" + kind + "s"
	return []route{
		{"GET", re(base), true, func(w http.ResponseWriter, r *http.Request, _ []string) { s.listObjects(w, r, kind) }},
		{"POST", re(base + `/create`), true, func(w http.ResponseWriter, r *http.Request, _ []string) { s.createObject(w, r, kind) }},
		{"GET", re(base + `/([^/]+)`), true, func(w http.ResponseWriter, r *http.Request, m []string) { s.inspectObject(w, m[1], kind) }},
		{"DELETE", re(base + `/([^/]+)`), true, func(w http.ResponseWriter, r *http.Request, m []string) { s.removeObject(w, m[1], kind) }},
	}
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request, kind string) {
	var spec struct {
		Name   string
		Labels map[string]string
		Data   []byte
	}
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid JSON: %v", err))
		return
	}
	if !validObjectName(spec.Name) {
		writeAPIError(w, invalidArg("invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(kind)
	for _, id := range st.order {
		if st.byID[id].name == spec.Name {
			writeError(w, http.StatusConflict, fmt.Sprintf("rpc error: code = AlreadyExists desc = %s %s already exists", kind, spec.Name))
			return
		}
	}
	now := s.opts.Now()
	s.index++
	o := &object{id: newID(), version: s.index, createdAt: now, updatedAt: now, name: spec.Name, labels: spec.Labels, data: spec.Data}
	if o.labels == nil {
		o.labels = map[string]string{}
	}
	st.byID[o.id] = o
	st.order = append(st.order, o.id)
	writeJSON(w, http.StatusCreated, map[string]string{"ID": o.id})
}

// validObjectName is swarmkit's rule for secret and config names.
func validObjectName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(n); i++ {
		if c := n[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return alnum(n[0]) && alnum(n[len(n)-1])
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, kind string) {
	args, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := args.Validate(map[string]bool{"id": true, "label": true, "name": true, "names": true}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(kind)
	out := []any{}
	for _, id := range st.order {
		o := st.byID[id]
		if !matchPrefix(args, "id", o.id) || !matchPrefix(args, "name", o.name) || !matchExact(args, "names", o.name) ||
			!args.MatchKVList("label", o.labels) {
			continue
		}
		out = append(out, st.view(o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) inspectObject(w http.ResponseWriter, ref, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(kind)
	o, err := st.lookup(ref)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st.view(o))
}

func (s *Server) removeObject(w http.ResponseWriter, ref, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store(kind)
	o, err := st.lookup(ref)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var users []string
	for _, id := range s.order {
		if s.services[id].uses(kind, o.id) {
			users = append(users, s.services[id].spec.Name)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		writeAPIError(w, invalidArg("%s '%s' is in use by the following service: %s", kind, o.name, strings.Join(users, ", ")))
		return
	}
	delete(st.byID, o.id)
	for i, id := range st.order {
		if id == o.id {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	s.index++
	w.WriteHeader(http.StatusNoContent)
}

// uses says whether the service references the object.
func (svc *service) uses(kind, id string) bool {
	cs := svc.spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return false
	}
	if kind == "secret" {
		for _, r := range cs.Secrets {
			if r != nil && r.SecretID == id {
				return true
			}
		}
		return false
	}
	for _, r := range cs.Configs {
		if r != nil && r.ConfigID == id {
			return true
		}
	}
	return false
}

// checkReferences refuses a spec naming secrets or configs that do not
// exist (by ID, with the name matching), as swarmkit does.
func (s *Server) checkReferences(spec *swarm.ServiceSpec) error {
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		return nil
	}
	var missing []string
	for _, r := range cs.Secrets {
		if r == nil {
			continue
		}
		if o, ok := s.secrets.byID[r.SecretID]; !ok || o.name != r.SecretName {
			missing = append(missing, r.SecretName)
		}
	}
	if len(missing) > 0 {
		return invalidArg("secret not found: %v", strings.Join(missing, ", "))
	}
	for _, r := range cs.Configs {
		if r == nil {
			continue
		}
		if o, ok := s.configs.byID[r.ConfigID]; !ok || o.name != r.ConfigName {
			missing = append(missing, r.ConfigName)
		}
	}
	if len(missing) > 0 {
		return invalidArg("config not found: %v", strings.Join(missing, ", "))
	}
	return nil
}

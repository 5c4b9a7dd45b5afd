package dockeremu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
)

// service is the emulator's record of one service.
type service struct {
	id        string
	version   uint64
	createdAt time.Time
	updatedAt time.Time
	spec      swarm.ServiceSpec
	previous  *swarm.ServiceSpec
	status    *swarm.UpdateStatus
	// updateTasks are the tasks started by the rollout in progress, which
	// decide whether it completes or pauses.
	updateTasks []string
	ports       []swarm.PortConfig // resolved ports (published ones allocated)
	vip         netip.Prefix       // the ingress virtual IP, once it has ports
}

const ingressNetworkID = "wharfemuingress0000000000"

// ingressVIP is the virtual IP of the n-th service on the ingress network:
// 10.0.0.3/24 onwards, counting on past 10.0.0.255 so that every one is a
// valid address.
func ingressVIP(n int) netip.Prefix {
	a := uint32(10<<24 + n + 3)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 24)
}

func randRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
}

// Names must be valid DNS labels, as swarmkit checks.
var validName = regexp.MustCompile(`^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`)

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func invalidArg(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "rpc error: code = InvalidArgument desc = " + fmt.Sprintf(format, args...)}
}

func writeAPIError(w http.ResponseWriter, err error) {
	if e, ok := err.(*apiError); ok {
		writeError(w, e.status, e.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

// lookup finds a service by full ID, then exact name, then unique ID prefix,
// like the engine.
func (s *Server) lookup(ref string) (*service, error) {
	if svc, ok := s.services[ref]; ok {
		return svc, nil
	}
	for _, id := range s.order {
		if s.services[id].spec.Name == ref {
			return s.services[id], nil
		}
	}
	var found []*service
	for _, id := range s.order {
		if strings.HasPrefix(id, ref) {
			found = append(found, s.services[id])
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("service %s is ambiguous (%d matches found)", ref, len(found))}
	}
	return nil, &apiError{http.StatusNotFound, fmt.Sprintf("service %s not found", ref)}
}

func decodeSpec(r *http.Request) (swarm.ServiceSpec, error) {
	var spec swarm.ServiceSpec
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return spec, err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return spec, &apiError{http.StatusBadRequest, "invalid JSON: EOF"}
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, &apiError{http.StatusBadRequest, err.Error()}
	}
	return spec, nil
}

// normalize validates a spec and fills what the engine always stores.
func normalize(spec *swarm.ServiceSpec) error {
	if spec.Name != "" && !validName.MatchString(spec.Name) {
		return invalidArg("name must be valid as a DNS name component")
	}
	if len(spec.Name) > 63 {
		return invalidArg("name %q is too long", spec.Name)
	}
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil {
		// The engine's converter answers a spec without any task kind so.
		return &apiError{http.StatusBadRequest, "mismatched Runtime and *Spec fields"}
	}
	if cs.Image == "" {
		return invalidArg("ContainerSpec: image reference must be provided")
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	if cs.Isolation == "" {
		cs.Isolation = "default"
	}
	if spec.TaskTemplate.Runtime == "" {
		spec.TaskTemplate.Runtime = swarm.RuntimeContainer
	}
	if rp := spec.TaskTemplate.RestartPolicy; rp != nil {
		switch rp.Condition {
		case "", swarm.RestartPolicyConditionNone, swarm.RestartPolicyConditionOnFailure, swarm.RestartPolicyConditionAny:
		default:
			return &apiError{http.StatusBadRequest, fmt.Sprintf("invalid RestartCondition: %q", rp.Condition)}
		}
	}
	m := &spec.Mode
	n := 0
	for _, set := range []bool{m.Replicated != nil, m.Global != nil, m.ReplicatedJob != nil, m.GlobalJob != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return invalidArg("service mode must be one of replicated, global, replicated-job or global-job")
	case n == 0:
		one := uint64(1)
		m.Replicated = &swarm.ReplicatedService{Replicas: &one}
	case m.Replicated != nil && m.Replicated.Replicas == nil:
		one := uint64(1)
		m.Replicated.Replicas = &one
	case m.ReplicatedJob != nil:
		if m.ReplicatedJob.TotalCompletions == nil {
			one := uint64(1)
			m.ReplicatedJob.TotalCompletions = &one
		}
		if m.ReplicatedJob.MaxConcurrent == nil {
			one := uint64(1)
			m.ReplicatedJob.MaxConcurrent = &one
		}
	}
	for _, uc := range []*swarm.UpdateConfig{spec.UpdateConfig, spec.RollbackConfig} {
		if uc == nil {
			continue
		}
		switch uc.FailureAction {
		case "", swarm.UpdateFailureActionPause, swarm.UpdateFailureActionContinue, swarm.UpdateFailureActionRollback:
		default:
			return &apiError{http.StatusBadRequest, fmt.Sprintf("unrecognized FailureAction %s", uc.FailureAction)}
		}
		switch uc.Order {
		case "", swarm.UpdateOrderStopFirst, swarm.UpdateOrderStartFirst:
		default:
			return &apiError{http.StatusBadRequest, fmt.Sprintf("unrecognized Order %s", uc.Order)}
		}
		if uc.MaxFailureRatio < 0 || uc.MaxFailureRatio > 1 {
			return invalidArg("UpdateConfig: max failure ratio must be between 0 and 1")
		}
	}
	if es := spec.EndpointSpec; es != nil {
		switch es.Mode {
		case "":
			es.Mode = swarm.ResolutionModeVIP
		case swarm.ResolutionModeVIP, swarm.ResolutionModeDNSRR:
		default:
			return invalidArg("invalid resolution mode: %q", es.Mode)
		}
		for i := range es.Ports {
			p := &es.Ports[i]
			switch p.Protocol {
			case "":
				p.Protocol = network.TCP
			case network.TCP, network.UDP, network.SCTP:
			default:
				return invalidArg("invalid protocol %q", p.Protocol)
			}
			switch p.PublishMode {
			case "":
				p.PublishMode = swarm.PortConfigPublishModeIngress
			case swarm.PortConfigPublishModeIngress, swarm.PortConfigPublishModeHost:
			default:
				return invalidArg("invalid publish mode %q", p.PublishMode)
			}
			if p.TargetPort == 0 {
				return invalidArg("EndpointSpec: port %d: target port must be set", i)
			}
			if es.Mode == swarm.ResolutionModeDNSRR && p.PublishMode == swarm.PortConfigPublishModeIngress {
				return invalidArg("EndpointSpec: port published with ingress mode can't be used with dnsrr mode")
			}
		}
	}
	return nil
}

// resolvePorts allocates published ports and checks conflicts with other services.
func (s *Server) resolvePorts(self string, spec *swarm.ServiceSpec) ([]swarm.PortConfig, error) {
	if spec.EndpointSpec == nil {
		return nil, nil
	}
	var out []swarm.PortConfig
	for _, p := range spec.EndpointSpec.Ports {
		if p.PublishedPort != 0 && p.PublishMode == swarm.PortConfigPublishModeIngress {
			for _, id := range s.order {
				other := s.services[id]
				if id == self {
					continue
				}
				for _, q := range other.ports {
					if q.PublishedPort == p.PublishedPort && q.Protocol == p.Protocol && q.PublishMode == swarm.PortConfigPublishModeIngress {
						return nil, invalidArg("port '%d' is already in use by service '%s' (%s) as an ingress port", p.PublishedPort, other.spec.Name, other.id)
					}
				}
			}
		}
		out = append(out, p)
	}
	for i := range out {
		if out[i].PublishedPort == 0 && out[i].PublishMode == swarm.PortConfigPublishModeIngress {
			s.nextPort++
			out[i].PublishedPort = s.nextPort
		}
	}
	return out, nil
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request, _ []string) {
	spec, err := decodeSpec(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if err := normalize(&spec); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.create(spec, s.opts.Now())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, swarm.ServiceCreateResponse{ID: id, Warnings: nil})
}

// create stores a normalized spec as a new service and starts its tasks.
func (s *Server) create(spec swarm.ServiceSpec, now time.Time) (string, error) {
	s.advance(now)
	id := newID()
	if spec.Name == "" {
		spec.Name = "service-" + id[:6] // the engine picks a random name
	}
	if err := s.checkReferences(&spec); err != nil {
		return "", err
	}
	for _, other := range s.services {
		if other.spec.Name == spec.Name {
			return "", &apiError{http.StatusConflict, fmt.Sprintf("rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists", spec.Name)}
		}
	}
	ports, err := s.resolvePorts(id, &spec)
	if err != nil {
		return "", err
	}
	s.index++
	svc := &service{id: id, version: s.index, createdAt: now, updatedAt: now, spec: spec, ports: ports}
	if len(ports) > 0 {
		svc.vip = ingressVIP(len(s.order))
	}
	s.services[id] = svc
	s.order = append(s.order, id)
	s.reconcile(svc, now, true)
	return id, nil
}

func (s *Server) inspectService(w http.ResponseWriter, r *http.Request, m []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	svc, err := s.lookup(m[1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(svc, boolValue(r, "insertDefaults"), false, now))
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request, _ []string) {
	args, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := args.Validate(map[string]bool{"id": true, "label": true, "mode": true, "name": true}); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	out := []swarm.Service{}
	for _, id := range s.order {
		svc := s.services[id]
		if !matchPrefix(args, "id", svc.id) || !matchPrefix(args, "name", svc.spec.Name) ||
			!args.MatchKVList("label", svc.spec.Labels) || !matchExact(args, "mode", modeName(svc.spec.Mode)) {
			continue
		}
		out = append(out, s.view(svc, false, boolValue(r, "status"), now))
	}
	writeJSON(w, http.StatusOK, out)
}

// matchPrefix: no values means match; else any value is a prefix of v.
func matchPrefix(args filterArgs, key, v string) bool {
	vals := args.Get(key)
	if len(vals) == 0 {
		return true
	}
	for _, x := range vals {
		if strings.HasPrefix(v, x) {
			return true
		}
	}
	return false
}

func matchExact(args filterArgs, key, v string) bool {
	vals := args.Get(key)
	if len(vals) == 0 {
		return true
	}
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func modeName(m swarm.ServiceMode) string {
	switch {
	case m.Global != nil:
		return "global"
	case m.ReplicatedJob != nil:
		return "replicated-job"
	case m.GlobalJob != nil:
		return "global-job"
	}
	return "replicated"
}

func (s *Server) updateService(w http.ResponseWriter, r *http.Request, m []string) {
	q := r.URL.Query()
	versionStr := q.Get("version")
	version, err := strconv.ParseUint(versionStr, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid service version '%s': %v", versionStr, err))
		return
	}
	rollback := q.Get("rollback")
	if rollback != "" && rollback != "previous" && rollback != "none" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unrecognized rollback option %s", rollback))
		return
	}
	body, err := decodeSpec(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	// The engine converts and checks the body before swarm looks at the
	// version, even for a rollback, which then ignores it.
	if err := normalize(&body); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	s.advance(now)
	svc, err := s.lookup(m[1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if version != svc.version {
		// swarmkit answers a stale version with a plain gRPC error, which the
		// engine passes on as a 500.
		writeError(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
		return
	}
	if rollback == "previous" {
		if svc.previous == nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("rpc error: code = FailedPrecondition desc = service %s does not have a previous spec", svc.id))
			return
		}
		s.rollback(svc, now, "manually requested rollback")
		writeJSON(w, http.StatusOK, swarm.ServiceUpdateResponse{Warnings: nil})
		return
	}
	if body.Name == "" {
		body.Name = svc.spec.Name
	}
	if body.Name != svc.spec.Name {
		writeError(w, http.StatusNotImplemented, "rpc error: code = Unimplemented desc = renaming services is not supported")
		return
	}
	if modeName(body.Mode) != modeName(svc.spec.Mode) {
		writeError(w, http.StatusBadRequest, "rpc error: code = InvalidArgument desc = service mode change is not allowed")
		return
	}
	if err := s.checkReferences(&body); err != nil {
		writeAPIError(w, err)
		return
	}
	ports, err := s.resolvePorts(svc.id, &body)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	old := svc.spec
	svc.previous = &old
	svc.spec = body
	svc.ports = keepPublished(svc.ports, ports)
	if len(svc.ports) > 0 && !svc.vip.IsValid() {
		svc.vip = ingressVIP(len(s.order))
	}
	s.index++
	svc.version = s.index
	svc.updatedAt = now
	svc.status = nil // swarmkit resets the update status on every update
	taskChanged := !reflect.DeepEqual(old.TaskTemplate, body.TaskTemplate)
	if taskChanged {
		svc.status = &swarm.UpdateStatus{State: swarm.UpdateStateUpdating, StartedAt: timePtr(now), Message: "update in progress"}
	}
	s.reconcile(svc, now, taskChanged)
	writeJSON(w, http.StatusOK, swarm.ServiceUpdateResponse{Warnings: nil})
}

// keepPublished keeps the ports allocated before for unchanged ports.
func keepPublished(old, new []swarm.PortConfig) []swarm.PortConfig {
	for i := range new {
		for _, o := range old {
			if o.TargetPort == new[i].TargetPort && o.Protocol == new[i].Protocol && new[i].PublishedPort > 30000 && o.PublishedPort != 0 {
				new[i].PublishedPort = o.PublishedPort
			}
		}
	}
	return new
}

// rollback swaps the spec with the previous one and starts a rollout, like
// swarmkit's rollback=previous.
func (s *Server) rollback(svc *service, at time.Time, message string) {
	cur := svc.spec
	svc.spec = *svc.previous
	svc.previous = &cur
	if ports, err := s.resolvePorts(svc.id, &svc.spec); err == nil {
		svc.ports = keepPublished(svc.ports, ports)
	}
	s.index++
	svc.version = s.index
	svc.updatedAt = at
	svc.status = &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted, StartedAt: timePtr(at), Message: message}
	s.reconcile(svc, at, !reflect.DeepEqual(cur.TaskTemplate, svc.spec.TaskTemplate))
}

func (s *Server) removeService(w http.ResponseWriter, _ *http.Request, m []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	svc, err := s.lookup(m[1])
	if err != nil {
		writeAPIError(w, err)
		return
	}
	delete(s.services, svc.id)
	for i, id := range s.order {
		if id == svc.id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	kept := s.taskSeq[:0]
	for _, id := range s.taskSeq {
		if s.tasks[id].serviceID == svc.id {
			delete(s.tasks, id)
			continue
		}
		kept = append(kept, id)
	}
	s.taskSeq = kept
	s.index++
	w.WriteHeader(http.StatusOK)
}

func timePtr(t time.Time) *time.Time { return &t }

// view renders a service as the engine's JSON object.
func (s *Server) view(svc *service, insertDefaults, withStatus bool, now time.Time) swarm.Service {
	spec := cloneSpec(svc.spec)
	if insertDefaults {
		fillDefaults(&spec)
	}
	out := swarm.Service{
		ID:   svc.id,
		Meta: swarm.Meta{Version: swarm.Version{Index: svc.version}, CreatedAt: svc.createdAt, UpdatedAt: svc.updatedAt},
		Spec: spec,
	}
	if svc.previous != nil {
		p := cloneSpec(*svc.previous)
		if insertDefaults {
			fillDefaults(&p)
		}
		out.PreviousSpec = &p
	}
	if svc.spec.EndpointSpec != nil {
		out.Endpoint.Spec = *cloneSpec(svc.spec).EndpointSpec
	}
	out.Endpoint.Ports = svc.ports
	if svc.vip.IsValid() && len(svc.ports) > 0 {
		out.Endpoint.VirtualIPs = []swarm.EndpointVirtualIP{{NetworkID: ingressNetworkID, Addr: svc.vip}}
	}
	if svc.status != nil {
		st := *svc.status
		out.UpdateStatus = &st
	}
	if withStatus {
		out.ServiceStatus = s.serviceStatus(svc, now)
	}
	return out
}

func cloneSpec(in swarm.ServiceSpec) swarm.ServiceSpec {
	b, _ := json.Marshal(in)
	var out swarm.ServiceSpec
	_ = json.Unmarshal(b, &out)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	return out
}

// fillDefaults is insertDefaults=true: the values swarmkit would use for
// the fields left unset, as the real engine shows them.
func fillDefaults(spec *swarm.ServiceSpec) {
	tt := &spec.TaskTemplate
	if cs := tt.ContainerSpec; cs != nil {
		if cs.StopGracePeriod == nil {
			d := 10 * time.Second
			cs.StopGracePeriod = &d
		}
		if cs.DNSConfig == nil {
			cs.DNSConfig = &swarm.DNSConfig{}
		}
	}
	if tt.Resources == nil {
		tt.Resources = &swarm.ResourceRequirements{}
	}
	if tt.RestartPolicy == nil {
		tt.RestartPolicy = &swarm.RestartPolicy{}
	}
	rp := tt.RestartPolicy
	if rp.Condition == "" {
		rp.Condition = swarm.RestartPolicyConditionAny
	}
	if rp.Delay == nil {
		d := 5 * time.Second
		rp.Delay = &d
	}
	if rp.MaxAttempts == nil {
		var z uint64
		rp.MaxAttempts = &z
	}
	if tt.Placement == nil {
		tt.Placement = &swarm.Placement{}
	}
	for _, p := range []**swarm.UpdateConfig{&spec.UpdateConfig, &spec.RollbackConfig} {
		if *p == nil {
			*p = &swarm.UpdateConfig{}
		}
		uc := *p
		if uc.Parallelism == 0 {
			uc.Parallelism = 1 // swarmkit merges defaults over zero values
		}
		if uc.FailureAction == "" {
			uc.FailureAction = swarm.UpdateFailureActionPause
		}
		if uc.Monitor == 0 {
			uc.Monitor = 5 * time.Second
		}
		if uc.Order == "" {
			uc.Order = swarm.UpdateOrderStopFirst
		}
	}
	if spec.EndpointSpec == nil {
		spec.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP}
	}
}

func (s *Server) serviceStatus(svc *service, now time.Time) *swarm.ServiceStatus {
	st := &swarm.ServiceStatus{}
	var desiredRunning uint64
	for _, t := range s.serviceTasks(svc.id) {
		v := t.view(s, now)
		if v.DesiredState == swarm.TaskStateRunning {
			desiredRunning++
		}
		if v.Status.State == swarm.TaskStateRunning {
			st.RunningTasks++
		}
		if v.Status.State == swarm.TaskStateComplete {
			st.CompletedTasks++
		}
	}
	switch m := svc.spec.Mode; {
	case m.Replicated != nil:
		st.DesiredTasks = *m.Replicated.Replicas
	case m.ReplicatedJob != nil:
		total := *m.ReplicatedJob.TotalCompletions
		left := uint64(0)
		if total > st.CompletedTasks {
			left = total - st.CompletedTasks
		}
		st.DesiredTasks = min(left, *m.ReplicatedJob.MaxConcurrent)
	case m.GlobalJob != nil:
		if st.CompletedTasks == 0 {
			st.DesiredTasks = 1
		}
	default:
		st.DesiredTasks = desiredRunning
	}
	return st
}

func (s *Server) serviceTasks(serviceID string) []*task {
	var out []*task
	for _, id := range s.taskSeq {
		if t := s.tasks[id]; t.serviceID == serviceID {
			out = append(out, t)
		}
	}
	return out
}

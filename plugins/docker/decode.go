package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/buger/jsonparser"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
)

// decodeService reads the fields of an engine Service that the plugin maps
// (toService, specFromSwarm, the status rules) with jsonparser, which walks
// the bytes without reflection; other fields stay zero. (Compiled to wasm,
// encoding/json's reflection costs some hundred microseconds per service.)
// On anything unexpected it falls back to encoding/json, which also gives
// the precise error.
func decodeService(raw []byte) (swarm.Service, error) {
	var svc swarm.Service
	if err := fastService(parseValue(raw), &svc); err != nil {
		svc = swarm.Service{}
		if err = json.Unmarshal(raw, &svc); err == nil {
			err = foldLegacyNetworks(raw, &svc)
		}
		return svc, err
	}
	return svc, nil
}

// foldLegacyNetworks appends the service-level Networks of the spec and the
// previous spec to their task template's. Engines before API 1.44 may still
// answer that deprecated list, which the moby API module's ServiceSpec no
// longer has; the docker CLI folds it in the same way. (fastServiceSpec
// folds it while decoding.)
func foldLegacyNetworks(raw []byte, svc *swarm.Service) error {
	type legacySpec struct {
		Networks []swarm.NetworkAttachmentConfig
	}
	var legacy struct{ Spec, PreviousSpec *legacySpec }
	if err := json.Unmarshal(raw, &legacy); err != nil {
		return err
	}
	if l := legacy.Spec; l != nil {
		svc.Spec.TaskTemplate.Networks = append(svc.Spec.TaskTemplate.Networks, l.Networks...)
	}
	if l := legacy.PreviousSpec; l != nil && svc.PreviousSpec != nil {
		svc.PreviousSpec.TaskTemplate.Networks = append(svc.PreviousSpec.TaskTemplate.Networks, l.Networks...)
	}
	return nil
}

// decodeTask reads an engine Task with encoding/json. The engine stores any
// string as a nameserver, the moby API types only IP addresses: when the
// task does not decode, it is read again without its DNS configuration,
// which the plugin does not show for tasks.
func decodeTask(raw []byte) (swarm.Task, error) {
	var t swarm.Task
	err := json.Unmarshal(raw, &t)
	if err == nil {
		return t, nil
	}
	t = swarm.Task{}
	if json.Unmarshal(jsonparser.Delete(bytes.Clone(raw), "Spec", "ContainerSpec", "DNSConfig"), &t) != nil {
		return swarm.Task{}, err
	}
	return t, nil
}

// serviceKey is what sorting and resolving a listed service needs.
type serviceKey struct {
	id, name  string
	raw       json.RawMessage
	status    swarm.ServiceStatus // kept by value: one allocation less per listed service
	hasStatus bool
}

// counts is the listed ServiceStatus, nil when the engine sent none.
func (k *serviceKey) counts() *swarm.ServiceStatus {
	if !k.hasStatus {
		return nil
	}
	st := k.status
	return &st
}

// scanServices splits a service list into its items with their ID, name
// and ServiceStatus, without decoding the rest.
func scanServices(body []byte) ([]serviceKey, error) {
	out := make([]serviceKey, 0, len(body)/1024+1) // a listed service takes some KB
	err := scanServiceList(parseValue(body), &out)
	if err != nil {
		// the slow path says what is wrong
		var raws []json.RawMessage
		if jerr := json.Unmarshal(body, &raws); jerr != nil {
			return nil, jerr
		}
		out = out[:0]
		for _, r := range raws {
			svc, err := decodeService(r)
			if err != nil {
				return nil, err
			}
			k := serviceKey{id: svc.ID, name: svc.Spec.Name, raw: r}
			if svc.ServiceStatus != nil {
				k.status, k.hasStatus = *svc.ServiceStatus, true
			}
			out = append(out, k)
		}
	}
	return out, nil
}

func scanServiceList(list jvalue, out *[]serviceKey) error {
	items := list.items()
	for _, it, ok := items.next(); ok; _, it, ok = items.next() {
		// an item is a slice of body: Raw keeps the bytes the engine sent
		*out = append(*out, serviceKey{raw: json.RawMessage(it.b)})
		k := &(*out)[len(*out)-1]
		members := it.members()
		for key, v, ok := members.next(); ok; key, v, ok = members.next() {
			var err error
			switch string(key) {
			case "ID":
				k.id, err = v.str()
			case "Spec":
				// the name comes first: the rest of the spec is not read
				spec := v.members()
				for key, v, ok := spec.next(); ok; key, v, ok = spec.next() {
					if string(key) == "Name" {
						k.name, err = v.str()
						break
					}
				}
				if err == nil {
					err = spec.err
				}
			case "ServiceStatus":
				if !v.null() {
					k.hasStatus = true
					err = fastServiceStatus(v, &k.status)
				}
			}
			if err != nil {
				return err
			}
		}
		if members.err != nil {
			return members.err
		}
	}
	return items.err
}

func fastServiceStatus(v jvalue, st *swarm.ServiceStatus) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "RunningTasks":
			st.RunningTasks, err = v.uint()
		case "DesiredTasks":
			st.DesiredTasks, err = v.uint()
		case "CompletedTasks":
			st.CompletedTasks, err = v.uint()
		}
		return err
	})
}

func fastService(v jvalue, svc *swarm.Service) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "ID":
			svc.ID, err = v.str()
		case "Version":
			err = v.object(func(key []byte, v jvalue) error {
				if string(key) == "Index" {
					svc.Version.Index, err = v.uint()
				}
				return err
			})
		case "CreatedAt":
			svc.CreatedAt, err = v.time()
		case "UpdatedAt":
			svc.UpdatedAt, err = v.time()
		case "Spec":
			err = fastServiceSpec(v, &svc.Spec)
		case "PreviousSpec":
			if !v.null() {
				svc.PreviousSpec = &swarm.ServiceSpec{}
				err = fastServiceSpec(v, svc.PreviousSpec)
			}
		case "Endpoint":
			err = v.object(func(key []byte, v jvalue) error {
				if string(key) == "Ports" {
					svc.Endpoint.Ports, err = fastPorts(v)
				}
				return err
			})
		case "UpdateStatus":
			if !v.null() {
				svc.UpdateStatus = &swarm.UpdateStatus{}
				err = fastUpdateStatus(v, svc.UpdateStatus)
			}
		case "ServiceStatus":
			if !v.null() {
				svc.ServiceStatus = &swarm.ServiceStatus{}
				err = fastServiceStatus(v, svc.ServiceStatus)
			}
		}
		return err
	})
}

func fastUpdateStatus(v jvalue, us *swarm.UpdateStatus) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "State":
			var s string
			s, err = v.str()
			us.State = swarm.UpdateState(s)
		case "Message":
			us.Message, err = v.str()
		case "StartedAt", "CompletedAt":
			if v.null() {
				return nil
			}
			var t time.Time
			if t, err = v.time(); err == nil {
				if string(key) == "StartedAt" {
					us.StartedAt = &t
				} else {
					us.CompletedAt = &t
				}
			}
		}
		return err
	})
}

func fastServiceSpec(v jvalue, s *swarm.ServiceSpec) error {
	var legacy []swarm.NetworkAttachmentConfig
	err := v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "Name":
			s.Name, err = v.str()
		case "Labels":
			s.Labels, err = v.stringMap()
		case "TaskTemplate":
			err = fastTaskSpec(v, &s.TaskTemplate)
		case "Mode":
			err = fastMode(v, &s.Mode)
		case "UpdateConfig":
			if !v.null() {
				s.UpdateConfig = &swarm.UpdateConfig{}
				err = fastUpdateConfig(v, s.UpdateConfig)
			}
		case "RollbackConfig":
			if !v.null() {
				s.RollbackConfig = &swarm.UpdateConfig{}
				err = fastUpdateConfig(v, s.RollbackConfig)
			}
		case "Networks":
			legacy, err = fastNetworks(v)
		case "EndpointSpec":
			if v.null() {
				return nil
			}
			es := &swarm.EndpointSpec{}
			s.EndpointSpec = es
			err = v.object(func(key []byte, v jvalue) error {
				switch string(key) {
				case "Mode":
					var m string
					m, err = v.str()
					es.Mode = swarm.ResolutionMode(m)
				case "Ports":
					es.Ports, err = fastPorts(v)
				}
				return err
			})
		}
		return err
	})
	s.TaskTemplate.Networks = append(s.TaskTemplate.Networks, legacy...)
	return err
}

func fastTaskSpec(v jvalue, t *swarm.TaskSpec) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "ContainerSpec":
			if !v.null() {
				t.ContainerSpec = &swarm.ContainerSpec{}
				err = fastContainerSpec(v, t.ContainerSpec)
			}
		case "Resources":
			if v.null() {
				return nil
			}
			r := &swarm.ResourceRequirements{}
			t.Resources = r
			err = v.object(func(key []byte, v jvalue) error {
				if v.null() {
					return nil
				}
				var nano, mem, pids int64
				var generic []swarm.GenericResource
				err := v.object(func(key []byte, v jvalue) error {
					var err error
					switch string(key) {
					case "NanoCPUs":
						nano, err = v.int()
					case "MemoryBytes":
						mem, err = v.int()
					case "Pids":
						pids, err = v.int()
					case "GenericResources":
						err = v.decode(&generic)
					}
					return err
				})
				switch string(key) {
				case "Limits":
					r.Limits = &swarm.Limit{NanoCPUs: nano, MemoryBytes: mem, Pids: pids}
				case "Reservations":
					r.Reservations = &swarm.Resources{NanoCPUs: nano, MemoryBytes: mem, GenericResources: generic}
				}
				return err
			})
		case "RestartPolicy":
			if v.null() {
				return nil
			}
			rp := &swarm.RestartPolicy{}
			t.RestartPolicy = rp
			err = v.object(func(key []byte, v jvalue) error {
				var err error
				switch string(key) {
				case "Condition":
					var c string
					c, err = v.str()
					rp.Condition = swarm.RestartPolicyCondition(c)
				case "Delay", "Window":
					if v.null() {
						return nil
					}
					var n int64
					n, err = v.int()
					d := time.Duration(n)
					if string(key) == "Delay" {
						rp.Delay = &d
					} else {
						rp.Window = &d
					}
				case "MaxAttempts":
					if v.null() {
						return nil
					}
					var n uint64
					n, err = v.uint()
					rp.MaxAttempts = &n
				}
				return err
			})
		case "Placement":
			if v.null() {
				return nil
			}
			t.Placement = &swarm.Placement{}
			err = v.object(func(key []byte, v jvalue) error {
				switch string(key) {
				case "Constraints":
					t.Placement.Constraints, err = v.strings()
				case "Preferences":
					err = v.decode(&t.Placement.Preferences)
				case "MaxReplicas":
					t.Placement.MaxReplicas, err = v.uint()
				case "Platforms":
					err = v.decode(&t.Placement.Platforms)
				}
				return err
			})
		case "Networks":
			t.Networks, err = fastNetworks(v)
		case "LogDriver":
			if v.null() {
				return nil
			}
			t.LogDriver = &swarm.Driver{}
			err = v.object(func(key []byte, v jvalue) error {
				switch string(key) {
				case "Name":
					t.LogDriver.Name, err = v.str()
				case "Options":
					t.LogDriver.Options, err = v.stringMap()
				}
				return err
			})
		case "ForceUpdate":
			t.ForceUpdate, err = v.uint()
		}
		return err
	})
}

func fastContainerSpec(v jvalue, cs *swarm.ContainerSpec) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "Image":
			cs.Image, err = v.str()
		case "Labels":
			cs.Labels, err = v.stringMap()
		case "Command":
			cs.Command, err = v.strings()
		case "Args":
			cs.Args, err = v.strings()
		case "Env":
			cs.Env, err = v.strings()
		case "Dir":
			cs.Dir, err = v.str()
		case "User":
			cs.User, err = v.str()
		case "TTY":
			cs.TTY, err = v.bool()
		case "Groups":
			cs.Groups, err = v.strings()
		case "Hostname":
			cs.Hostname, err = v.str()
		case "ReadOnly":
			cs.ReadOnly, err = v.bool()
		case "Init":
			if !v.null() {
				var b bool
				b, err = v.bool()
				cs.Init = &b
			}
		case "StopSignal":
			cs.StopSignal, err = v.str()
		case "StopGracePeriod":
			if !v.null() {
				var n int64
				n, err = v.int()
				d := time.Duration(n)
				cs.StopGracePeriod = &d
			}
		case "Hosts":
			cs.Hosts, err = v.strings()
		case "CapabilityAdd":
			cs.CapabilityAdd, err = v.strings()
		case "CapabilityDrop":
			cs.CapabilityDrop, err = v.strings()
		case "Sysctls":
			cs.Sysctls, err = v.stringMap()
		case "Isolation":
			var s string
			s, err = v.str()
			cs.Isolation = container.Isolation(s)
		// Nested members most services leave out: encoding/json reads them.
		case "Mounts":
			err = v.decode(&cs.Mounts)
		case "Healthcheck":
			err = v.decode(&cs.Healthcheck)
		case "DNSConfig":
			if !v.null() {
				cs.DNSConfig = &swarm.DNSConfig{}
				err = fastDNSConfig(v, cs.DNSConfig)
			}
		case "Secrets":
			err = v.decode(&cs.Secrets)
		case "Configs":
			err = v.decode(&cs.Configs)
		case "Ulimits":
			err = v.decode(&cs.Ulimits)
		}
		return err
	})
}

// decode reads an object or array member with encoding/json (null leaves
// out untouched, as encoding/json does).
func (v jvalue) decode(out any) error {
	switch v.t {
	case jsonparser.Null:
		return nil
	case jsonparser.Object, jsonparser.Array:
		return json.Unmarshal(v.b, out)
	}
	return errJSONType
}

func fastMode(v jvalue, m *swarm.ServiceMode) error {
	return v.object(func(key []byte, v jvalue) error {
		if v.null() {
			return nil
		}
		var err error
		switch string(key) {
		case "Replicated":
			m.Replicated = &swarm.ReplicatedService{}
			err = v.object(func(key []byte, v jvalue) error {
				if string(key) == "Replicas" && !v.null() {
					var n uint64
					n, err = v.uint()
					m.Replicated.Replicas = &n
				}
				return err
			})
		case "Global":
			m.Global = &swarm.GlobalService{}
		case "GlobalJob":
			m.GlobalJob = &swarm.GlobalJob{}
		case "ReplicatedJob":
			m.ReplicatedJob = &swarm.ReplicatedJob{}
			err = v.object(func(key []byte, v jvalue) error {
				if v.null() {
					return nil
				}
				n, err := v.uint()
				switch string(key) {
				case "MaxConcurrent":
					m.ReplicatedJob.MaxConcurrent = &n
				case "TotalCompletions":
					m.ReplicatedJob.TotalCompletions = &n
				}
				return err
			})
		}
		return err
	})
}

func fastUpdateConfig(v jvalue, u *swarm.UpdateConfig) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "Parallelism":
			u.Parallelism, err = v.uint()
		case "Delay":
			var n int64
			n, err = v.int()
			u.Delay = time.Duration(n)
		case "FailureAction":
			var a string
			a, err = v.str()
			u.FailureAction = swarm.FailureAction(a)
		case "Monitor":
			var n int64
			n, err = v.int()
			u.Monitor = time.Duration(n)
		case "MaxFailureRatio":
			var f float64
			f, err = v.float()
			u.MaxFailureRatio = float32(f)
		case "Order":
			var o string
			o, err = v.str()
			u.Order = swarm.UpdateOrder(o)
		}
		return err
	})
}

// fastDNSConfig reads the resolver configuration. A nameserver that is not
// an IP address is left out: the engine stores any string there (the docker
// CLI checks, the API does not) while the moby API types hold addresses,
// and one such service must not make the whole list unreadable. An update
// that does not change dns_config leaves the stored list as it is.
func fastDNSConfig(v jvalue, d *swarm.DNSConfig) error {
	return v.object(func(key []byte, v jvalue) error {
		var err error
		switch string(key) {
		case "Nameservers":
			var list []string
			if list, err = v.strings(); err == nil && list != nil {
				d.Nameservers = []netip.Addr{}
				for _, n := range list {
					if a, perr := netip.ParseAddr(n); perr == nil {
						d.Nameservers = append(d.Nameservers, a)
					}
				}
			}
		case "Search":
			d.Search, err = v.strings()
		case "Options":
			d.Options, err = v.strings()
		}
		return err
	})
}

func fastNetworks(v jvalue) ([]swarm.NetworkAttachmentConfig, error) {
	var out []swarm.NetworkAttachmentConfig
	err := v.array(func(it jvalue) error {
		var n swarm.NetworkAttachmentConfig
		err := it.object(func(key []byte, v jvalue) error {
			var err error
			switch string(key) {
			case "Target":
				n.Target, err = v.str()
			case "Aliases":
				n.Aliases, err = v.strings()
			case "DriverOpts":
				n.DriverOpts, err = v.stringMap()
			}
			return err
		})
		out = append(out, n)
		return err
	})
	return out, err
}

func fastPorts(v jvalue) ([]swarm.PortConfig, error) {
	var out []swarm.PortConfig
	err := v.array(func(it jvalue) error {
		var p swarm.PortConfig
		err := it.object(func(key []byte, v jvalue) error {
			var err error
			var s string
			var n uint64
			switch string(key) {
			case "Name":
				p.Name, err = v.str()
			case "Protocol":
				s, err = v.str()
				p.Protocol = network.IPProtocol(s)
			case "TargetPort":
				n, err = v.uint()
				p.TargetPort = uint32(n)
			case "PublishedPort":
				n, err = v.uint()
				p.PublishedPort = uint32(n)
			case "PublishMode":
				s, err = v.str()
				p.PublishMode = swarm.PortConfigPublishMode(s)
			}
			return err
		})
		out = append(out, p)
		return err
	})
	return out, err
}

// jvalue is one JSON value as jsonparser hands it over: its text (for a
// string, the content between the quotes, still escaped) and its type. Its
// methods read it as encoding/json would read it into the Go type, null
// being the zero value; a value of another JSON type is an error, so that
// the caller falls back to encoding/json.
type jvalue struct {
	b []byte
	t jsonparser.ValueType
}

var (
	errJSONType   = errors.New("unexpected JSON value")
	errJSONSyntax = errors.New("malformed JSON")
)

// parseValue is the single JSON value of b (NotExist if b is not one).
func parseValue(b []byte) jvalue {
	i := skipSpace(b, 0)
	v, end, err := valueAt(b, i)
	if err != nil || skipSpace(b, end) != len(b) {
		return jvalue{t: jsonparser.NotExist}
	}
	return v
}

func (v jvalue) null() bool { return v.t == jsonparser.Null }

// members iterates over the members of an object (it reports errJSONType
// for any other value).
func (v jvalue) members() iter {
	if v.t != jsonparser.Object {
		return iter{err: errJSONType}
	}
	return iter{b: v.b, i: 1, obj: true}
}

// items iterates over the items of an array; null is an empty array.
func (v jvalue) items() iter {
	switch v.t {
	case jsonparser.Null:
		return iter{done: true}
	case jsonparser.Array:
		return iter{b: v.b, i: 1}
	}
	return iter{err: errJSONType}
}

// iter walks an object or array without a callback (closures capturing
// the caller's variables cost an allocation each in a hot loop).
type iter struct {
	b         []byte
	i         int
	obj, done bool
	err       error
}

// next returns the next member (key nil for an array item), or false at
// the end or on an error (then in it.err).
func (it *iter) next() (key []byte, val jvalue, ok bool) {
	if it.done || it.err != nil {
		return nil, jvalue{}, false
	}
	b := it.b
	i := skipSpace(b, it.i)
	closer := byte(']')
	if it.obj {
		closer = '}'
	}
	if i < len(b) && b[i] == closer && it.i == 1 {
		it.done = true
		return nil, jvalue{}, false
	}
	if it.obj {
		if i >= len(b) || b[i] != '"' {
			return it.fail(errJSONSyntax)
		}
		end := stringEnd(b, i+1)
		if end < 0 {
			return it.fail(errJSONSyntax)
		}
		key = b[i+1 : end]
		if bytes.IndexByte(key, '\\') >= 0 {
			s, err := jsonparser.ParseString(key)
			if err != nil {
				return it.fail(err)
			}
			key = []byte(s)
		}
		i = skipSpace(b, end+1)
		if i >= len(b) || b[i] != ':' {
			return it.fail(errJSONSyntax)
		}
		i = skipSpace(b, i+1)
	}
	val, next, err := valueAt(b, i)
	if err != nil {
		return it.fail(err)
	}
	i = skipSpace(b, next)
	switch {
	case i >= len(b):
		return it.fail(errJSONSyntax)
	case b[i] == ',':
		it.i = i + 1
	case b[i] == closer:
		it.done = true
	default:
		return it.fail(errJSONSyntax)
	}
	if key == nil && it.obj {
		key = []byte{} // an empty key is still a key
	}
	return key, val, true
}

func (it *iter) fail(err error) ([]byte, jvalue, bool) {
	it.err = err
	return nil, jvalue{}, false
}

// object calls fn for every member of an object, in order, with the key
// unescaped.
func (v jvalue) object(fn func(key []byte, val jvalue) error) error {
	it := v.members()
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		if err := fn(key, val); err != nil {
			return err
		}
	}
	return it.err
}

// array calls fn for every item of an array; null is an empty array.
func (v jvalue) array(fn func(item jvalue) error) error {
	it := v.items()
	for _, val, ok := it.next(); ok; _, val, ok = it.next() {
		if err := fn(val); err != nil {
			return err
		}
	}
	return it.err
}

func (v jvalue) str() (string, error) {
	switch v.t {
	case jsonparser.Null:
		return "", nil
	case jsonparser.String:
		return jsonparser.ParseString(v.b)
	}
	return "", errJSONType
}

func (v jvalue) number() ([]byte, error) {
	switch v.t {
	case jsonparser.Null:
		return nil, nil
	case jsonparser.Number:
		return v.b, nil
	}
	return nil, errJSONType
}

func (v jvalue) uint() (uint64, error) {
	n, err := v.number()
	if n == nil {
		return 0, err
	}
	// jsonparser has no unsigned reader
	return strconv.ParseUint(string(n), 10, 64)
}

func (v jvalue) int() (int64, error) {
	n, err := v.number()
	if n == nil {
		return 0, err
	}
	return jsonparser.ParseInt(n)
}

func (v jvalue) float() (float64, error) {
	n, err := v.number()
	if n == nil {
		return 0, err
	}
	return jsonparser.ParseFloat(n)
}

func (v jvalue) bool() (bool, error) {
	switch v.t {
	case jsonparser.Null:
		return false, nil
	case jsonparser.Boolean:
		return jsonparser.ParseBoolean(v.b)
	}
	return false, errJSONType
}

// time reads an RFC 3339 time, as time.Time's UnmarshalJSON does.
func (v jvalue) time() (time.Time, error) {
	if v.null() {
		return time.Time{}, nil
	}
	s, err := v.str()
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (v jvalue) strings() ([]string, error) {
	if v.null() {
		return nil, nil
	}
	out := []string{}
	err := v.array(func(it jvalue) error {
		s, err := it.str()
		out = append(out, s)
		return err
	})
	return out, err
}

func (v jvalue) stringMap() (map[string]string, error) {
	if v.null() {
		return nil, nil
	}
	out := map[string]string{}
	err := v.object(func(k []byte, val jvalue) error {
		s, err := val.str()
		out[string(k)] = s
		return err
	})
	return out, err
}

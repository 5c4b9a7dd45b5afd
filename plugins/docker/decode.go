package main

import (
	"encoding/json"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// decodeService reads the fields of an engine Service that the plugin maps
// (toService, specFromSwarm, the status rules) with the reflection-free
// reader; other fields stay zero. On anything unexpected it falls back to
// encoding/json, which also gives the precise error.
func decodeService(raw []byte) (swarm.Service, error) {
	var svc swarm.Service
	if err := fastService(jval(raw), &svc); err != nil {
		svc = swarm.Service{}
		err = json.Unmarshal(raw, &svc)
		return svc, err
	}
	return svc, nil
}

// serviceKey is what sorting and resolving a listed service needs.
type serviceKey struct {
	id, name string
	raw      json.RawMessage
	status   *swarm.ServiceStatus
}

// scanServices splits a service list into its items with their ID, name
// and ServiceStatus, without decoding the rest.
func scanServices(body []byte) ([]serviceKey, error) {
	var out []serviceKey
	err := jval(body).array(func(it jval) error {
		k := serviceKey{raw: json.RawMessage(it)}
		err := it.object(func(key []byte, v jval) error {
			var err error
			switch string(key) {
			case "ID":
				k.id, err = v.str()
			case "Spec":
				err = v.object(func(key []byte, v jval) error {
					if string(key) == "Name" {
						k.name, err = v.str()
					}
					return err
				})
			case "ServiceStatus":
				if !v.null() {
					k.status = &swarm.ServiceStatus{}
					err = fastServiceStatus(v, k.status)
				}
			}
			return err
		})
		out = append(out, k)
		return err
	})
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
			out = append(out, serviceKey{id: svc.ID, name: svc.Spec.Name, raw: r, status: svc.ServiceStatus})
		}
	}
	return out, nil
}

func fastServiceStatus(v jval, st *swarm.ServiceStatus) error {
	return v.object(func(key []byte, v jval) error {
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

func fastService(v jval, svc *swarm.Service) error {
	return v.object(func(key []byte, v jval) error {
		var err error
		switch string(key) {
		case "ID":
			svc.ID, err = v.str()
		case "Version":
			err = v.object(func(key []byte, v jval) error {
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
			err = v.object(func(key []byte, v jval) error {
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

func fastUpdateStatus(v jval, us *swarm.UpdateStatus) error {
	return v.object(func(key []byte, v jval) error {
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

func fastServiceSpec(v jval, s *swarm.ServiceSpec) error {
	return v.object(func(key []byte, v jval) error {
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
			s.Networks, err = fastNetworks(v)
		case "EndpointSpec":
			if v.null() {
				return nil
			}
			es := &swarm.EndpointSpec{}
			s.EndpointSpec = es
			err = v.object(func(key []byte, v jval) error {
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
}

func fastTaskSpec(v jval, t *swarm.TaskSpec) error {
	return v.object(func(key []byte, v jval) error {
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
			err = v.object(func(key []byte, v jval) error {
				if v.null() {
					return nil
				}
				var nano, mem int64
				err := v.object(func(key []byte, v jval) error {
					var err error
					switch string(key) {
					case "NanoCPUs":
						nano, err = v.int()
					case "MemoryBytes":
						mem, err = v.int()
					}
					return err
				})
				switch string(key) {
				case "Limits":
					r.Limits = &swarm.Limit{NanoCPUs: nano, MemoryBytes: mem}
				case "Reservations":
					r.Reservations = &swarm.Resources{NanoCPUs: nano, MemoryBytes: mem}
				}
				return err
			})
		case "RestartPolicy":
			if v.null() {
				return nil
			}
			rp := &swarm.RestartPolicy{}
			t.RestartPolicy = rp
			err = v.object(func(key []byte, v jval) error {
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
			err = v.object(func(key []byte, v jval) error {
				if string(key) == "Constraints" {
					t.Placement.Constraints, err = v.strings()
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
			err = v.object(func(key []byte, v jval) error {
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

func fastContainerSpec(v jval, cs *swarm.ContainerSpec) error {
	return v.object(func(key []byte, v jval) error {
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
		}
		return err
	})
}

func fastMode(v jval, m *swarm.ServiceMode) error {
	return v.object(func(key []byte, v jval) error {
		if v.null() {
			return nil
		}
		var err error
		switch string(key) {
		case "Replicated":
			m.Replicated = &swarm.ReplicatedService{}
			err = v.object(func(key []byte, v jval) error {
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
			err = v.object(func(key []byte, v jval) error {
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

func fastUpdateConfig(v jval, u *swarm.UpdateConfig) error {
	return v.object(func(key []byte, v jval) error {
		var err error
		switch string(key) {
		case "Parallelism":
			u.Parallelism, err = v.uint()
		case "Delay":
			var n int64
			n, err = v.int()
			u.Delay = time.Duration(n)
		case "FailureAction":
			u.FailureAction, err = v.str()
		case "Monitor":
			var n int64
			n, err = v.int()
			u.Monitor = time.Duration(n)
		case "MaxFailureRatio":
			var f float64
			f, err = v.float()
			u.MaxFailureRatio = float32(f)
		case "Order":
			u.Order, err = v.str()
		}
		return err
	})
}

func fastNetworks(v jval) ([]swarm.NetworkAttachmentConfig, error) {
	var out []swarm.NetworkAttachmentConfig
	err := v.array(func(it jval) error {
		var n swarm.NetworkAttachmentConfig
		err := it.object(func(key []byte, v jval) error {
			var err error
			if string(key) == "Target" {
				n.Target, err = v.str()
			}
			return err
		})
		out = append(out, n)
		return err
	})
	return out, err
}

func fastPorts(v jval) ([]swarm.PortConfig, error) {
	var out []swarm.PortConfig
	err := v.array(func(it jval) error {
		var p swarm.PortConfig
		err := it.object(func(key []byte, v jval) error {
			var err error
			var s string
			var n uint64
			switch string(key) {
			case "Name":
				p.Name, err = v.str()
			case "Protocol":
				s, err = v.str()
				p.Protocol = swarm.PortConfigProtocol(s)
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

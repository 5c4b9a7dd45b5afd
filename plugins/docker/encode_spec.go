package main

import "strconv"

// The friendly spec's encoder, written out for the same reason as the
// answers' (encode.go): appendSpec writes what json.Marshal(s) writes,
// byte for byte (encode_test.go compares them over random specs).

func (o *obj) boolPtr(k string, v *bool) {
	if v != nil {
		o.boolean(k, *v, false)
	}
}

func (o *obj) int64(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// list writes a member holding a non-empty list, one item at a time.
func list[T any](o *obj, k string, items []T, item func(b []byte, v *T) []byte) {
	if len(items) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i := range items {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = item(o.b, &items[i])
	}
	o.b = append(o.b, ']')
}

// object writes a member holding an object whose members fill writes.
func (o *obj) object(k string, fill func(*obj)) {
	o.key(k)
	o.b = appendObject(o.b, fill)
}

func appendObject(b []byte, fill func(*obj)) []byte {
	in := obj{b: append(b, '{')}
	fill(&in)
	return append(in.b, '}')
}

// appendSpec writes the friendly spec as json.Marshal(s) would.
func appendSpec(b []byte, s *Spec) []byte {
	o := obj{b: append(b, '{')}
	o.str("name", s.Name, false)
	o.str("image", s.Image, false)
	o.strs("command", s.Command, true)
	o.strs("args", s.Args, true)
	o.strMap("env", s.Env, true)
	o.strMap("labels", s.Labels, true)
	o.strMap("container_labels", s.ContainerLabels, true)
	o.str("workdir", s.Workdir, true)
	o.str("user", s.User, true)
	o.strs("groups", s.Groups, true)
	o.boolean("tty", s.TTY, true)
	o.str("hostname", s.Hostname, true)
	o.boolean("read_only", s.ReadOnly, true)
	o.boolPtr("init", s.Init)
	o.str("stop_signal", s.StopSignal, true)
	o.str("stop_grace_period", s.StopGracePeriod, true)
	if h := s.Healthcheck; h != nil {
		o.object("healthcheck", func(ho *obj) {
			ho.strs("test", h.Test, true)
			ho.str("interval", h.Interval, true)
			ho.str("timeout", h.Timeout, true)
			ho.str("start_period", h.StartPeriod, true)
			ho.int("retries", h.Retries, true)
		})
	}
	list(&o, "mounts", s.Mounts, appendMount)
	list(&o, "secrets", s.Secrets, appendFileRef)
	list(&o, "configs", s.Configs, appendFileRef)
	if d := s.DNSConfig; d != nil {
		o.object("dns_config", func(do *obj) {
			do.strs("nameservers", d.Nameservers, true)
			do.strs("search", d.Search, true)
			do.strs("options", d.Options, true)
		})
	}
	o.strs("hosts", s.Hosts, true)
	o.strs("cap_add", s.CapAdd, true)
	o.strs("cap_drop", s.CapDrop, true)
	o.strMap("sysctls", s.Sysctls, true)
	list(&o, "ulimits", s.Ulimits, func(b []byte, u *Ulimit) []byte {
		return appendObject(b, func(uo *obj) {
			uo.str("name", u.Name, false)
			uo.int64("soft", u.Soft, false)
			uo.int64("hard", u.Hard, false)
		})
	})
	o.str("isolation", s.Isolation, true)
	o.str("mode", s.Mode, true)
	o.intPtr("replicas", s.Replicas)
	o.intPtr("max_concurrent", s.MaxConcurrent)
	if r := s.Resources; r != nil {
		o.object("resources", func(ro *obj) {
			ro.float("cpu_limit", r.CPULimit, true)
			ro.str("memory_limit", r.MemoryLimit, true)
			ro.float("cpu_reservation", r.CPUReservation, true)
			ro.str("memory_reservation", r.MemoryReservation, true)
			list(ro, "generic_resources", r.Generic, func(b []byte, g *GenericResource) []byte {
				return appendObject(b, func(gro *obj) {
					gro.str("kind", g.Kind, false)
					if g.Discrete != nil {
						gro.int64("discrete", *g.Discrete, false)
					}
					gro.str("named", g.Named, true)
				})
			})
		})
	}
	if rp := s.RestartPolicy; rp != nil {
		o.object("restart_policy", func(ro *obj) {
			ro.str("condition", rp.Condition, true)
			ro.str("delay", rp.Delay, true)
			ro.intPtr("max_attempts", rp.MaxAttempts)
			ro.str("window", rp.Window, true)
		})
	}
	o.strs("constraints", s.Constraints, true)
	list(&o, "placement_preferences", s.Preferences, func(b []byte, p *Preference) []byte {
		return appendObject(b, func(po *obj) { po.str("spread", p.Spread, false) })
	})
	o.int("max_replicas_per_node", s.MaxPerNode, true)
	list(&o, "platforms", s.Platforms, func(b []byte, p *Platform) []byte {
		return appendObject(b, func(po *obj) {
			po.str("architecture", p.Architecture, true)
			po.str("os", p.OS, true)
		})
	})
	list(&o, "networks", s.Networks, appendNetwork)
	list(&o, "ports", s.Ports, func(b []byte, p *Port) []byte {
		return appendObject(b, func(po *obj) {
			po.int("target", p.Target, false)
			po.int("published", p.Published, true)
			po.str("protocol", p.Protocol, true)
			po.str("mode", p.Mode, true)
		})
	})
	o.str("endpoint_mode", s.EndpointMode, true)
	appendUpdateConfig(&o, "update_config", s.UpdateConfig)
	appendUpdateConfig(&o, "rollback_config", s.RollbackConfig)
	if ld := s.LogDriver; ld != nil {
		o.object("log_driver", func(lo *obj) {
			lo.str("name", ld.Name, false)
			lo.strMap("options", ld.Options, true)
		})
	}
	return append(o.b, '}')
}

func appendUpdateConfig(o *obj, k string, u *UpdateConfig) {
	if u == nil {
		return
	}
	o.object(k, func(uo *obj) {
		uo.intPtr("parallelism", u.Parallelism)
		uo.str("delay", u.Delay, true)
		uo.str("failure_action", u.FailureAction, true)
		uo.str("monitor", u.Monitor, true)
		if u.MaxFailureRatio != nil {
			uo.float("max_failure_ratio", *u.MaxFailureRatio, false)
		}
		uo.str("order", u.Order, true)
	})
}

func appendMount(b []byte, m *Mount) []byte {
	return appendObject(b, func(mo *obj) {
		mo.str("type", m.Type, false)
		mo.str("source", m.Source, true)
		mo.str("target", m.Target, false)
		mo.boolean("read_only", m.ReadOnly, true)
		mo.str("consistency", m.Consistency, true)
		mo.str("propagation", m.Propagation, true)
		mo.boolean("no_copy", m.NoCopy, true)
		mo.strMap("labels", m.Labels, true)
		mo.str("driver", m.Driver, true)
		mo.strMap("driver_options", m.DriverOptions, true)
		mo.str("tmpfs_size", m.TmpfsSize, true)
		mo.str("tmpfs_mode", m.TmpfsMode, true)
	})
}

func appendFileRef(b []byte, r *FileRef) []byte {
	return appendObject(b, func(ro *obj) {
		ro.str("name", r.Name, false)
		ro.str("target", r.Target, true)
		ro.str("uid", r.UID, true)
		ro.str("gid", r.GID, true)
		ro.str("mode", r.Mode, true)
	})
}

// appendNetwork writes an attachment: the plain name when it has nothing
// else (Network.MarshalJSON uses it too).
func appendNetwork(b []byte, n *Network) []byte {
	if len(n.Aliases) == 0 && len(n.DriverOptions) == 0 {
		return appendString(b, n.Target)
	}
	return appendObject(b, func(no *obj) {
		no.str("target", n.Target, false)
		no.strs("aliases", n.Aliases, true)
		no.strMap("driver_options", n.DriverOptions, true)
	})
}

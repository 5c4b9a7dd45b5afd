package main

import "github.com/wharfhq/wharf/pluginapi/plugin/jsonw"

// The friendly spec's encoder, written without reflection for the same
// reason as the SDK's answer encoder (plugin.EncodeAnswer, which embeds the
// spec in each service): appendSpec writes what json.Marshal(s) writes,
// byte for byte (encode_test.go compares them over random specs).

// appendSpec writes the friendly spec as json.Marshal(s) would.
func appendSpec(b []byte, s *Spec) []byte {
	o := jsonw.Open(b)
	o.Str("name", s.Name, false)
	o.Str("image", s.Image, false)
	o.Strs("command", s.Command, true)
	o.Strs("args", s.Args, true)
	o.StrMap("env", s.Env, true)
	o.StrMap("labels", s.Labels, true)
	o.StrMap("container_labels", s.ContainerLabels, true)
	o.Str("workdir", s.Workdir, true)
	o.Str("user", s.User, true)
	o.Strs("groups", s.Groups, true)
	o.Bool("tty", s.TTY, true)
	o.Str("hostname", s.Hostname, true)
	o.Bool("read_only", s.ReadOnly, true)
	o.BoolPtr("init", s.Init)
	o.Str("stop_signal", s.StopSignal, true)
	o.Str("stop_grace_period", s.StopGracePeriod, true)
	if h := s.Healthcheck; h != nil {
		o.Object("healthcheck", func(ho *jsonw.Object) {
			ho.Strs("test", h.Test, true)
			ho.Str("interval", h.Interval, true)
			ho.Str("timeout", h.Timeout, true)
			ho.Str("start_period", h.StartPeriod, true)
			ho.Int("retries", h.Retries, true)
		})
	}
	jsonw.List(&o, "mounts", s.Mounts, true, appendMount)
	jsonw.List(&o, "secrets", s.Secrets, true, appendFileRef)
	jsonw.List(&o, "configs", s.Configs, true, appendFileRef)
	if d := s.DNSConfig; d != nil {
		o.Object("dns_config", func(do *jsonw.Object) {
			do.Strs("nameservers", d.Nameservers, true)
			do.Strs("search", d.Search, true)
			do.Strs("options", d.Options, true)
		})
	}
	o.Strs("hosts", s.Hosts, true)
	o.Strs("cap_add", s.CapAdd, true)
	o.Strs("cap_drop", s.CapDrop, true)
	o.StrMap("sysctls", s.Sysctls, true)
	jsonw.List(&o, "ulimits", s.Ulimits, true, func(b []byte, u *Ulimit) []byte {
		return jsonw.AppendObject(b, func(uo *jsonw.Object) {
			uo.Str("name", u.Name, false)
			uo.Int64("soft", u.Soft, false)
			uo.Int64("hard", u.Hard, false)
		})
	})
	o.Str("isolation", s.Isolation, true)
	o.Str("mode", s.Mode, true)
	o.IntPtr("replicas", s.Replicas)
	o.IntPtr("max_concurrent", s.MaxConcurrent)
	if r := s.Resources; r != nil {
		o.Object("resources", func(ro *jsonw.Object) {
			ro.Float("cpu_limit", r.CPULimit, true)
			ro.Str("memory_limit", r.MemoryLimit, true)
			ro.Float("cpu_reservation", r.CPUReservation, true)
			ro.Str("memory_reservation", r.MemoryReservation, true)
			jsonw.List(ro, "generic_resources", r.Generic, true, func(b []byte, g *GenericResource) []byte {
				return jsonw.AppendObject(b, func(gro *jsonw.Object) {
					gro.Str("kind", g.Kind, false)
					if g.Discrete != nil {
						gro.Int64("discrete", *g.Discrete, false)
					}
					gro.Str("named", g.Named, true)
				})
			})
		})
	}
	if rp := s.RestartPolicy; rp != nil {
		o.Object("restart_policy", func(ro *jsonw.Object) {
			ro.Str("condition", rp.Condition, true)
			ro.Str("delay", rp.Delay, true)
			ro.IntPtr("max_attempts", rp.MaxAttempts)
			ro.Str("window", rp.Window, true)
		})
	}
	o.Strs("constraints", s.Constraints, true)
	jsonw.List(&o, "placement_preferences", s.Preferences, true, func(b []byte, p *Preference) []byte {
		return jsonw.AppendObject(b, func(po *jsonw.Object) { po.Str("spread", p.Spread, false) })
	})
	o.Int("max_replicas_per_node", s.MaxPerNode, true)
	jsonw.List(&o, "platforms", s.Platforms, true, func(b []byte, p *Platform) []byte {
		return jsonw.AppendObject(b, func(po *jsonw.Object) {
			po.Str("architecture", p.Architecture, true)
			po.Str("os", p.OS, true)
		})
	})
	jsonw.List(&o, "networks", s.Networks, true, appendNetwork)
	jsonw.List(&o, "ports", s.Ports, true, func(b []byte, p *Port) []byte {
		return jsonw.AppendObject(b, func(po *jsonw.Object) {
			po.Int("target", p.Target, false)
			po.Int("published", p.Published, true)
			po.Str("protocol", p.Protocol, true)
			po.Str("mode", p.Mode, true)
		})
	})
	o.Str("endpoint_mode", s.EndpointMode, true)
	appendUpdateConfig(&o, "update_config", s.UpdateConfig)
	appendUpdateConfig(&o, "rollback_config", s.RollbackConfig)
	if ld := s.LogDriver; ld != nil {
		o.Object("log_driver", func(lo *jsonw.Object) {
			lo.Str("name", ld.Name, false)
			lo.StrMap("options", ld.Options, true)
		})
	}
	return o.Close()
}

func appendUpdateConfig(o *jsonw.Object, k string, u *UpdateConfig) {
	if u == nil {
		return
	}
	o.Object(k, func(uo *jsonw.Object) {
		uo.IntPtr("parallelism", u.Parallelism)
		uo.Str("delay", u.Delay, true)
		uo.Str("failure_action", u.FailureAction, true)
		uo.Str("monitor", u.Monitor, true)
		if u.MaxFailureRatio != nil {
			uo.Float("max_failure_ratio", *u.MaxFailureRatio, false)
		}
		uo.Str("order", u.Order, true)
	})
}

func appendMount(b []byte, m *Mount) []byte {
	return jsonw.AppendObject(b, func(mo *jsonw.Object) {
		mo.Str("type", m.Type, false)
		mo.Str("source", m.Source, true)
		mo.Str("target", m.Target, false)
		mo.Bool("read_only", m.ReadOnly, true)
		mo.Str("consistency", m.Consistency, true)
		mo.Str("propagation", m.Propagation, true)
		mo.Bool("no_copy", m.NoCopy, true)
		mo.StrMap("labels", m.Labels, true)
		mo.Str("driver", m.Driver, true)
		mo.StrMap("driver_options", m.DriverOptions, true)
		mo.Str("tmpfs_size", m.TmpfsSize, true)
		mo.Str("tmpfs_mode", m.TmpfsMode, true)
	})
}

func appendFileRef(b []byte, r *FileRef) []byte {
	return jsonw.AppendObject(b, func(ro *jsonw.Object) {
		ro.Str("name", r.Name, false)
		ro.Str("target", r.Target, true)
		ro.Str("uid", r.UID, true)
		ro.Str("gid", r.GID, true)
		ro.Str("mode", r.Mode, true)
	})
}

// appendNetwork writes an attachment: the plain name when it has nothing
// else (Network.MarshalJSON uses it too).
func appendNetwork(b []byte, n *Network) []byte {
	if len(n.Aliases) == 0 && len(n.DriverOptions) == 0 {
		return jsonw.AppendString(b, n.Target)
	}
	return jsonw.AppendObject(b, func(no *jsonw.Object) {
		no.Str("target", n.Target, false)
		no.Strs("aliases", n.Aliases, true)
		no.StrMap("driver_options", n.DriverOptions, true)
	})
}

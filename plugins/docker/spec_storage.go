package main

import (
	"fmt"
	"os"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/wharfhq/wharf/pluginapi"
)

// Mount is a bind mount, a named (or anonymous) volume or a tmpfs in the
// task's container, flattened as docker-py's Mount: the options of a type
// apply to that type only.
type Mount struct {
	Type          string            `json:"type"`
	Source        string            `json:"source,omitempty"`
	Target        string            `json:"target"`
	ReadOnly      bool              `json:"read_only,omitempty"`
	Consistency   string            `json:"consistency,omitempty"`
	Propagation   string            `json:"propagation,omitempty"`
	NoCopy        bool              `json:"no_copy,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOptions map[string]string `json:"driver_options,omitempty"`
	TmpfsSize     string            `json:"tmpfs_size,omitempty"`
	TmpfsMode     string            `json:"tmpfs_mode,omitempty"`
}

// FileRef puts a swarm secret or config, named, as a file in the
// container: Target is its file name (the secret's name when left out;
// under /run/secrets for a relative secret target), owned by UID:GID
// ("0" when left out) with Mode (octal, 0444 when left out).
type FileRef struct {
	Name   string `json:"name"`
	Target string `json:"target,omitempty"`
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
	Mode   string `json:"mode,omitempty"`
}

// check says which options do not belong to the mount's type.
func (m *Mount) check(f string) error {
	only := func(field, kind string, set bool) error {
		if set && m.Type != kind {
			return pluginapi.Invalid(f+"/"+field, "%s is for %s mounts only, not %s", field, kind, m.Type)
		}
		return nil
	}
	for _, c := range []struct {
		field, kind string
		set         bool
	}{
		{"propagation", "bind", m.Propagation != ""},
		{"no_copy", "volume", m.NoCopy}, {"labels", "volume", len(m.Labels) > 0},
		{"driver", "volume", m.Driver != ""}, {"driver_options", "volume", len(m.DriverOptions) > 0},
		{"tmpfs_size", "tmpfs", m.TmpfsSize != ""}, {"tmpfs_mode", "tmpfs", m.TmpfsMode != ""},
	} {
		if err := only(c.field, c.kind, c.set); err != nil {
			return err
		}
	}
	switch {
	case m.Type == "bind" && m.Source == "":
		return pluginapi.Invalid(f+"/source", "a bind mount needs the source path on the node")
	case m.Type == "tmpfs" && m.Source != "":
		return pluginapi.Invalid(f+"/source", "a tmpfs mount has no source")
	case len(m.DriverOptions) > 0 && m.Driver == "":
		return pluginapi.Invalid(f+"/driver", "driver_options need the driver they are for (such as local)")
	}
	return nil
}

// uniqueTargets: two mounts on one path are refused by the engine.
func uniqueTargets(list []Mount) error {
	seen := map[string]bool{}
	for i, m := range list {
		if seen[m.Target] {
			return pluginapi.Invalid(fmt.Sprintf("/mounts/%d/target", i), "two mounts on %s", m.Target)
		}
		seen[m.Target] = true
	}
	return nil
}

// checkFileRefs: two files on one target are refused by the engine.
func checkFileRefs(field string, list []FileRef) error {
	seen := map[string]bool{}
	for i, r := range list {
		t := r.target()
		if seen[t] {
			return pluginapi.Invalid(fmt.Sprintf("/%s/%d/target", field, i), "two %s on the file %s", field, t)
		}
		seen[t] = true
	}
	return nil
}

func (r FileRef) target() string {
	if r.Target != "" {
		return r.Target
	}
	return r.Name
}

func mountsToSwarm(list []Mount) ([]mount.Mount, error) {
	var out []mount.Mount
	for i, m := range list {
		f := fmt.Sprintf("/mounts/%d", i)
		mm := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly,
			Consistency: mount.Consistency(m.Consistency)}
		if m.Propagation != "" {
			mm.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(m.Propagation)}
		}
		if m.NoCopy || len(m.Labels) > 0 || m.Driver != "" {
			vo := &mount.VolumeOptions{NoCopy: m.NoCopy, Labels: m.Labels}
			if m.Driver != "" {
				vo.DriverConfig = &mount.Driver{Name: m.Driver, Options: m.DriverOptions}
			}
			mm.VolumeOptions = vo
		}
		if m.TmpfsSize != "" || m.TmpfsMode != "" {
			size, err := parseMemory(m.TmpfsSize, f+"/tmpfs_size")
			if err != nil {
				return nil, err
			}
			mode, err := parseMode(m.TmpfsMode, 0, f+"/tmpfs_mode")
			if err != nil {
				return nil, err
			}
			mm.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: size, Mode: os.FileMode(mode)}
		}
		out = append(out, mm)
	}
	return out, nil
}

func mountsFromSwarm(list []mount.Mount) []Mount {
	var out []Mount
	for _, mm := range list {
		m := Mount{Type: string(mm.Type), Source: mm.Source, Target: mm.Target, ReadOnly: mm.ReadOnly, Consistency: string(mm.Consistency)}
		if b := mm.BindOptions; b != nil {
			m.Propagation = string(b.Propagation)
		}
		if v := mm.VolumeOptions; v != nil {
			m.NoCopy = v.NoCopy
			if len(v.Labels) > 0 {
				m.Labels = v.Labels
			}
			if d := v.DriverConfig; d != nil {
				m.Driver = d.Name
				if len(d.Options) > 0 {
					m.DriverOptions = d.Options
				}
			}
		}
		if t := mm.TmpfsOptions; t != nil {
			if t.SizeBytes != 0 {
				m.TmpfsSize = formatMemory(t.SizeBytes)
			}
			if t.Mode != 0 {
				m.TmpfsMode = formatMode(uint32(t.Mode))
			}
		}
		out = append(out, m)
	}
	return out
}

// refIDs are the engine IDs of the secrets and configs a spec names.
type refIDs struct {
	secrets, configs map[string]string
}

// fileTarget is the file a reference becomes, with the docker CLI's defaults.
func (r FileRef) fileTarget(field string) (name, uid, gid string, mode os.FileMode, err error) {
	uid, gid = r.UID, r.GID
	if uid == "" {
		uid = "0"
	}
	if gid == "" {
		gid = "0"
	}
	m, err := parseMode(r.Mode, 0o444, field+"/mode")
	return r.target(), uid, gid, os.FileMode(m), err
}

func secretsToSwarm(list []FileRef, ids refIDs) ([]*swarm.SecretReference, error) {
	var out []*swarm.SecretReference
	for i, r := range list {
		f := fmt.Sprintf("/secrets/%d", i)
		id, ok := ids.secrets[r.Name]
		if !ok {
			return nil, pluginapi.Invalid(f+"/name", "no secret named %q on this swarm (docker secret ls)", r.Name)
		}
		name, uid, gid, mode, err := r.fileTarget(f)
		if err != nil {
			return nil, err
		}
		out = append(out, &swarm.SecretReference{SecretID: id, SecretName: r.Name,
			File: &swarm.SecretReferenceFileTarget{Name: name, UID: uid, GID: gid, Mode: mode}})
	}
	return out, nil
}

func configsToSwarm(list []FileRef, ids refIDs) ([]*swarm.ConfigReference, error) {
	var out []*swarm.ConfigReference
	for i, r := range list {
		f := fmt.Sprintf("/configs/%d", i)
		id, ok := ids.configs[r.Name]
		if !ok {
			return nil, pluginapi.Invalid(f+"/name", "no config named %q on this swarm (docker config ls)", r.Name)
		}
		name, uid, gid, mode, err := r.fileTarget(f)
		if err != nil {
			return nil, err
		}
		out = append(out, &swarm.ConfigReference{ConfigID: id, ConfigName: r.Name,
			File: &swarm.ConfigReferenceFileTarget{Name: name, UID: uid, GID: gid, Mode: mode}})
	}
	return out, nil
}

func fileRefOf(name string, file *swarm.SecretReferenceFileTarget) FileRef {
	r := FileRef{Name: name}
	if file != nil {
		r.Target, r.UID, r.GID, r.Mode = file.Name, file.UID, file.GID, formatMode(uint32(file.Mode))
	}
	return r
}

func secretsFromSwarm(list []*swarm.SecretReference) []FileRef {
	var out []FileRef
	for _, r := range list {
		if r != nil {
			out = append(out, fileRefOf(r.SecretName, r.File))
		}
	}
	return out
}

// configsFromSwarm reads file configs; a config used as a credential spec
// (Runtime, Windows) has no file and no friendly form.
func configsFromSwarm(list []*swarm.ConfigReference) []FileRef {
	var out []FileRef
	for _, r := range list {
		if r != nil && r.File != nil {
			out = append(out, fileRefOf(r.ConfigName, (*swarm.SecretReferenceFileTarget)(r.File)))
		}
	}
	return out
}

// storedIDs are the IDs of the references the stored spec already has.
func storedIDs(base *swarm.ServiceSpec) refIDs {
	ids := refIDs{secrets: map[string]string{}, configs: map[string]string{}}
	if base == nil || base.TaskTemplate.ContainerSpec == nil {
		return ids
	}
	for _, r := range base.TaskTemplate.ContainerSpec.Secrets {
		if r != nil {
			ids.secrets[r.SecretName] = r.SecretID
		}
	}
	for _, r := range base.TaskTemplate.ContainerSpec.Configs {
		if r != nil {
			ids.configs[r.ConfigName] = r.ConfigID
		}
	}
	return ids
}

package main

import (
	"bytes"
	"encoding/json"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
)

// Lists of the task template (network attachments, mounts, secrets,
// configs) are written whole when the friendly member changes, but an item
// whose modeled view is unchanged goes back as stored, byte for byte, with
// whatever the friendly spec does not model (a mount's subpath, an
// attachment member of a later engine).

// rawItems are the stored items of the list at path (nil when absent).
func (p *specPatch) rawItems(path []string) ([][]byte, error) {
	list, err := p.spec.getPath(path)
	if err != nil || list == nil {
		return nil, err
	}
	var out [][]byte
	items := parseValue(list).items()
	for _, it, ok := items.next(); ok; _, it, ok = items.next() {
		out = append(out, it.b)
	}
	return out, items.err
}

// writeList sets the list at path to want's items, each the stored item
// whose view equals it when there is one, else its encoding/json form,
// followed by keep: stored items the spec cannot show, which pass through.
func writeList[T any](p *specPatch, path []string, want []T, stored [][]byte, view func([]byte) ([]byte, error), keep ...[]byte) error {
	if len(want) == 0 && len(keep) == 0 {
		return p.set(path, nil)
	}
	views := make([][]byte, len(stored))
	for i, r := range stored {
		views[i], _ = view(r) // an item the plugin cannot read never matches
	}
	used := make([]bool, len(stored))
	list := []byte{'['}
	for i := range want {
		item := jsonOf(want[i])
		for j := range stored {
			if !used[j] && views[j] != nil && bytes.Equal(views[j], item) {
				item, used[j] = stored[j], true
				break
			}
		}
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, item...)
	}
	for i, item := range keep {
		if i > 0 || len(want) > 0 {
			list = append(list, ',')
		}
		list = append(list, item...)
	}
	return p.set(path, append(list, ']'))
}

// networks writes the attachment list in the task template (where
// docker-py and the CLI put it) and drops the deprecated service-level one.
func (p *specPatch) networks(want []swarm.NetworkAttachmentConfig) error {
	var stored [][]byte
	for _, path := range [][]string{{"TaskTemplate", "Networks"}, {"Networks"}} {
		items, err := p.rawItems(path)
		if err != nil {
			return err
		}
		stored = append(stored, items...)
	}
	err := writeList(p, []string{"TaskTemplate", "Networks"}, want, stored, func(raw []byte) ([]byte, error) {
		var n swarm.NetworkAttachmentConfig
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		return jsonOf(networksToSwarm(networksFromSwarm([]swarm.NetworkAttachmentConfig{n}), nil)[0]), nil
	})
	if err != nil {
		return err
	}
	return p.set([]string{"Networks"}, nil)
}

// containerLists writes the mounts, secrets and configs that changed.
func (p *specPatch) containerLists(changed map[string]bool, want *swarm.ContainerSpec) error {
	cs := []string{"TaskTemplate", "ContainerSpec"}
	at := func(member string) []string { return append(cs[:len(cs):len(cs)], member) }
	if changed["mounts"] {
		stored, err := p.rawItems(at("Mounts"))
		if err != nil {
			return err
		}
		err = writeList(p, at("Mounts"), want.Mounts, stored, func(raw []byte) ([]byte, error) {
			var m mount.Mount
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
			back, err := mountsToSwarm(mountsFromSwarm([]mount.Mount{m}))
			if err != nil {
				return nil, err
			}
			return jsonOf(back[0]), nil
		})
		if err != nil {
			return err
		}
	}
	if changed["secrets"] {
		stored, err := p.rawItems(at("Secrets"))
		if err != nil {
			return err
		}
		err = writeList(p, at("Secrets"), want.Secrets, stored, func(raw []byte) ([]byte, error) {
			var r swarm.SecretReference
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, err
			}
			back, err := secretsToSwarm(secretsFromSwarm([]*swarm.SecretReference{&r}), refIDs{secrets: map[string]string{r.SecretName: r.SecretID}})
			if err != nil || len(back) == 0 {
				return nil, err
			}
			return jsonOf(back[0]), nil
		})
		if err != nil {
			return err
		}
	}
	if changed["configs"] {
		stored, err := p.rawItems(at("Configs"))
		if err != nil {
			return err
		}
		// A config without a file target (a credential spec's Runtime
		// config) has no form in the spec: it stays as stored.
		var runtimeRefs [][]byte
		for _, raw := range stored {
			var r swarm.ConfigReference
			if json.Unmarshal(raw, &r) == nil && r.File == nil {
				runtimeRefs = append(runtimeRefs, raw)
			}
		}
		err = writeList(p, at("Configs"), want.Configs, stored, func(raw []byte) ([]byte, error) {
			var r swarm.ConfigReference
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, err
			}
			back, err := configsToSwarm(configsFromSwarm([]*swarm.ConfigReference{&r}), refIDs{configs: map[string]string{r.ConfigName: r.ConfigID}})
			if err != nil || len(back) == 0 {
				return nil, err
			}
			return jsonOf(back[0]), nil
		}, runtimeRefs...)
		if err != nil {
			return err
		}
	}
	return nil
}

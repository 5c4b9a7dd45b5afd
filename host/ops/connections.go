package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// ListPlugins lists the loaded plugins, sorted by name. Any caller: what
// a host can manage is no secret to those it lets in.
func (h *Host) ListPlugins(ctx context.Context, c Caller) ([]PluginInfo, error) {
	set := h.plugins.Load()
	out := make([]PluginInfo, 0, len(set.names))
	for _, n := range set.names {
		out = append(out, h.pluginInfo(set.byName[n], set))
	}
	return out, nil
}

// GetPlugin describes one plugin. Any caller.
func (h *Host) GetPlugin(ctx context.Context, c Caller, name string) (PluginInfo, error) {
	set := h.plugins.Load()
	p := set.byName[name]
	if p == nil {
		return PluginInfo{}, pluginapi.NotFound("plugin %s not found", name)
	}
	return h.pluginInfo(p, set), nil
}

func (h *Host) pluginInfo(p *loadedPlugin, set *pluginSet) PluginInfo {
	hosts := append([]string{}, p.desc.Hosts...)
	info := PluginInfo{Name: p.rt.Name(), Title: p.desc.Title, Version: p.desc.Version, Digest: p.rt.Digest(),
		Path: p.rt.Path(), Hosts: hosts, Describe: p.desc, Signature: p.rt.Trust(), LoadedAt: p.loadedAt,
		FailurePolicy: policyView(h.policyOf(p))}
	if pr, ok := set.problems[p.rt.Path()]; ok {
		info.Problem = &pr
	}
	for _, st := range h.breakers.Open() {
		if st.Plugin == info.Name {
			info.FailingConnections++
		}
	}
	return info
}

// view turns a stored connection into what callers see.
func (h *Host) view(c connstore.Connection) Connection {
	v := Connection{Name: c.Name, Plugin: c.Plugin, Labels: connstore.CloneLabels(c.Labels), Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		SecretsSet: []string{}, Endpoints: []EndpointView{}, ApprovedHosts: []string{}, PendingHosts: []string{}}
	p := h.plugin(c.Plugin)
	if p == nil {
		// Without the schema we cannot tell secrets apart: show nothing.
		v.Config = json.RawMessage(`{}`)
		v.Problem = "plugin " + c.Plugin + " is not loaded (plugin missing); the config is hidden"
		v.PluginMissing = true
		return v
	}
	v.Config = schema.Redact(c.Config, p.secrets)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(c.Config, &m)
	for _, s := range p.secrets {
		if raw, ok := m[s]; ok && !isNullOrEmpty(raw) {
			v.SecretsSet = append(v.SecretsSet, s)
		}
	}
	v.Endpoints = p.endpointViews(decodeConfig(c.Config))
	approved, pending := p.splitHosts(c.ApprovedHosts)
	v.ApprovedHosts, v.PendingHosts = append([]string{}, approved...), append([]string{}, pending...)
	v.Failing = h.failingOf(c.Name, c.Plugin)
	v.Health = h.health.get(c.Name)
	return v
}

func isNullOrEmpty(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte(`""`))
}

// ListConnections lists the connections the caller may read, sorted by
// name, secrets redacted. Viewer on each.
func (h *Host) ListConnections(ctx context.Context, c Caller) ([]Connection, error) {
	all, err := h.cfg.Connections.List(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	rights := c.rights()
	out := make([]Connection, 0, len(all))
	for _, s := range all {
		if role := rights.RoleOn(targetOf(s)); role.Allows(RoleViewer) {
			v := h.view(s)
			v.Role = role
			out = append(out, v)
		}
	}
	return out, nil
}

// GetConnection returns one connection, secrets redacted. Viewer.
func (h *Host) GetConnection(ctx context.Context, c Caller, name string) (Connection, error) {
	s, err := h.cfg.Connections.Get(ctx, name)
	if err != nil {
		return Connection{}, storeErr(err)
	}
	if err := authorizeOn(c, nil, targetOf(s), RoleViewer, "reading a connection"); err != nil {
		return Connection{}, err
	}
	v := h.view(s)
	v.Role = c.rights().RoleOn(targetOf(s))
	return v, nil
}

// prepareConfig checks a connection's config against its plugin's schema,
// keeping stored secrets where the new config omits them or sends the
// redaction mask, and fills defaults. stored is nil on create. When an
// endpoint moves to another destination, the stored secrets the config does
// not send again are dropped (and named in the answer) unless keep is set:
// a new endpoint must not receive the old credentials unless an
// administrator says so.
func (h *Host) prepareConfig(p *loadedPlugin, cfg json.RawMessage, stored json.RawMessage, keep bool) (json.RawMessage, []string, error) {
	if len(bytes.TrimSpace(cfg)) == 0 || bytes.Equal(bytes.TrimSpace(cfg), []byte("null")) {
		cfg = json.RawMessage(`{}`)
	}
	if err := checkDoc("/config", "the config", cfg); err != nil {
		return nil, nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &m); err != nil || m == nil {
		return nil, nil, pluginapi.Invalid("/config", "config must be a JSON object")
	}
	var old map[string]json.RawMessage
	if stored != nil {
		_ = json.Unmarshal(stored, &old)
	}
	masked, _ := json.Marshal(Redacted)
	var kept []string // stored secrets carried over, not sent again
	for _, s := range p.secrets {
		v, ok := m[s]
		isMask := ok && bytes.Equal(bytes.TrimSpace(v), masked)
		if stored == nil {
			if isMask {
				return nil, nil, pluginapi.Invalid("/config/"+s, "%s: send the secret itself, not %s", s, Redacted)
			}
			continue
		}
		if !ok || isMask {
			if prev, had := old[s]; had {
				m[s] = prev
				kept = append(kept, s)
			} else {
				delete(m, s)
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, nil, pluginapi.Errorf(pluginapi.CodeInternal, "encode config: %v", err)
	}
	cfg = p.config.Defaults(b)
	var dropped []string
	if len(kept) > 0 && !keep && p.endpointsMoved(decodeConfig(stored), decodeConfig(cfg)) {
		var filled map[string]json.RawMessage
		_ = json.Unmarshal(cfg, &filled)
		for _, s := range kept {
			delete(filled, s)
		}
		dropped = kept
		if cfg, err = json.Marshal(filled); err != nil {
			return nil, nil, pluginapi.Errorf(pluginapi.CodeInternal, "encode config: %v", err)
		}
	}
	if err := p.config.Validate(cfg); err != nil {
		e := pluginapi.AsError(err)
		cp := *e
		cp.Field = "/config" + e.Field
		if f := strings.TrimPrefix(e.Field, "/"); slices.Contains(dropped, f) {
			cp.Message = fmt.Sprintf("an endpoint changed, so the stored %s was dropped: enter it again, or set keep_secrets to keep it (%s)", f, e.Message)
		}
		return nil, nil, &cp
	}
	if err := p.checkEndpointDefaults(decodeConfig(cfg)); err != nil {
		return nil, nil, err
	}
	return cfg, dropped, nil
}

// connAudit is what the audit log records of a connection change.
func connAudit(p *loadedPlugin, name, plugin string, cfg json.RawMessage, labels map[string]string, version int64, approved []string, keep bool, dropped []string) any {
	rec := map[string]any{"name": name, "plugin": plugin, "config": schema.Redact(cfg, p.secrets), "version": version,
		"approved_hosts": approved, "labels": connstore.CloneLabels(labels)}
	if keep {
		rec["keep_secrets"] = true
	}
	if len(dropped) > 0 {
		rec["secrets_dropped"] = dropped
	}
	return rec
}

// CreateConnection validates in.Config against the plugin's config schema
// (defaults filled) and stores it. Admin on the new connection (its name
// and labels must fall in the caller's admin scope); audited with secrets
// redacted (refused too).
func (h *Host) CreateConnection(ctx context.Context, c Caller, in ConnectionInput) (_ Connection, err error) {
	ev := &auditEvent{op: "connection.create", conn: in.Name, plugin: in.Plugin, target: in.Name}
	defer h.auditRefusal(ctx, c, ev, &err)
	if !connstore.ValidName(in.Name) {
		return Connection{}, pluginapi.Invalid("/name", "connection name %q is not valid: use 1 to 63 lowercase letters, digits and dashes", in.Name)
	}
	if err := connstore.CheckLabels(in.Labels); err != nil {
		return Connection{}, err
	}
	if err := authorizeNew(c, access.Target{Name: in.Name, Labels: in.Labels}, "creating a connection"); err != nil {
		return Connection{}, err
	}
	p := h.plugin(in.Plugin)
	if p == nil {
		return Connection{}, pluginapi.Invalid("/plugin", "unknown plugin %q", in.Plugin)
	}
	// A refusal's message may quote what was sent: scrub the secrets sent.
	ev.scrub = p.scrubberOf(decodeConfig(in.Config))
	cfg, _, err := h.prepareConfig(p, in.Config, nil, false)
	if err != nil {
		return Connection{}, err
	}
	approved, err := p.checkApprovedHosts(in.ApprovedHosts)
	if err != nil {
		return Connection{}, err
	}
	var out connstore.Connection
	ev.request, ev.scrub = connAudit(p, in.Name, in.Plugin, cfg, in.Labels, 0, approved, false, nil), p.scrubberOf(decodeConfig(cfg))
	err = h.audited(ctx, c, ev, func() (string, error) {
		var err error
		out, err = h.cfg.Connections.Create(ctx, connstore.Connection{Name: in.Name, Plugin: in.Plugin, Config: cfg,
			Labels: in.Labels, ApprovedHosts: approved})
		return in.Name, storeErrOrNil(err)
	})
	if err != nil {
		return Connection{}, err
	}
	return h.view(out), nil
}

func storeErrOrNil(err error) error {
	if err == nil {
		return nil
	}
	return storeErr(err)
}

// UpdateConnection replaces a connection's config. A secret property
// absent from in.Config or sent as Redacted keeps its stored value. The
// plugin cannot be changed. Admin; audited (refused too).
func (h *Host) UpdateConnection(ctx context.Context, c Caller, name string, in ConnectionInput) (_ Connection, err error) {
	ev := &auditEvent{op: "connection.update", conn: name, target: name}
	defer h.auditRefusal(ctx, c, ev, &err)
	return h.updateConnection(ctx, c, ev, name, in.Plugin, in.Version, in.Labels, in.ApprovedHosts, in.KeepSecrets, func(_ *loadedPlugin, stored json.RawMessage) (json.RawMessage, error) {
		return in.Config, nil
	})
}

// PatchConnection applies a JSON merge patch (RFC 7386) to a connection's
// config (secrets as in UpdateConnection; a patch that moves an endpoint
// must carry the secrets again, or they are dropped). Approved hosts stay.
// version 0 means any. Admin; audited (refused too).
func (h *Host) PatchConnection(ctx context.Context, c Caller, name string, patch json.RawMessage, version int64) (_ Connection, err error) {
	ev := &auditEvent{op: "connection.update", conn: name, target: name}
	defer h.auditRefusal(ctx, c, ev, &err)
	return h.updateConnection(ctx, c, ev, name, "", version, nil, nil, false, func(p *loadedPlugin, stored json.RawMessage) (json.RawMessage, error) {
		merged, err := mergePatch("config of connection "+name, stored, patch)
		if err != nil {
			return nil, err
		}
		return carriedSecrets(p, merged, patch), nil
	})
}

// carriedSecrets marks the secrets of a merged config that the patch did
// not send as carried over (the redaction mask), so that prepareConfig
// treats them as stored values, not as values sent again.
func carriedSecrets(p *loadedPlugin, merged, patch json.RawMessage) json.RawMessage {
	var m, sent map[string]json.RawMessage
	if json.Unmarshal(merged, &m) != nil || json.Unmarshal(patch, &sent) != nil {
		return merged
	}
	masked, _ := json.Marshal(Redacted)
	for _, s := range p.secrets {
		if _, inPatch := sent[s]; !inPatch {
			if _, ok := m[s]; ok {
				m[s] = masked
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return merged
	}
	return b
}

// updateConnection runs the update that ev records. labels nil keeps the
// stored labels. The caller needs admin on the connection as it is and as
// it will be: relabelling cannot move a connection out of one's reach or
// into another team's.
func (h *Host) updateConnection(ctx context.Context, c Caller, ev *auditEvent, name, plugin string, version int64, labels map[string]string, approvals []string, keep bool,
	newConfig func(p *loadedPlugin, stored json.RawMessage) (json.RawMessage, error)) (Connection, error) {
	cur, err := h.cfg.Connections.Get(ctx, name)
	if err != nil {
		return Connection{}, storeErr(err)
	}
	if err := authorizeOn(c, ev, targetOf(cur), RoleAdmin, "updating a connection"); err != nil {
		return Connection{}, err
	}
	if labels == nil {
		labels = cur.Labels
	} else if err := connstore.CheckLabels(labels); err != nil {
		return Connection{}, err
	} else if err := authorizeNew(c, access.Target{Name: name, Labels: labels}, "relabelling a connection"); err != nil {
		return Connection{}, err
	}
	ev.plugin, ev.scrub = cur.Plugin, h.storedScrubberOf(cur)
	if plugin != "" && plugin != cur.Plugin {
		return Connection{}, pluginapi.Invalid("/plugin", "the plugin of connection %s is %s and cannot change; create another connection", name, cur.Plugin)
	}
	p := h.plugin(cur.Plugin)
	if p == nil {
		return Connection{}, pluginapi.Errorf(pluginapi.CodeUnavailable, "connection %s uses plugin %s, which is not loaded", name, cur.Plugin)
	}
	if version != 0 && version != cur.Version {
		return Connection{}, pluginapi.Errorf(pluginapi.CodeConflict, "connection %s is at version %d, not %d: reload and retry", name, cur.Version, version)
	}
	if version == 0 {
		version = cur.Version
	}
	raw, err := newConfig(p, cur.Config)
	if err != nil {
		return Connection{}, err
	}
	ev.scrub = p.scrubberOf(decodeConfig(raw), decodeConfig(cur.Config))
	cfg, dropped, err := h.prepareConfig(p, raw, cur.Config, keep)
	if err != nil {
		return Connection{}, err
	}
	approved := cur.ApprovedHosts
	if approvals != nil {
		if approved, err = p.checkApprovedHosts(approvals); err != nil {
			return Connection{}, err
		}
	}
	var out connstore.Connection
	ev.request = connAudit(p, name, cur.Plugin, cfg, labels, version, approved, keep, dropped)
	ev.scrub = p.scrubberOf(decodeConfig(cfg), decodeConfig(cur.Config))
	err = h.audited(ctx, c, ev, func() (string, error) {
		var err error
		out, err = h.cfg.Connections.Update(ctx, connstore.Connection{Name: name, Plugin: cur.Plugin, Config: cfg, Labels: labels,
			ApprovedHosts: approved, Version: version})
		return "", storeErrOrNil(err)
	})
	if err != nil {
		return Connection{}, err
	}
	v := h.view(out)
	v.SecretsDropped = dropped
	return v, nil
}

// PutConnection creates or replaces a connection (the config file at
// start); secrets are kept as in UpdateConnection. Admin on the old and
// the new connection; audited (by the create, update or delete it makes;
// refused too).
func (h *Host) PutConnection(ctx context.Context, c Caller, in ConnectionInput) (_ Connection, err error) {
	ev := &auditEvent{op: "connection.update", conn: in.Name, plugin: in.Plugin, target: in.Name}
	defer h.auditRefusal(ctx, c, ev, &err)
	cur, err := h.cfg.Connections.Get(ctx, in.Name)
	if err == nil {
		if err := authorizeOn(c, ev, targetOf(cur), RoleAdmin, "writing a connection"); err != nil {
			return Connection{}, err
		}
	}
	ev.ran = err == nil || pluginapi.CodeOf(err) == pluginapi.CodeNotFound // what follows audits itself
	if pluginapi.CodeOf(err) == pluginapi.CodeNotFound {
		return h.CreateConnection(ctx, c, in)
	}
	if err != nil {
		return Connection{}, storeErr(err)
	}
	if in.Plugin != cur.Plugin {
		// A config file may move a connection to another plugin: replace it.
		if err := h.DeleteConnection(ctx, c, in.Name); err != nil {
			return Connection{}, err
		}
		return h.CreateConnection(ctx, c, in)
	}
	in.Version = 0
	return h.UpdateConnection(ctx, c, in.Name, in)
}

// DeleteConnection removes a connection (its services stay on the
// platform). Admin; audited (refused too).
func (h *Host) DeleteConnection(ctx context.Context, c Caller, name string) (err error) {
	ev := &auditEvent{op: "connection.delete", conn: name, target: name}
	defer h.auditRefusal(ctx, c, ev, &err)
	cur, err := h.cfg.Connections.Get(ctx, name)
	if err != nil {
		return storeErr(err)
	}
	if err := authorizeOn(c, ev, targetOf(cur), RoleAdmin, "deleting a connection"); err != nil {
		return err
	}
	defer h.scrubs.Delete(name)
	defer h.svcNames.forget(name)
	ev.plugin, ev.scrub = cur.Plugin, h.storedScrubberOf(cur)
	return h.audited(ctx, c, ev, func() (string, error) {
		err := storeErrOrNil(h.cfg.Connections.Delete(ctx, name))
		if err == nil {
			h.breakers.Forget(name) // a new connection of the name starts afresh
			h.health.forget(name)
		}
		return "", err
	})
}

// TestConnection makes a "list" call with page size 1. A plugin error is
// reported in the result, not as the error. Viewer.
func (h *Host) TestConnection(ctx context.Context, c Caller, name string) (TestResult, error) {
	t, err := h.resolveFor(ctx, c, nil, name, RoleViewer, "testing a connection")
	if err != nil {
		return TestResult{}, err
	}
	hl := h.probe(ctx, t)
	hl.Manual = true
	h.health.set(name, hl)
	return TestResult{OK: hl.OK, Error: hl.Error, DurationMS: hl.LatencyMS}, nil
}

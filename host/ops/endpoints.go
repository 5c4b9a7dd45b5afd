package ops

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/host/connstore"
	"github.com/wharfhq/wharf/host/egress"
	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// readEndpointDefaults reads the "x-endpoint-default" templates of a config
// schema's endpoint properties and checks that each names only non-secret
// properties (the expanded URL is shown to every viewer).
func readEndpointDefaults(s *schema.Schema, secrets []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range s.Properties() {
		var ann map[string]json.RawMessage
		if len(p.Schema) == 0 || json.Unmarshal(p.Schema, &ann) != nil {
			continue
		}
		raw, ok := ann[pluginapi.KeyEndpointDefault]
		if !ok {
			continue
		}
		var tmpl string
		if json.Unmarshal(raw, &tmpl) != nil {
			return nil, fmt.Errorf("property %s: %s must be a string", p.Name, pluginapi.KeyEndpointDefault)
		}
		if !p.Endpoint {
			return nil, fmt.Errorf("property %s: %s needs %q: true", p.Name, pluginapi.KeyEndpointDefault, schema.KeyEndpoint)
		}
		names, err := egress.Placeholders(tmpl)
		if err != nil {
			return nil, fmt.Errorf("property %s: %s %q: %v", p.Name, pluginapi.KeyEndpointDefault, tmpl, err)
		}
		for _, n := range names {
			if slices.Contains(secrets, n) {
				return nil, fmt.Errorf("property %s: %s must not name the secret %s", p.Name, pluginapi.KeyEndpointDefault, n)
			}
		}
		out[p.Name] = tmpl
	}
	return out, nil
}

// effectiveConfig returns full with each empty endpoint that has a default
// template filled in from the non-secret values, and each endpoint written
// with one of the plugin's alias schemes rewritten to the URL it stands for. A template that cannot be
// filled leaves the endpoint empty (prepareConfig refuses such a config).
func (p *loadedPlugin) effectiveConfig(full map[string]any) map[string]any {
	if len(p.endpointDefaults) == 0 && len(p.endpointSchemes) == 0 {
		return full
	}
	out := make(map[string]any, len(full)+len(p.endpointDefaults))
	for k, v := range full {
		out[k] = v
	}
	for field, tmpl := range p.endpointDefaults {
		if s, _ := out[field].(string); strings.TrimSpace(s) != "" {
			continue
		}
		if u, err := egress.ExpandEndpoint(tmpl, p.public(full)); err == nil {
			out[field] = u
		}
	}
	for field, aliases := range p.endpointSchemes {
		if s, ok := out[field].(string); ok {
			out[field] = canonicalEndpoint(s, aliases)
		}
	}
	return out
}

// public is full without its secret values.
func (p *loadedPlugin) public(full map[string]any) map[string]any {
	out := make(map[string]any, len(full))
	for k, v := range full {
		if !slices.Contains(p.secrets, k) {
			out[k] = v
		}
	}
	return out
}

// checkEndpointDefaults refuses a config whose empty endpoints' defaults
// cannot be filled, naming the config value at fault.
func (p *loadedPlugin) checkEndpointDefaults(full map[string]any) error {
	for _, field := range p.endpoints {
		tmpl, ok := p.endpointDefaults[field]
		if s, _ := full[field].(string); !ok || strings.TrimSpace(s) != "" {
			continue
		}
		if _, err := egress.ExpandEndpoint(tmpl, p.public(full)); err != nil {
			return pluginapi.Invalid("/config/"+field, "%s is empty and its default cannot be used: %v", field, err)
		}
	}
	return nil
}

// endpointViews lists the effective endpoints of a config: where
// credentials may go.
func (p *loadedPlugin) endpointViews(full map[string]any) []EndpointView {
	eff := p.effectiveConfig(full)
	out := []EndpointView{}
	for _, f := range p.endpoints {
		s, _ := eff[f].(string)
		if strings.TrimSpace(s) == "" {
			continue
		}
		given, _ := full[f].(string)
		out = append(out, EndpointView{Field: f, URL: withoutUserinfo(s), Default: strings.TrimSpace(given) == ""})
	}
	return out
}

func withoutUserinfo(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// endpointIdentity is what makes an endpoint value the same destination:
// scheme, host and port for network URLs, the path for a unix socket.
func endpointIdentity(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return strings.TrimSpace(s)
	}
	if u.Scheme == "unix" {
		return "unix://" + u.Path
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), port)
}

// endpointsMoved reports whether any effective endpoint of newCfg is another
// destination than in oldCfg.
func (p *loadedPlugin) endpointsMoved(oldCfg, newCfg map[string]any) bool {
	was, is := p.effectiveConfig(oldCfg), p.effectiveConfig(newCfg)
	for _, f := range p.endpoints {
		a, _ := was[f].(string)
		b, _ := is[f].(string)
		if endpointIdentity(a) != endpointIdentity(b) {
			return true
		}
	}
	return false
}

// splitHosts divides the plugin's declared hosts into those approved for a
// connection and the others. An approval of a pattern the plugin no longer
// declares counts for nothing.
func (p *loadedPlugin) splitHosts(approved []string) (yes, pending []string) {
	for _, h := range p.desc.Hosts {
		if slices.Contains(approved, h) {
			yes = append(yes, h)
		} else {
			pending = append(pending, h)
		}
	}
	return yes, pending
}

// checkApprovedHosts checks an administrator's approvals: each one of the
// plugin's declared patterns. It answers them without duplicates.
func (p *loadedPlugin) checkApprovedHosts(hosts []string) ([]string, error) {
	out := []string{}
	for i, h := range hosts {
		if !slices.Contains(p.desc.Hosts, h) {
			declared := "none"
			if len(p.desc.Hosts) > 0 {
				declared = strings.Join(p.desc.Hosts, ", ")
			}
			return nil, pluginapi.Invalid(fmt.Sprintf("/approved_hosts/%d", i),
				"%q is not a host pattern plugin %s declares (it declares: %s)", h, p.rt.Name(), declared)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// secretValues lists the string values of the secret fields of cfg.
func (p *loadedPlugin) secretValues(cfg map[string]any) []string {
	var out []string
	for _, f := range p.secrets {
		if s, ok := cfg[f].(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *loadedPlugin) scrubberOf(cfgs ...map[string]any) *scrubber {
	var values []string
	for _, c := range cfgs {
		values = append(values, p.secretValues(c)...)
	}
	return newScrubber(values)
}

// cachedScrubber is a connection's scrubber as of one stored version.
type cachedScrubber struct {
	plugin  *loadedPlugin // the version whose secret fields it knows
	version int64
	updated time.Time // with version: a re-created connection starts at 1 again
	s       *scrubber
}

// scrubberFor returns the scrubber of t's stored secrets, built once per
// stored version of the connection; full is its decoded config when the
// caller has it, else nil (decoded here when the cache misses).
func (h *Host) scrubberFor(t *target, full map[string]any) *scrubber {
	if v, ok := h.scrubs.Load(t.conn.Name); ok {
		c := v.(*cachedScrubber)
		if c.plugin == t.p && c.version == t.conn.Version && c.updated.Equal(t.conn.UpdatedAt) {
			return c.s
		}
	}
	if full == nil {
		full = decodeConfig(t.conn.Config)
	}
	s := t.p.scrubberOf(full)
	h.scrubs.Store(t.conn.Name, &cachedScrubber{plugin: t.p, version: t.conn.Version, updated: t.conn.UpdatedAt, s: s})
	return s
}

// storedScrubberOf is the scrubber of a stored connection's secrets, or
// nil when its plugin is not loaded (nothing to scrub with).
func (h *Host) storedScrubberOf(c connstore.Connection) *scrubber {
	p := h.plugin(c.Plugin)
	if p == nil {
		return nil
	}
	return h.scrubberFor(&target{conn: c, p: p}, nil)
}

// decodeConfig reads a stored config; a malformed one is empty.
func decodeConfig(raw json.RawMessage) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

package ops

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/host/schema"
	"github.com/wharfhq/wharf/pluginapi"
)

// endpointScheme is what one alias scheme of an endpoint property stands
// for, as the plugin declares it ("x-endpoint-schemes").
type endpointScheme struct {
	Scheme string `json:"scheme"`
	Port   int    `json:"port"`
}

// readEndpointSchemes reads the "x-endpoint-schemes" annotations of a config
// schema's endpoint properties: field → alias scheme → what it means. The
// host itself knows only http, https and unix; a platform's own spelling
// (Docker's tcp://host, port 2375) is the plugin's knowledge.
func readEndpointSchemes(s *schema.Schema) (map[string]map[string]endpointScheme, error) {
	out := map[string]map[string]endpointScheme{}
	for _, p := range s.Properties() {
		var ann map[string]json.RawMessage
		if len(p.Schema) == 0 || json.Unmarshal(p.Schema, &ann) != nil {
			continue
		}
		raw, ok := ann[pluginapi.KeyEndpointSchemes]
		if !ok {
			continue
		}
		if !p.Endpoint {
			return nil, fmt.Errorf("property %s: %s needs %q: true", p.Name, pluginapi.KeyEndpointSchemes, schema.KeyEndpoint)
		}
		var aliases map[string]endpointScheme
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&aliases); err != nil {
			return nil, fmt.Errorf("property %s: %s must map a scheme to {\"scheme\": \"http\" or \"https\", \"port\": N}: %v", p.Name, pluginapi.KeyEndpointSchemes, err)
		}
		for alias, to := range aliases {
			switch {
			case alias == "http" || alias == "https" || alias == "unix" || !validScheme(alias):
				return nil, fmt.Errorf("property %s: %s: %q cannot be an alias scheme", p.Name, pluginapi.KeyEndpointSchemes, alias)
			case to.Scheme != "http" && to.Scheme != "https":
				return nil, fmt.Errorf("property %s: %s: %s must stand for http or https, not %q", p.Name, pluginapi.KeyEndpointSchemes, alias, to.Scheme)
			case to.Port < 1 || to.Port > 65535:
				return nil, fmt.Errorf("property %s: %s: %s needs a port from 1 to 65535", p.Name, pluginapi.KeyEndpointSchemes, alias)
			}
		}
		out[p.Name] = aliases
	}
	return out, nil
}

// legacyTCP is what hosts before ABI 1.3 read tcp:// as, for every plugin.
var legacyTCP = endpointScheme{Scheme: "http", Port: 2375}

// legacyEndpointSchemes keeps the contract older plugins were written
// against: a plugin of ABI 1.0–1.2 gets tcp:// read as http:// on port
// 2375 on every endpoint that declares no schemes of its own.
func legacyEndpointSchemes(p *loadedPlugin, abi string) {
	if _, minor, err := pluginapi.ParseABIVersion(abi); err != nil || minor >= 3 {
		return
	}
	for _, f := range p.endpoints {
		if _, ok := p.endpointSchemes[f]; !ok {
			p.endpointSchemes[f] = map[string]endpointScheme{"tcp": legacyTCP}
		}
	}
}

// validScheme is RFC 3986's scheme syntax, lower case.
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// canonicalEndpoint rewrites an endpoint value written with an alias scheme
// into the URL it stands for (tcp://engine → http://engine:2375; a port
// given stays). Other values are returned as they are.
func canonicalEndpoint(v string, aliases map[string]endpointScheme) string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil {
		return v
	}
	to, ok := aliases[strings.ToLower(u.Scheme)]
	if !ok {
		return v
	}
	u.Scheme = to.Scheme
	if u.Port() == "" && u.Hostname() != "" {
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(to.Port))
	}
	return u.String()
}

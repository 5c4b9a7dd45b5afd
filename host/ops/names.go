package ops

import (
	"strings"
	"sync"

	"github.com/wharfhq/wharf/pluginapi"
)

// maxNames bounds the names a host remembers. Forgetting one costs only
// an audit row without a name.
const maxNames = 16384

// nameCache remembers the name of each service id that plugin answers
// showed (lists, gets, mutations), so that an audit row of a later step,
// addressed by id, can name its target without another plugin call.
type nameCache struct {
	mu    sync.Mutex
	names map[nameKey]string
}

type nameKey struct{ conn, id string }

// learn remembers the services an answer carries.
func (n *nameCache) learn(conn string, resp any) {
	var svcs []pluginapi.Service
	switch r := resp.(type) {
	case *pluginapi.ServiceResponse:
		if r.Service != nil {
			svcs = []pluginapi.Service{*r.Service}
		}
	case *pluginapi.ListResponse:
		svcs = r.Services
	default:
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range svcs {
		if s.ID == "" || s.Name == "" {
			continue
		}
		if n.names == nil {
			n.names = map[nameKey]string{}
		}
		if _, ok := n.names[nameKey{conn, s.ID}]; !ok && len(n.names) >= maxNames {
			// Full: drop about half, in map order (any order will do).
			drop := len(n.names) / 2
			for k := range n.names {
				if drop == 0 {
					break
				}
				delete(n.names, k)
				drop--
			}
		}
		n.names[nameKey{conn, s.ID}] = s.Name
	}
}

// name is the remembered name of service id on conn, or "".
func (n *nameCache) name(conn, id string) string {
	if id == "" {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.names[nameKey{conn, id}]
}

// forget drops what is remembered of conn's services (its deletion).
func (n *nameCache) forget(conn string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.names {
		if k.conn == conn {
			delete(n.names, k)
		}
	}
}

// isServiceOp reports whether an audited operation acts on a service.
func isServiceOp(op string) bool { return strings.HasPrefix(op, "service.") }

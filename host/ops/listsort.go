package ops

import (
	"cmp"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// Sort orders of ListAllServices (ListAllOptions.Sort).
const (
	SortName       = "name"
	SortStatus     = "status"
	SortPlatform   = "platform"
	SortConnection = "connection"
	SortUpdated    = "updated"
)

// SortKeys lists the orders ListAllServices accepts, the default first.
var SortKeys = []string{SortName, SortStatus, SortPlatform, SortConnection, SortUpdated}

// InProgress are the statuses a summary counts as updating: a rollout is
// under way and the service should settle on its own.
var InProgress = []pluginapi.Status{pluginapi.StatusPending, pluginapi.StatusDeploying, pluginapi.StatusUpdating}

// statusRank orders statuses by how much they need a person's attention,
// so that sorting by status puts the failed ones first.
var statusRank = map[pluginapi.Status]int{
	pluginapi.StatusFailed:    0,
	pluginapi.StatusUnknown:   1,
	pluginapi.StatusDeleting:  2,
	pluginapi.StatusUpdating:  3,
	pluginapi.StatusDeploying: 4,
	pluginapi.StatusPending:   5,
	pluginapi.StatusStopped:   6,
	pluginapi.StatusRunning:   7,
}

// rankOf ranks a status; one no plugin should send comes after all others.
func rankOf(s pluginapi.Status) int {
	if r, ok := statusRank[s]; ok {
		return r
	}
	return len(statusRank)
}

// checkSort names the field of an order ListAllServices does not know.
func checkSort(key string) error {
	if key == "" || slices.Contains(SortKeys, key) {
		return nil
	}
	return pluginapi.Invalid("/sort", "sort %q is not one of %s", key, strings.Join(SortKeys, ", "))
}

// sortServices orders the merged list by key (name when empty), reversed
// when desc. Ties are broken by name, connection and id, always ascending,
// so that pages stay stable whichever order is asked for. title gives a
// plugin's title (the Platform column).
func sortServices(list []ConnService, key string, desc bool, title func(plugin string) string) {
	primary := func(a, b ConnService) int {
		switch key {
		case SortStatus:
			return cmp.Compare(rankOf(a.Status), rankOf(b.Status))
		case SortPlatform:
			return cmp.Compare(strings.ToLower(title(a.Plugin)), strings.ToLower(title(b.Plugin)))
		case SortConnection:
			return cmp.Compare(a.Connection, b.Connection)
		case SortUpdated:
			// Services with no time come last in either direction.
			switch {
			case a.UpdatedAt == nil && b.UpdatedAt == nil:
				return 0
			case a.UpdatedAt == nil:
				if desc {
					return -1 // reversed below: last
				}
				return 1
			case b.UpdatedAt == nil:
				if desc {
					return 1
				}
				return -1
			}
			return a.UpdatedAt.Compare(*b.UpdatedAt)
		}
		return cmp.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(list, func(a, b ConnService) int {
		c := primary(a, b)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Connection, b.Connection), cmp.Compare(a.ID, b.ID))
	})
}

// summarize counts each listed connection's services by status. conns
// are the connections listed without error, in name order.
func summarize(conns []ConnectionSummary, list []ConnService) []ConnectionSummary {
	at := make(map[string]int, len(conns))
	for i := range conns {
		at[conns[i].Connection] = i
	}
	for _, s := range list {
		i, ok := at[s.Connection]
		if !ok {
			continue
		}
		sum := &conns[i]
		sum.Total++
		switch {
		case s.Status == pluginapi.StatusRunning:
			sum.Running++
		case s.Status == pluginapi.StatusFailed:
			sum.Failed++
		case slices.Contains(InProgress, s.Status):
			sum.Updating++
		}
	}
	return conns
}

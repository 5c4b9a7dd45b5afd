package ops

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/pluginapi"
)

// keepDeclaredActions drops, from the services of a plugin's answer, the
// available actions (Service.ActionsAvailable, ABI 1.5) the plugin does not
// declare: the hint may narrow the declared actions, never add one. A bad
// name is dropped rather than the answer refused, so that a misspelt hint
// does not make the service unreadable; what is left (possibly []) is
// still the plugin's word that nothing else applies.
//
// A plugin built for a minor version before the hint existed is not
// listened to (its hint is removed): the host does not ask it first
// either (checkAvailable), and the portal and the API must agree.
func (p *loadedPlugin) keepDeclaredActions(resp errorer) {
	hints := p.givesHints()
	switch r := resp.(type) {
	case *pluginapi.ServiceResponse:
		if r.Service != nil {
			p.keepDeclared(r.Service, hints)
		}
	case *pluginapi.ListResponse:
		for i := range r.Services {
			p.keepDeclared(&r.Services[i], hints)
		}
	}
}

// givesHints: the plugin speaks ABI 1.5 or later, which added the hint.
func (p *loadedPlugin) givesHints() bool {
	_, minor, err := pluginapi.ParseABIVersion(p.desc.ABIVersion)
	return err == nil && minor >= hintMinor
}

func (p *loadedPlugin) keepDeclared(s *pluginapi.Service, hints bool) {
	if s.ActionsAvailable == nil {
		return
	}
	if !hints {
		s.ActionsAvailable = nil
		return
	}
	kept := make([]string, 0, len(s.ActionsAvailable))
	for _, a := range s.ActionsAvailable {
		if _, ok := p.actions[a]; ok && !contains(kept, a) {
			kept = append(kept, a)
		}
	}
	s.ActionsAvailable = kept
}

// hintMinor is the ABI minor version that added Service.ActionsAvailable.
const hintMinor = 5

// checkAvailable refuses an action the service's current answer says does
// not apply now (a start on a running service), with a conflict naming
// the service, its state and what it does offer. A plugin that gives no
// hint is not refused here: it decides in its lifecycle call, as before
// ABI 1.5, nor one built for an older minor version, which cannot give
// one (the get, about as dear as the action's own plugin call, is then
// skipped). The plugin still checks for itself, since the service may
// change between this get and the action.
func (h *Host) checkAvailable(ctx context.Context, t *target, id, action string) error {
	if !t.p.givesHints() {
		return nil // built before the hint existed: the get would tell nothing
	}
	svc, err := h.get(ctx, t, id)
	if err != nil {
		return err
	}
	if svc.ActionAvailable(action) {
		return nil
	}
	name := svc.Name
	if name == "" {
		name = id
	}
	offers := "no action applies now"
	if len(svc.ActionsAvailable) > 0 {
		offers = "it offers " + strings.Join(svc.ActionsAvailable, ", ")
	}
	return pluginapi.Errorf(pluginapi.CodeConflict, "service %s is %s: %s does not apply (%s)", name, svc.Status, action, offers)
}

package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
	"github.com/wharfhq/wharf/pluginapi"
)

// detailTimelineItems is how much of the timeline the detail page shows;
// the timeline page shows ops.MaxTimelineLimit.
const detailTimelineItems = 10

// TimelineView is a service's timeline as a page or a card shows it.
type TimelineView struct {
	Conn    string
	Service *pluginapi.Service
	// Timeline is nil when it could not be read at all (Err says why).
	Timeline *ops.Timeline
	Err      *pluginapi.Error
	// Full: the whole page (no "Full timeline" link).
	Full bool
}

// timelineFirst: when something is wrong, what happened is the first thing
// an operator needs, so the card goes right under the status header.
func timelineFirst(s *pluginapi.Service) bool {
	if s.Status == pluginapi.StatusFailed {
		return true
	}
	// Degraded: settled and running, with fewer instances than desired.
	return s.Status == pluginapi.StatusRunning && s.Running != nil && s.Desired != nil && *s.Running < *s.Desired
}

// loadTimeline reads a service's timeline; a failure is shown in the card
// rather than failing the page.
func (p *portal) loadTimeline(c echo.Context, conn string, svc *pluginapi.Service, limit int, full bool) TimelineView {
	v := TimelineView{Conn: conn, Service: svc, Full: full}
	tl, err := p.host.Timeline(c.Request().Context(), callerOf(c), conn, svc.ID, ops.TimelineOptions{Limit: limit})
	if err != nil {
		v.Err = p.userError(c, err)
		return v
	}
	v.Timeline = tl
	return v
}

// serviceTimeline is the page of a service's whole timeline.
func (p *portal) serviceTimeline(c echo.Context) error {
	ctx := c.Request().Context()
	conn, id := param(c, "conn"), param(c, "id")
	svc, err := p.host.GetService(ctx, callerOf(c), conn, id)
	if err != nil {
		return p.renderError(c, err)
	}
	v := p.loadTimeline(c, conn, svc, ops.MaxTimelineLimit, true)
	return render(c, http.StatusOK, TimelinePage(p.pageInfo(c, "Timeline of "+svc.Name, "services"), v))
}

// severityMark is the sign and the word of an item's severity.
func severityMark(sev string) (sign, word string) {
	switch sev {
	case ops.SeverityOK:
		return "✓", "ok"
	case ops.SeverityWarning:
		return "!", "warning"
	case ops.SeverityError:
		return "✕", "error"
	}
	return "•", "info"
}
